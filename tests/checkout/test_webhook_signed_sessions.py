"""The webhook applies a settled session as its signed event carries it, and asks
Stripe only about a session that may still change (docs/DESIGN-notes.md, "Signed
sessions are authoritative")."""

import copy

import pytest
from django.test import Client
from django.urls import reverse

from checkout import gateway
from checkout.models import Order, StripeEvent
from checkout.sessions import session_parse

pytestmark = pytest.mark.django_db

S = Order.Status


class StripeCalls:
    """Counts the gateway's reads of sessions and payment intents, and passes them on."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        for name in ("session_retrieve", "payment_intent_status"):
            original = getattr(gateway, name)
            monkeypatch.setattr(gateway, name, self._counted(name, original))

    def _counted(self, name, original):
        def call(**kwargs):
            self.calls.append(name)
            return original(**kwargs)

        return call


def completed_event(stripe, order: Order) -> dict:
    return next(
        event
        for event in stripe.events("checkout.session.completed")
        if event["data"]["object"]["id"] == order.stripe_session_id
    )


def test_a_paid_session_in_a_signed_event_fulfils_without_asking_stripe(
    checkout, stripe, monkeypatch
):
    order = checkout()
    assert stripe.pay(order.stripe_session_id).status_code == 200
    reads = StripeCalls(monkeypatch)

    assert stripe.post_event(Client(), completed_event(stripe, order)).status_code == 200

    order.refresh_from_db()
    assert order.status == S.PAID
    assert reads.calls == []


def test_the_event_and_stripe_describe_a_settled_session_alike(checkout, stripe, monkeypatch):
    """One parser for both: what the webhook records is what the success page would."""
    order = checkout()
    stripe.pay(order.stripe_session_id)
    event = completed_event(stripe, order)

    carried = session_parse(event["data"]["object"])
    retrieved = gateway.session_retrieve(session_id=order.stripe_session_id)

    assert carried == retrieved
    assert carried.is_settled
    assert carried.shipping_address  # the address Stripe collected is in both
    StripeCalls(monkeypatch)
    stripe.post_event(Client(), event)
    order.refresh_from_db()
    assert order.shipping_address == retrieved.shipping_address
    assert order.shipping_amount == retrieved.shipping_amount
    assert order.amount_tax == retrieved.amount_tax
    assert order.amount_discount == retrieved.amount_discount
    assert order.stripe_payment_intent_id == retrieved.payment_intent
    assert order.stripe_amount_total == retrieved.amount_total


def test_a_webhook_and_a_success_page_confirm_orders_identically(
    shopper_client, checkout, stripe, cart, mug
):
    by_webhook = checkout()
    stripe.pay(by_webhook.stripe_session_id)
    stripe.post_event(Client(), completed_event(stripe, by_webhook))
    by_webhook.refresh_from_db()

    cart.items.create(product=mug, quantity=1)  # a new cart, so a new checkout
    by_page = checkout()
    stripe.pay(by_page.stripe_session_id)
    success = reverse("checkout:success")
    page = shopper_client.get(success, {"session_id": by_page.stripe_session_id})
    assert page.status_code == 200
    by_page.refresh_from_db()

    fields = ("shipping_name", "shipping_address", "shipping_rate_name", "amount_tax")
    assert by_webhook.status == by_page.status == S.PAID
    assert [getattr(by_webhook, f) for f in fields] == [getattr(by_page, f) for f in fields]


def test_an_expired_session_in_a_signed_event_cancels_without_asking_stripe(
    checkout, stripe, monkeypatch
):
    order = checkout()
    stripe.http.post(f"{stripe.base_url}/v1/checkout/sessions/{order.stripe_session_id}/expire")
    expired = next(
        e
        for e in stripe.events("checkout.session.expired")
        if e["data"]["object"]["id"] == order.stripe_session_id
    )
    reads = StripeCalls(monkeypatch)

    assert stripe.post_event(Client(), expired).status_code == 200

    order.refresh_from_db()
    assert order.status == S.CANCELED
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    assert reads.calls == []


def test_a_completed_but_unpaid_session_is_read_back_with_its_payment(
    checkout, stripe, monkeypatch
):
    """A delayed method: the event says nothing final about the payment."""
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)
    reads = StripeCalls(monkeypatch)

    assert stripe.post_event(Client(), completed_event(stripe, order)).status_code == 200

    order.refresh_from_db()
    assert order.status == S.PROCESSING
    assert reads.calls == ["session_retrieve", "payment_intent_status"]


def test_a_failed_delayed_payment_is_read_back_and_cancels(checkout, stripe, monkeypatch):
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)
    stripe.post_event(Client(), completed_event(stripe, order))
    stripe.complete_async(order.stripe_session_id, succeed=False)
    failed = stripe.events("checkout.session.async_payment_failed")[-1]
    reads = StripeCalls(monkeypatch)

    assert stripe.post_event(Client(), failed).status_code == 200

    order.refresh_from_db()
    assert order.status == S.CANCELED and order.payment_failed_at is not None
    assert reads.calls == ["session_retrieve", "payment_intent_status"]


def test_a_session_still_open_in_an_event_is_read_back(checkout, stripe, monkeypatch):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    event = copy.deepcopy(completed_event(stripe, order))
    event["id"] = "evt_open_copy"
    event["data"]["object"].update(status="open", payment_status="unpaid")
    reads = StripeCalls(monkeypatch)

    assert stripe.post_event(Client(), event).status_code == 200

    order.refresh_from_db()
    assert reads.calls == ["session_retrieve"]
    assert order.status == S.PAID  # Stripe says it was paid


def test_a_stale_expired_event_after_payment_changes_nothing(checkout, stripe, client):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    completed = completed_event(stripe, order)
    assert stripe.post_event(client, completed).status_code == 200
    # The same session, expired: an event from before the payment, arriving after it
    # (it cannot happen with Stripe's states, and the transitions hold even if it did).
    stale = copy.deepcopy(completed)
    stale["id"], stale["type"] = "evt_stale_expired", "checkout.session.expired"
    stale["data"]["object"].update(status="expired", payment_status="unpaid")

    assert stripe.post_event(client, stale).status_code == 200

    order.refresh_from_db()
    assert order.status == S.PAID
    assert set(order.reservations.values_list("status", flat=True)) == {"consumed"}
    assert StripeEvent.objects.get(stripe_id="evt_stale_expired").processed_at is not None


def test_a_paid_event_for_another_orders_session_is_ignored(checkout, stripe, client, cart, mug):
    """A signed event still has to name the order's own session."""
    first = checkout()
    cart.items.filter(product=mug).update(quantity=1)  # a changed cart: a new checkout
    second = checkout()
    stripe.pay(second.stripe_session_id)
    crossed = copy.deepcopy(completed_event(stripe, second))
    crossed["id"] = "evt_crossed"
    crossed["data"]["object"]["client_reference_id"] = str(first.pk)
    crossed["data"]["object"]["metadata"] = {"order_id": str(first.pk)}

    assert stripe.post_event(client, crossed).status_code == 200

    first.refresh_from_db()
    assert first.status != S.PAID
    assert StripeEvent.objects.get(stripe_id="evt_crossed").error.startswith("ignored:")
