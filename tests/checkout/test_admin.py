"""Staff run orders, holds and the webhook log from the admin."""

import pytest
from django.urls import reverse

from catalog.models import Product
from checkout.models import Order

pytestmark = pytest.mark.django_db


def paid(checkout, stripe, client) -> Order:
    order = checkout()
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_order_changelist_filters_and_searches(admin_client, checkout, stripe, client):
    order = paid(checkout, stripe, client)
    url = reverse("admin:checkout_order_changelist")
    assert order.email.encode() in admin_client.get(url, {"status__exact": "paid"}).content
    assert b"0 orders" in admin_client.get(url, {"status__exact": "refunded"}).content
    by_session = admin_client.get(url, {"q": order.stripe_session_id})
    assert f"Order #{order.pk}".encode() in by_session.content
    detail = admin_client.get(reverse("admin:checkout_order_change", args=[order.pk]))
    assert detail.status_code == 200
    assert b"Enamel mug" in detail.content  # the lines inline


def test_refund_action_then_stripe_confirms_and_restock_puts_units_back(
    admin_client, checkout, stripe, client, mug, django_capture_on_commit_callbacks
):
    order = paid(checkout, stripe, client)
    url = reverse("admin:checkout_order_changelist")
    form = {"action": "refund_and_restock", "_selected_action": [order.pk]}
    question = admin_client.post(url, form)
    assert b"Refund 1 order in full?" in question.content
    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # nothing happens before staff confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {**form, "confirm": "yes", "reason": "Damaged in transit"}, follow=True
        )
    assert b"Refund requested for 1 order" in response.content
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDING  # until Stripe confirms
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 5


def test_refund_action_skips_orders_that_are_not_paid(admin_client, checkout, stripe):
    order = checkout()
    response = admin_client.post(
        reverse("admin:checkout_order_changelist"),
        {
            "action": "refund",
            "_selected_action": [order.pk],
            "confirm": "yes",
            "reason": "Changed my mind",
        },
        follow=True,
    )
    assert b"only paid orders can be refunded" in response.content
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_holds_and_events_are_read_only(admin_client, checkout, stripe, client):
    paid(checkout, stripe, client)
    for name in ("catalog_stockreservation", "checkout_stripeevent", "catalog_stockmovement"):
        changelist = admin_client.get(reverse(f"admin:{name}_changelist"))
        assert changelist.status_code == 200
        assert admin_client.get(reverse(f"admin:{name}_add")).status_code == 403


def test_an_event_page_shows_its_payload_without_save_buttons(
    admin_client, checkout, stripe, client
):
    paid(checkout, stripe, client)
    from checkout.models import StripeEvent

    event = StripeEvent.objects.get(type="checkout.session.completed")
    page = admin_client.get(reverse("admin:checkout_stripeevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert b"checkout.session.completed" in page.content and b"<pre>" in page.content
    assert b'name="_save"' not in page.content
