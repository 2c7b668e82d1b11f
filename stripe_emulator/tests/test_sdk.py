"""A round trip with the real Stripe SDK (16.x) pointed at the emulator."""

import pytest
import stripe

from .conftest import session_params


def create_params():
    params = session_params()
    params["line_items"][0]["price_data"]["unit_amount"] = 750  # ints, as a shop would send
    return params


def test_round_trip(client, api, receiver, emulator):
    session = client.v1.checkout.sessions.create(
        params=create_params(), options={"idempotency_key": "k1"}
    )
    assert session.id.startswith("cs_test_") and session.status == "open"
    assert session.amount_total == 3499 and session.metadata["order_id"] == "42"
    again = client.v1.checkout.sessions.create(
        params=create_params(), options={"idempotency_key": "k1"}
    )
    assert again.id == session.id

    fetched = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert [item.description for item in fetched.line_items.data] == ["Mug", "Tea & Biscuits"]
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert items.data[0].quantity == 2

    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"

    other = client.v1.checkout.sessions.create(params=create_params())
    api.pay(other.id)
    paid = client.v1.checkout.sessions.retrieve(other.id)
    assert paid.payment_status == "paid"
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)
    assert intent.metadata.to_dict() == {"order_id": "42"}
    refund = client.v1.refunds.create(params={"payment_intent": paid.payment_intent})
    assert refund.status == "succeeded" and refund.amount == 3499
    assert client.v1.refunds.retrieve(refund.id).id == refund.id

    listed = client.v1.checkout.sessions.list(params={"status": "complete"})
    assert [s.id for s in listed.data] == [other.id]
    events = client.v1.events.list(params={"type": "refund.created"})
    assert events.data[0].data.object.id == refund.id
    assert client.v1.events.retrieve(events.data[0].id).type == "refund.created"

    assert emulator.wait_idle(5)
    header_events = [
        stripe.Webhook.construct_event(
            c["body"].decode(), c["headers"]["Stripe-Signature"], "whsec_test"
        )
        for c in receiver.calls
    ]
    assert [e.type for e in header_events] == [
        "checkout.session.expired",
        "checkout.session.completed",
        "refund.created",
        "charge.refunded",
    ]


def test_sdk_errors(client, emulator):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(params={"mode": "payment"})
    assert info.value.param == "success_url"
    assert info.value.http_status == 400

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.retrieve("cs_test_missing")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"

    bad = stripe.StripeClient("sk_live_nope1234", base_addresses={"api": emulator.base_url})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.checkout.sessions.list()

    client.v1.checkout.sessions.create(params=create_params(), options={"idempotency_key": "k2"})
    with pytest.raises(stripe.IdempotencyError):
        changed = create_params()
        changed["client_reference_id"] = "something-else"
        client.v1.checkout.sessions.create(params=changed, options={"idempotency_key": "k2"})

    session = client.v1.checkout.sessions.create(params=create_params())
    client.v1.checkout.sessions.expire(session.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
