"""The shopper's history holds orders, not attempts; a failed payment can be tried again."""

import pytest
from django.urls import reverse

from catalog.models import Product
from checkout.models import Order
from tests.html import parse

pytestmark = pytest.mark.django_db

ORDERS = reverse("dashboard:orders")


def listed(shopper_client) -> list[str]:
    html = parse(shopper_client.get(ORDERS).content.decode())
    return [row.text for row in html.find_all(testid="order-row")]


def test_a_checkout_canceled_before_paying_is_not_in_the_history(checkout, shopper_client):
    order = checkout()
    shopper_client.get(reverse("checkout:cancel"), {"order": order.pk})
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELED
    assert listed(shopper_client) == []


def test_a_paid_order_and_a_failed_delayed_payment_are_in_the_history(
    checkout, stripe, client, shopper_client
):
    failed = checkout()
    stripe.pay(failed.stripe_session_id, delayed=True)
    stripe.complete_async(failed.stripe_session_id, succeed=False)
    stripe.deliver_new(client)
    failed.refresh_from_db()
    assert failed.delayed_payment_failed
    rows = listed(shopper_client)
    assert len(rows) == 1 and "Payment failed" in rows[0]
    page = shopper_client.get(reverse("checkout:success"), {"session_id": failed.stripe_session_id})
    html = page.content.decode()
    assert "Your payment did not go through" in html
    assert "Thank you for your order" not in html
    assert parse(html).one(testid="retry-form")


def test_try_again_rebuilds_the_order_at_todays_price(
    checkout, stripe, client, shopper_client, mug
):
    failed = checkout()
    stripe.pay(failed.stripe_session_id, delayed=True)
    stripe.complete_async(failed.stripe_session_id, succeed=False)
    stripe.deliver_new(client)
    Product.objects.filter(pk=mug.pk).update(unit_amount=2000)  # the price went up since
    response = shopper_client.post(reverse("checkout:retry"), {"order": failed.pk})
    assert response.status_code == 302
    retry = Order.objects.filter(user=failed.user).latest("created_at")
    assert retry.pk != failed.pk and retry.status == Order.Status.PENDING
    assert response["Location"] == retry.stripe_checkout_url
    assert {line.name: line.unit_amount for line in retry.lines.all()}["Enamel mug"] == 2000
    assert retry.amount_total == 2 * 2000 + 3400


@pytest.mark.parametrize("raw", ["", "abc", "²", "9" * 40])
def test_try_again_refuses_what_is_not_a_failed_payment_of_the_shopper(
    checkout, shopper_client, raw
):
    order = checkout()
    for value in (raw, str(order.pk)):  # a pending order is no failed payment either
        assert shopper_client.post(reverse("checkout:retry"), {"order": value}).status_code == 404
    assert Order.objects.count() == 1


def test_once_a_retry_is_paid_the_failed_order_offers_no_second_try(
    checkout, stripe, client, shopper_client
):
    failed = checkout()
    stripe.pay(failed.stripe_session_id, delayed=True)
    stripe.complete_async(failed.stripe_session_id, succeed=False)
    stripe.deliver_new(client)
    shopper_client.post(reverse("checkout:retry"), {"order": failed.pk})
    retry = Order.objects.get(retry_of=failed)
    stripe.pay(retry.stripe_session_id)
    stripe.deliver_new(client)
    assert Order.objects.get(pk=retry.pk).status == Order.Status.PAID
    page = shopper_client.get(reverse("dashboard:order_detail", args=[failed.pk])).content
    assert b'data-testid="retry-form"' not in page
    again = shopper_client.post(reverse("checkout:retry"), {"order": failed.pk})
    assert again.status_code == 302 and again["Location"] == failed.get_absolute_url()
    assert Order.objects.filter(user=failed.user).count() == 2  # no third checkout
