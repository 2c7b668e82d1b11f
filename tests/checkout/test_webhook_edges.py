"""The webhook's edge cases: signed bodies that are not events, objects Stripe no longer
has, Stripe unavailable while an event is applied, refunds found by their payment only
and read back from Stripe, and events of the other mode (live or test)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from checkout import gateway
from checkout.models import Order, StripeEvent
from checkout.resilience import BREAKER
from tests.stripe_harness import sign

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"


def post_signed(client, payload: bytes, settings):
    return client.post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, settings.STRIPE_WEBHOOK_SECRET),
    )


def faults(stripe, **changes) -> None:
    stripe.control("DELETE", "api_faults")
    if changes:
        stripe.control("POST", "api_faults", changes)


def paid_order(checkout, stripe, client) -> Order:
    order = checkout()
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def charge_of(stripe, order: Order) -> str:
    intent = stripe.http.get(
        f"{stripe.base_url}/v1/payment_intents/{order.stripe_payment_intent_id}"
    ).json()
    charge = intent["latest_charge"]
    return charge["id"] if isinstance(charge, dict) else charge


def event(type_: str, obj: dict, **extra) -> dict:
    return {
        "id": f"evt_edge_{type_}_{obj.get('id')}",
        "object": "event",
        "type": type_,
        "livemode": False,
        "data": {"object": obj},
        **extra,
    }


# --- signed, but not an event ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'["evt_1"]',
        b'"evt_1"',
        b"1",
        b"null",
        b"true",
        b"not json",
        b"\xff\xfe",
        b'{"id": 1, "type": "checkout.session.completed", "data": {"object": {}}}',
        b'{"id": "evt_1", "type": ["x"], "data": {"object": {}}}',
        b'{"id": "evt_1", "type": "checkout.session.completed", "data": []}',
        b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": "cs_1"}}',
        json.dumps({"id": "evt_" + "x" * 300, "type": "x", "data": {"object": {}}}).encode(),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_a_400_and_nothing_is_recorded(
    client, settings, body
):
    client.raise_request_exception = False
    response = post_signed(client, body, settings)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_session_event_whose_object_has_no_usable_id_is_recorded_and_ignored(client, settings):
    payload = json.dumps(event("checkout.session.completed", {"id": "../../v1/charges"})).encode()
    assert post_signed(client, payload, settings).status_code == 200
    recorded = StripeEvent.objects.get()
    assert recorded.processed_at is not None and recorded.error.startswith("ignored:")


# --- Stripe has no such object: recorded, answered 2xx ---------------------------------------


def test_an_event_for_a_session_stripe_does_not_have_is_recorded_and_acknowledged(
    client, settings, stripe
):
    payload = json.dumps(
        event("checkout.session.completed", {"id": "cs_test_gone", "object": "checkout.session"})
    ).encode()
    response = post_signed(client, payload, settings)
    assert response.status_code == 200
    recorded = StripeEvent.objects.get()
    assert recorded.processed_at is not None
    assert recorded.error.startswith("ignored:") and "cs_test_gone" in recorded.error
    assert post_signed(client, payload, settings).status_code == 200  # and stays so
    assert StripeEvent.objects.get().attempts == 1


# --- Stripe unavailable: 5xx, so that Stripe retries -------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        {"latency": 3},
        {"error_rate": 1.0, "error_status": 500},
        {"error_rate": 1.0, "error_status": 503},
        {"drop_rate": 1.0},
    ],
    ids=["timeout", "500", "503", "dropped connection"],
)
def test_stripe_unavailable_while_applying_an_event_answers_5xx_and_the_retry_works(
    client, checkout, stripe, settings, fault
):
    settings.STRIPE_BACKGROUND_BUDGET_SECONDS = 1.5
    order = checkout()
    # A delayed payment: its completed event is read back from Stripe (a paid session's
    # event is applied as it is, docs/DESIGN-notes.md).
    stripe.pay(order.stripe_session_id, delayed=True)
    completed = stripe.events("checkout.session.completed")[0]
    faults(stripe, paths=["/v1/checkout/sessions"], **fault)

    response = stripe.post_event(client, completed)

    assert response.status_code == 503
    recorded = StripeEvent.objects.get(stripe_id=completed["id"])
    assert recorded.processed_at is None and "StripeUnavailable" in recorded.error
    faults(stripe)
    BREAKER.reset()
    assert stripe.post_event(client, completed).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING


def test_a_4xx_other_than_resource_missing_still_answers_5xx(client, checkout, stripe, settings):
    """Only an object Stripe does not have is final; a refused key may be fixed."""
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)  # read back from Stripe
    completed = stripe.events("checkout.session.completed")[0]
    settings.STRIPE_SECRET_KEY = "not_a_key"
    client.raise_request_exception = False
    assert stripe.post_event(client, completed).status_code == 500
    assert StripeEvent.objects.get(stripe_id=completed["id"]).processed_at is None


# --- refunds: by payment intent only, read back from Stripe ---------------------------------


def test_a_charge_refunded_for_another_payment_never_refunds_the_order_in_its_metadata(
    client, checkout, stripe, settings
):
    order = paid_order(checkout, stripe, client)
    forged = event(
        "charge.refunded",
        {
            "id": "ch_someone_elses",
            "object": "charge",
            "payment_intent": "pi_someone_elses",
            "refunded": True,
            "amount_refunded": 5000,
            "metadata": {"order_id": str(order.pk)},
        },
    )
    assert post_signed(client, json.dumps(forged).encode(), settings).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert not order.needs_review
    assert StripeEvent.objects.get(stripe_id=forged["id"]).error.startswith("ignored:")


def test_a_charge_refunded_is_read_back_from_stripe_not_taken_from_the_event(
    client, checkout, stripe, settings
):
    first = paid_order(checkout, stripe, client)
    # The event names a real charge of this shop, but carries another order's id and
    # figures Stripe never reported: Stripe says this charge was not refunded at all.
    claimed = event(
        "charge.refunded",
        {
            "id": charge_of(stripe, first),
            "object": "charge",
            "payment_intent": "pi_other",
            "refunded": True,
            "amount_refunded": first.amount_total,
            "metadata": {"order_id": "999999"},
        },
    )
    assert post_signed(client, json.dumps(claimed).encode(), settings).status_code == 200
    first.refresh_from_db()
    assert first.status == Order.Status.PAID
    assert "no refund" in StripeEvent.objects.get(stripe_id=claimed["id"]).error


def test_a_real_refund_is_applied_to_the_order_of_its_payment(
    client, checkout, stripe, django_capture_on_commit_callbacks
):
    from checkout.services import refunds

    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    refunded = stripe.events("charge.refunded")[0]
    # Whatever the event's own copy says, Stripe's charge decides.
    refunded["data"]["object"]["metadata"] = {"order_id": "999999"}
    refunded["data"]["object"]["payment_intent"] = "pi_other"
    assert stripe.post_event(client, refunded).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_a_refund_failure_is_read_back_and_flags_the_order_of_its_payment(
    client, checkout, stripe, settings, monkeypatch
):
    order = paid_order(checkout, stripe, client)
    failed = event(
        "refund.failed",
        {
            "id": "re_edge_1",
            "object": "refund",
            "status": "failed",
            "payment_intent": "pi_other",
            "metadata": {"order_id": "999999"},
        },
    )
    # The emulator's refunds always succeed: Stripe's answer is stood in for here.
    monkeypatch.setattr(
        gateway,
        "refund_retrieve",
        lambda refund_id: gateway.Refund(
            id=refund_id, status="failed", payment_intent=order.stripe_payment_intent_id, amount=1
        ),
    )
    assert post_signed(client, json.dumps(failed).encode(), settings).status_code == 200
    order.refresh_from_db()
    assert order.needs_review and "re_edge_1" in order.review_reason


def test_a_refund_failure_that_stripe_reports_succeeded_changes_nothing(
    client, checkout, stripe, settings, monkeypatch
):
    order = paid_order(checkout, stripe, client)
    monkeypatch.setattr(
        gateway,
        "refund_retrieve",
        lambda refund_id: gateway.Refund(
            id=refund_id,
            status="succeeded",
            payment_intent=order.stripe_payment_intent_id,
            amount=1,
        ),
    )
    failed = event(
        "refund.failed",
        {"id": "re_edge_2", "status": "failed", "payment_intent": order.stripe_payment_intent_id},
    )
    assert post_signed(client, json.dumps(failed).encode(), settings).status_code == 200
    order.refresh_from_db()
    assert not order.needs_review


def test_a_refund_event_for_a_refund_stripe_does_not_have_is_recorded_and_acknowledged(
    client, checkout, stripe, settings
):
    order = paid_order(checkout, stripe, client)
    failed = event(
        "refund.failed",
        {"id": "re_nowhere", "status": "failed", "payment_intent": order.stripe_payment_intent_id},
    )
    assert post_signed(client, json.dumps(failed).encode(), settings).status_code == 200
    order.refresh_from_db()
    assert not order.needs_review
    assert StripeEvent.objects.get(stripe_id=failed["id"]).error.startswith("ignored:")


# --- live and test mode ---------------------------------------------------------------------


def test_a_live_event_reaching_a_test_mode_shop_is_recorded_and_ignored(
    client, checkout, stripe, settings
):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    completed = dict(stripe.events("checkout.session.completed")[0], livemode=True)
    assert stripe.post_event(Client(), completed).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    recorded = StripeEvent.objects.get(stripe_id=completed["id"])
    assert recorded.processed_at is not None
    assert recorded.error == "ignored: a live-mode event, and this shop's key is test-mode"


def test_a_test_event_reaching_a_live_shop_is_recorded_and_ignored(client, settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_live_" + "x" * 24
    monkeypatch.setattr(gateway, "session_retrieve", lambda **kw: pytest.fail("Stripe asked"))
    payload = json.dumps(
        event("checkout.session.completed", {"id": "cs_test_1", "object": "checkout.session"})
    ).encode()
    assert post_signed(client, payload, settings).status_code == 200
    assert StripeEvent.objects.get().error == (
        "ignored: a test-mode event, and this shop's key is live-mode"
    )


def test_the_webhook_url_is_the_documented_one():
    assert reverse("checkout:stripe_webhook") == URL
