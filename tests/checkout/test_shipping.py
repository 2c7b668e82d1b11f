"""Shipping in Checkout and fulfilment after payment, as a shop owner relies on them."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.factories import UserFactory
from catalog.models import StockReservation
from checkout.models import Order, ShippingRate
from checkout.services.fulfilment import (
    FulfilmentRefused,
    Tracking,
    order_deliver,
    order_pack,
    order_ship,
)
from checkout.services.refunds import order_refund_start
from checkout.services.shipping import shipping_options_for
from checkout.services.transitions import amount_problem
from checkout.sessions import session_parse

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:checkout_order_changelist")
ADDRESS = {
    "line1": "12 Harbour Road",
    "postal_code": "A96 X2Y4",
    "city": "Dún Laoghaire",
    "country": "IE",
}


@pytest.fixture
def rates(db):
    standard = ShippingRate.objects.create(
        name="Standard", amount=490, min_days=3, max_days=5, free_over_amount=10000, sort_order=0
    )
    express = ShippingRate.objects.create(
        name="Express", amount=1290, min_days=1, max_days=2, sort_order=1
    )
    ShippingRate.objects.create(name="Retired", amount=100, is_active=False)
    return standard, express


def pay(stripe, order: Order, *, rate: int | None = None, **extra):
    body = {"card": "4242424242424242", **extra}
    if rate is not None:
        body.update(shipping_rate=rate, shipping_name="Aoife Byrne", shipping_address=ADDRESS)
    response = stripe.http.post(
        f"{stripe.base_url}/_emulator/sessions/{order.stripe_session_id}/pay", json=body
    )
    assert response.status_code == 200, response.text
    return response


def paid_with_shipping(checkout, stripe, client, rate: int = 1) -> Order:
    order = checkout()
    pay(stripe, order, rate=rate)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID, order.review_reason
    return order


# --- Offering rates ----------------------------------------------------------------------


def test_the_checkout_offers_the_active_rates_priced_for_the_cart(rates, checkout, stripe):
    order = checkout()  # 2 mugs (36.00) + 1 apron (34.00) = 70.00: not free yet
    assert [(o["name"], o["amount"]) for o in order.shipping_offered] == [
        ("Standard", 490),
        ("Express", 1290),
    ]
    session = stripe.session(order.stripe_session_id)
    assert session["shipping_address_collection"]["allowed_countries"][:2] == ["IE", "GB"]
    offered = [
        stripe.http.get(f"{stripe.base_url}/v1/shipping_rates/{o['shipping_rate']}").json()
        for o in session["shipping_options"]
    ]
    assert [rate["metadata"]["rate_id"] for rate in offered] == [str(r.pk) for r in rates]
    assert offered[0]["delivery_estimate"]["minimum"] == {"unit": "business_day", "value": 3}


def test_a_rate_is_free_above_its_threshold_and_at_most_five_are_offered(rates):
    offer = shipping_options_for(currency="eur", items_amount=10000)
    assert [(o.name, o.amount) for o in offer] == [("Standard", 0), ("Express", 1290)]
    for n in range(5):
        ShippingRate.objects.create(name=f"Courier {n}", amount=2000 + n)
    offer = shipping_options_for(currency="eur", items_amount=100)
    assert len(offer) == 5
    assert [o.name for o in offer][:2] == ["Standard", "Express"]  # the cheapest kept


# --- What the order keeps ----------------------------------------------------------------


def test_the_order_keeps_the_address_rate_and_amount_stripe_reports(
    rates, checkout, stripe, client
):
    order = paid_with_shipping(checkout, stripe, client, rate=1)
    assert order.shipping_name == "Aoife Byrne"
    assert order.shipping_address == ADDRESS
    assert order.shipping_rate == rates[1] and order.shipping_rate_name == "Express"
    assert order.shipping_amount == 1290
    assert order.stripe_amount_total == 7000 + 1290 == order.total_charged
    assert order.amount_total == 7000  # the items


def test_the_webhook_and_the_success_page_read_the_same_session(
    rates, checkout, stripe, client, shopper_client
):
    order = checkout()
    pay(stripe, order, rate=0)
    shopper_client.get(reverse("checkout:success"), {"session_id": order.stripe_session_id})
    by_page = Order.objects.get(pk=order.pk)
    event = stripe.events("checkout.session.completed")[0]
    from_event = session_parse(event["data"]["object"])
    assert from_event.shipping_address == by_page.shipping_address
    assert from_event.shipping_amount == by_page.shipping_amount == 490


def _session(**changes) -> dict:
    base = {
        "id": "cs_test_1",
        "status": "complete",
        "payment_status": "paid",
        "currency": "eur",
        "amount_total": 7490,
        "amount_subtotal": 7000,
        "shipping_cost": {"amount_subtotal": 490, "amount_total": 490, "shipping_rate": "shr_a"},
        "shipping_options": [
            {"shipping_amount": 490, "shipping_rate": "shr_a"},
            {"shipping_amount": 1290, "shipping_rate": "shr_b"},
        ],
        "total_details": {"amount_discount": 0, "amount_shipping": 490, "amount_tax": 0},
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"amount_total": 7000}, "make 7490"),
        ({"currency": "usd"}, "USD for an order in EUR"),
        (
            {
                "shipping_cost": {"amount_subtotal": 10, "shipping_rate": "shr_a"},
                "amount_total": 7010,
            },
            "offered at 490",
        ),
        ({"shipping_cost": {"amount_subtotal": 490, "shipping_rate": "shr_x"}}, "not offered"),
    ],
)
def test_the_amount_check_adds_the_shipping_stripe_reports_and_checks_the_rate(
    rates, changes, problem
):
    order = Order(
        currency="eur",
        amount_total=7000,
        shipping_offered=[
            {"rate_id": rates[0].pk, "name": "Standard", "amount": 490},
            {"rate_id": rates[1].pk, "name": "Express", "amount": 1290},
        ],
    )
    found = amount_problem(order=order, session=session_parse(_session(**changes)))
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_a_session_whose_shipping_differs_from_the_offer_is_flagged_not_fulfilled(
    rates, checkout, stripe, client, mug
):
    order = checkout()
    ShippingRate.objects.filter(pk=rates[0].pk).update(amount=99)  # changed after the offer
    Order.objects.filter(pk=order.pk).update(
        shipping_offered=[{**order.shipping_offered[0], "amount": 99}, order.shipping_offered[1]]
    )
    pay(stripe, order, rate=0)  # Stripe charges the 4.90 it was given
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.needs_review
    assert "offered at 99" in order.review_reason
    mug.refresh_from_db()
    assert mug.stock_on_hand == 5


# --- Fulfilment --------------------------------------------------------------------------


def test_a_paid_order_is_packed_shipped_and_delivered_once_each(rates, checkout, stripe, client):
    order = paid_with_shipping(checkout, stripe, client)
    assert order.fulfilment_status == Order.Fulfilment.UNFULFILLED
    order_pack(order_id=order.pk)
    with pytest.raises(FulfilmentRefused):
        order_pack(order_id=order.pk)
    order_ship(
        order_id=order.pk,
        tracking=Tracking(carrier="An Post", number="CE123", url="https://track.example/CE123"),
    )
    assert not StockReservation.objects.filter(order=order, status="consumed").exists()
    assert StockReservation.objects.filter(order=order, status="shipped").count() == 2
    with pytest.raises(FulfilmentRefused):
        order_ship(order_id=order.pk, tracking=Tracking(carrier="x", number="y"))
    order_deliver(order_id=order.pk)
    order.refresh_from_db()
    assert order.fulfilment_status == Order.Fulfilment.DELIVERED
    assert order.packed_at <= order.shipped_at <= order.delivered_at
    assert (order.carrier, order.tracking_number) == ("An Post", "CE123")


def test_orders_refunding_refunded_or_unpaid_are_never_packed_or_shipped(
    rates, checkout, stripe, client, django_capture_on_commit_callbacks
):
    pending = checkout()
    with pytest.raises(FulfilmentRefused):
        order_pack(order_id=pending.pk)
    pay(stripe, pending, rate=0)
    stripe.deliver_new(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert order_refund_start(order_id=pending.pk, restock=True, reason="Changed my mind")
    with pytest.raises(FulfilmentRefused):
        order_ship(order_id=pending.pk, tracking=Tracking(carrier="x", number="y"))
    stripe.deliver_new(client)  # refunded
    with pytest.raises(FulfilmentRefused):
        order_pack(order_id=pending.pk)
    assert Order.objects.get(pk=pending.pk).fulfilment_status == Order.Fulfilment.UNFULFILLED


def test_a_shipped_order_can_still_be_refunded(
    rates, checkout, stripe, client, mug, django_capture_on_commit_callbacks
):
    order = paid_with_shipping(checkout, stripe, client)
    order_ship(order_id=order.pk, tracking=Tracking(carrier="DPD", number="1"))
    with django_capture_on_commit_callbacks(execute=True):
        assert order_refund_start(order_id=order.pk, restock=False, reason="Lost in the post")
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    mug.refresh_from_db()
    assert mug.stock_on_hand == 3  # the goods left: no restock unless they come back


def staff_client(*codenames) -> Client:
    """A browser of its own for a staff member with these permissions."""
    client = Client()
    staff = UserFactory(is_staff=True)
    for codename in codenames:
        label, name = codename.split(".")
        staff.user_permissions.add(
            Permission.objects.get(content_type__app_label=label, codename=name)
        )
    client.force_login(staff)
    return client


def test_staff_ship_in_bulk_with_tracking_and_the_shopper_sees_it(
    rates, checkout, stripe, client, shopper_client
):
    order = paid_with_shipping(checkout, stripe, client)
    packer = staff_client("checkout.view_order", "checkout.fulfil_order")
    form = {"action": "mark_shipped", "_selected_action": [order.pk]}
    page = packer.post(ORDERS, form)
    assert b"Ship 1 order" in page.content
    bad = packer.post(
        ORDERS,
        {
            **form,
            "ship": "yes",
            f"o{order.pk}-carrier": "An Post",
            f"o{order.pk}-tracking_number": "CE1",
            f"o{order.pk}-tracking_url": "javascript:alert(1)",
        },
    )
    assert bad.status_code == 200 and b"Enter a valid URL" in bad.content
    assert Order.objects.get(pk=order.pk).fulfilment_status == Order.Fulfilment.UNFULFILLED
    packer.post(
        ORDERS,
        {
            **form,
            "ship": "yes",
            f"o{order.pk}-carrier": "An Post",
            f"o{order.pk}-tracking_number": "CE1",
            f"o{order.pk}-tracking_url": "https://track.example/CE1",
        },
    )
    assert Order.objects.get(pk=order.pk).fulfilment_status == Order.Fulfilment.SHIPPED
    html = shopper_client.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "Shipped" in html and "CE1" in html
    assert 'href="https://track.example/CE1"' in html
    assert "12 Harbour Road" in html and "Express" in html
    listing = shopper_client.get(reverse("dashboard:orders")).content.decode()
    assert "An Post CE1" in listing


def test_staff_without_the_fulfil_permission_cannot_ship(rates, checkout, stripe, client):
    order = paid_with_shipping(checkout, stripe, client)
    viewer = staff_client("checkout.view_order")
    page = viewer.get(ORDERS)
    assert b'value="mark_shipped"' not in page.content
    address = reverse("admin:checkout_order_address", args=[order.pk])
    assert viewer.get(address).status_code == 403
    viewer.post(ORDERS, {"action": "mark_packed", "_selected_action": [order.pk]})
    assert Order.objects.get(pk=order.pk).fulfilment_status == Order.Fulfilment.UNFULFILLED


def test_the_to_pack_and_to_ship_queues(rates, checkout, stripe, client, admin_client):
    order = paid_with_shipping(checkout, stripe, client)
    to_pack = admin_client.get(ORDERS, {"queue": "to_pack"}).context["cl"].result_list
    assert [o.pk for o in to_pack] == [order.pk]
    order_pack(order_id=order.pk)
    assert not admin_client.get(ORDERS, {"queue": "to_pack"}).context["cl"].result_list
    to_ship = admin_client.get(ORDERS, {"queue": "to_ship"}).context["cl"].result_list
    assert [o.pk for o in to_ship] == [order.pk]


def test_staff_correct_the_address_before_shipping_and_it_is_kept_who_and_when(
    rates, checkout, stripe, client, admin_user, admin_client
):
    order = paid_with_shipping(checkout, stripe, client)
    url = reverse("admin:checkout_order_address", args=[order.pk])
    response = admin_client.post(
        url,
        {"name": "Aoife Byrne", "line1": "14 Harbour Road", "city": "Dublin", "country": "ie"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.shipping_address == {"line1": "14 Harbour Road", "city": "Dublin", "country": "IE"}
    assert order.shipping_address_corrected_by == admin_user
    assert order.shipping_address_corrected_at is not None
    order_ship(order_id=order.pk, tracking=Tracking(carrier="DPD", number="1"))
    refused = admin_client.post(url, {"name": "X", "line1": "Y", "city": "Z", "country": "FR"})
    assert refused.status_code == 200 and b"has not shipped" in refused.content
    assert Order.objects.get(pk=order.pk).shipping_address["city"] == "Dublin"


def test_staff_see_and_refund_what_the_shopper_paid_shipping_included(
    rates, checkout, stripe, client, admin_client
):
    order = paid_with_shipping(checkout, stripe, client)  # 70.00 + Express 12.90
    page = admin_client.get(reverse("admin:checkout_order_change", args=[order.pk]))
    assert "€82.90" in page.content.decode()
    question = admin_client.post(ORDERS, {"action": "refund", "_selected_action": [order.pk]})
    assert "€82.90" in question.content.decode()


def test_shipping_rates_are_typed_as_prices_in_the_shop_currency(admin_client):
    url = reverse("admin:checkout_shippingrate_add")
    form = {"name": "Courier", "amount": "4.90", "min_days": "3", "max_days": "2"}
    form |= {"is_active": "on", "sort_order": "0", "tax_behavior": "unspecified"}
    refused = admin_client.post(url, form)
    assert refused.status_code == 200
    assert b"The latest day cannot come before the soonest" in refused.content
    assert admin_client.post(url, {**form, "max_days": "5"}).status_code == 302
    rate = ShippingRate.objects.get(name="Courier")
    assert (rate.amount, rate.currency) == (490, "eur")
    free = {**form, "name": "Collect", "amount": "0.00", "max_days": "5"}
    assert admin_client.post(url, free).status_code == 302
    assert ShippingRate.objects.get(name="Collect").amount == 0
