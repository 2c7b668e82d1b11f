"""Stripe Tax and promotion codes: the session asks for them, the order records what
Stripe computed, the one amount check passes, and the shopper sees it."""

import pytest
from django.urls import reverse

from catalog.models import Product
from checkout.models import Order, ShippingRate
from checkout.services.refunds import order_refund_start

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}


@pytest.fixture
def standard_rate(db):
    return ShippingRate.objects.create(name="Standard", amount=500)


def pay(stripe, order: Order, **extra):
    body = {
        "card": "4242424242424242",
        "shipping_rate": 0,
        "shipping_name": "Jonas Weber",
        "shipping_address": ADDRESS,
        **extra,
    }
    response = stripe.http.post(
        f"{stripe.base_url}/_emulator/sessions/{order.stripe_session_id}/pay", json=body
    )
    assert response.status_code == 200, response.text
    return response


def settle(stripe, client, order: Order) -> Order:
    stripe.deliver_new(client)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize("behavior", ["inclusive", "exclusive"])
def test_with_tax_on_the_order_records_the_tax_stripe_computed(
    settings, standard_rate, checkout, stripe, client, shopper_client, behavior
):
    settings.STRIPE_TAX_ENABLED = True
    settings.TAX_BEHAVIOR = behavior
    order = checkout()  # items 70.00, shipping 5.00
    session = stripe.session(order.stripe_session_id)
    assert session["automatic_tax"]["enabled"] is True
    pay(stripe, order)
    order = settle(stripe, client, order)
    assert order.status == Order.Status.PAID, order.review_reason
    assert order.amount_tax > 0
    if behavior == "inclusive":  # 19 % inside 75.00
        assert order.total_charged == 7500
        # 19 % found inside each line and the shipping, each rounded to the cent
        assert abs(order.amount_tax - 7500 * 19 / 119) <= 2
    else:  # 19 % on top of 75.00
        assert order.amount_tax == round(7500 * 0.19)
        assert order.total_charged == 7500 + order.amount_tax
    html = shopper_client.get(reverse("dashboard:order_detail", args=[order.pk])).content
    assert b'data-testid="order-tax"' in html


def test_with_tax_off_nothing_is_asked_and_nothing_recorded(
    standard_rate, checkout, stripe, client
):
    order = checkout()
    assert stripe.session(order.stripe_session_id)["automatic_tax"]["enabled"] is False
    pay(stripe, order)
    order = settle(stripe, client, order)
    assert order.status == Order.Status.PAID and order.amount_tax == 0


def test_products_send_their_own_tax_code_or_the_default(
    settings, standard_rate, checkout, stripe, mug
):
    settings.STRIPE_TAX_ENABLED = True
    Product.objects.filter(pk=mug.pk).update(tax_code="txcd_20030000")
    order = checkout()
    items = stripe.http.get(
        f"{stripe.base_url}/v1/checkout/sessions/{order.stripe_session_id}/line_items"
    ).json()["data"]
    codes = {}
    for item in items:
        product = item["price"]["product"]
        product_id = product["id"] if isinstance(product, dict) else product
        codes[item["description"]] = stripe.http.get(
            f"{stripe.base_url}/v1/products/{product_id}"
        ).json()["tax_code"]
    assert codes == {
        "Enamel mug": "txcd_20030000",
        "Linen apron": settings.STRIPE_TAX_DEFAULT_CODE,
    }


def test_the_catalog_and_cart_say_how_tax_is_charged(settings, client, mug):
    settings.STRIPE_TAX_ENABLED = True
    settings.TAX_BEHAVIOR = "inclusive"
    assert b"Prices include VAT" in client.get(reverse("catalog:index")).content
    assert b"incl. VAT" in client.get(mug.get_absolute_url()).content
    settings.TAX_BEHAVIOR = "exclusive"
    assert b"Tax calculated at checkout" in client.get(reverse("catalog:index")).content
    settings.STRIPE_TAX_ENABLED = False
    page = client.get(reverse("catalog:index")).content
    assert b"Prices include VAT" not in page and b"Tax calculated" not in page


def promotion(stripe, code: str, **coupon) -> None:
    created = stripe.http.post(f"{stripe.base_url}/v1/coupons", data=coupon).json()
    response = stripe.http.post(
        f"{stripe.base_url}/v1/promotion_codes",
        data={"promotion[type]": "coupon", "promotion[coupon]": created["id"], "code": code},
    )
    assert response.status_code == 200, response.text


def test_a_promotion_code_discount_is_recorded_and_shown(
    settings, standard_rate, checkout, stripe, client, shopper_client
):
    settings.STRIPE_ALLOW_PROMOTION_CODES = True
    promotion(stripe, "SPRING10", percent_off="10", duration="once")
    order = checkout()
    assert stripe.session(order.stripe_session_id)["allow_promotion_codes"] is True
    pay(stripe, order, promotion_code="SPRING10")
    order = settle(stripe, client, order)
    assert order.status == Order.Status.PAID, order.review_reason
    assert order.amount_discount == 700  # 10 % of the items
    assert order.total_charged == 7000 + 500 - 700
    html = shopper_client.get(reverse("dashboard:order_detail", args=[order.pk])).content
    assert b'data-testid="order-discount"' in html


def test_a_full_discount_needs_no_payment_and_is_fulfilled_then_refunded_without_stripe(
    settings, checkout, stripe, client, mug, django_capture_on_commit_callbacks
):
    settings.STRIPE_ALLOW_PROMOTION_CODES = True
    promotion(stripe, "FREE", percent_off="100", duration="once")
    order = checkout()  # no shipping rates: nothing to charge for delivery
    pay(stripe, order, promotion_code="FREE", shipping_rate=None)
    session = stripe.session(order.stripe_session_id)
    assert session["payment_status"] == "no_payment_required"
    assert session["payment_intent"] is None
    order = settle(stripe, client, order)
    assert order.status == Order.Status.PAID and order.total_charged == 0
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert order_refund_start(order_id=order.pk, restock=True, reason="Goodwill")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and not order.needs_review
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 5
