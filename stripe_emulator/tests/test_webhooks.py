"""Webhook delivery: signatures, retries, automatic expiry, refund events, fault injection."""

import json
import time

import stripe

from stripe_emulator.server import Emulator
from stripe_emulator.webhooks import sign

from .conftest import SECRET, Api


def paid_session(api) -> dict:
    session = api.create_session()
    status, body = api.pay(session["id"])
    assert status == 200
    return body


def test_signature_accepted_by_sdk(api, receiver, emulator):
    paid_session(api)
    receiver.wait_for(1)
    call = receiver.calls[0]
    assert call["headers"]["Content-Type"].startswith("application/json")
    header = call["headers"]["Stripe-Signature"]
    event = stripe.Webhook.construct_event(call["body"].decode(), header, SECRET)
    assert event.type == "checkout.session.completed"
    assert event.data.object.object == "checkout.session"
    raw = json.loads(call["body"])
    assert raw["object"] == "event" and raw["livemode"] is False
    assert raw["pending_webhooks"] == 1 and raw["api_version"]
    try:
        stripe.Webhook.construct_event(call["body"].decode(), header, "whsec_wrong")
    except stripe.SignatureVerificationError:
        pass
    else:
        raise AssertionError("a wrong secret must not verify")


def test_sign_matches_sdk():
    payload = b'{"id": "evt_1"}'
    header = sign(payload, "whsec_x", timestamp=1700000000)
    expected = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), "whsec_x", timestamp=1700000000
    )
    assert header == expected


def test_refund_events(api, receiver, emulator):
    session = paid_session(api)
    status, refund, _ = api.post("/v1/refunds", {"payment_intent": session["payment_intent"]})
    assert status == 200
    events = receiver.wait_for(3)
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "refund.created",
        "charge.refunded",
    ]
    assert events[1]["data"]["object"]["id"] == refund["id"]
    charge = events[2]["data"]["object"]
    assert charge["object"] == "charge" and charge["refunded"] is True
    assert charge["amount_refunded"] == session["amount_total"]
    assert charge["payment_intent"] == session["payment_intent"]
    assert charge["metadata"] == {"order_id": "42"}


def test_automatic_expiry_after_clock_advance(api, receiver, emulator):
    session = api.create_session()
    other = api.create_session(expires_at=emulator.store.now() + 3 * 3600)
    status, body = api.control("POST", "clock", {"advance": 2 * 3600})
    assert status == 200 and body["now"] >= session["created"] + 2 * 3600
    # The clock call runs the expiry check before it answers, and queues whatever that
    # emits: once the delivery queue has drained, nothing received means nothing expired.
    assert emulator.wait_idle(5)
    assert [e["type"] for e in emulator.events()] == []
    assert receiver.calls == []
    api.control("POST", "clock", {"advance": 2 * 3600})
    events = receiver.wait_for(1)
    assert [e["type"] for e in events] == ["checkout.session.expired"]
    assert events[0]["data"]["object"]["id"] == other["id"]
    emulator.advance_clock(21 * 3600)
    events = receiver.wait_for(2)
    assert events[1]["data"]["object"]["id"] == session["id"]
    assert events[1]["created"] >= session["expires_at"]
    _, body, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    assert body["status"] == "expired"


def test_ticker_expires_without_explicit_check(api, receiver, emulator):
    session = api.create_session()
    emulator.store.state["clock_offset"] += 25 * 3600  # no tick() call: the ticker must notice
    events = receiver.wait_for(1, timeout=3)
    assert [e["data"]["object"]["id"] for e in events] == [session["id"]]


def test_retries_until_2xx(api, receiver, emulator):
    receiver.fail_first = 2
    paid_session(api)
    assert emulator.wait_idle(5)
    assert len(receiver.calls) == 3
    log = api.control("GET", "deliveries")[1]
    assert [(d["attempt"], d["status_code"]) for d in log] == [(1, 500), (2, 500), (3, 200)]
    assert log[-1]["error"] is None and log[0]["error"]
    assert {"event_id", "type", "attempt", "status_code", "error", "delivered_at"} <= set(log[0])


def test_gives_up_after_retry_delays(api, receiver, emulator):
    receiver.fail_first = 100
    paid_session(api)
    assert emulator.wait_idle(5)
    log = emulator.deliveries()
    assert [d["attempt"] for d in log] == [1, 2, 3, 4]
    assert log[-1]["gave_up"] is True
    assert receiver.events() == []


def test_connection_errors_are_retried(receiver):
    emu = Emulator(webhook_url="http://127.0.0.1:9/nowhere", retry_delays=(0.05, 0.05))
    try:
        api = Api(emu.start())
        api.pay(api.create_session()["id"])
        assert emu.wait_idle(5)
        log = emu.deliveries()
        assert len(log) == 3 and all(d["status_code"] is None and d["error"] for d in log)
        emu.set_webhook_url(receiver.url)
        api.pay(api.create_session()["id"])
        assert emu.wait_idle(5)
        assert len(receiver.events()) == 1
    finally:
        emu.stop()


def test_no_webhook_url_records_events_only():
    emu = Emulator(webhook_url=None)
    try:
        api = Api(emu.start())
        api.pay(api.create_session()["id"])
        assert emu.wait_idle(2)
        assert emu.deliveries() == []
        _, events, _ = api.get("/v1/events")
        assert [e["type"] for e in events["data"]] == ["checkout.session.completed"]
        assert events["data"][0]["pending_webhooks"] == 0
    finally:
        emu.stop()


def test_fault_duplicate(api, receiver, emulator):
    status, faults = api.control("POST", "faults", {"duplicate": 3})
    assert status == 200 and faults["duplicate"] == 3
    paid_session(api)
    events = receiver.wait_for(3)
    assert len(events) == 3 and len({e["id"] for e in events}) == 1


def test_fault_shuffle(api, receiver, emulator):
    api.control("POST", "faults", {"shuffle": True})
    orders = set()
    for _ in range(4):
        for _ in range(4):
            api.create_session()
        start = len(receiver.calls)
        with emulator.store.lock:
            for sid, s in list(emulator.store.state["sessions"].items()):
                if s["status"] == "open":
                    emulator.store.expire_session(sid)
        assert emulator.wait_idle(5)
        ids = [json.loads(c["body"])["data"]["object"]["id"] for c in receiver.calls[start:]]
        orders.add(tuple(ids))
        assert len(ids) == 4
    expected = [
        e["data"]["object"]["id"] for e in sorted(emulator.events(), key=lambda e: e["created"])
    ]
    assert len(expected) == 16
    # with 4 events in 4 rounds, some round comes out of creation order (odds of failing ~1e-5)
    in_order = [tuple(expected[i : i + 4]) for i in range(0, 16, 4)]
    assert any(order not in in_order for order in orders)


def test_fault_fail_first(api, receiver, emulator):
    api.control("POST", "faults", {"fail_first": 2})
    paid_session(api)
    assert emulator.wait_idle(5)
    assert len(receiver.calls) == 1  # the failed attempts were never sent
    log = emulator.deliveries()
    assert [(d["attempt"], d["status_code"]) for d in log] == [(1, None), (2, None), (3, 200)]
    assert "fail_first" in log[0]["error"]


def test_fault_drop(api, receiver, emulator):
    api.control("POST", "faults", {"drop_types": ["checkout.session.expired"], "drop_next": 1})
    paid_session(api)  # completed: dropped by drop_next
    second = paid_session(api)  # delivered
    expired = api.create_session()
    api.post(f"/v1/checkout/sessions/{expired['id']}/expire")  # dropped by type
    assert emulator.wait_idle(5)
    events = receiver.events()
    assert [e["data"]["object"]["id"] for e in events] == [second["id"]]
    dropped = [d for d in emulator.deliveries() if d["error"] and "dropped" in d["error"]]
    assert len(dropped) == 2
    _, faults = api.control("GET", "faults")
    assert faults["drop_next"] == 0
    status, faults = api.control("DELETE", "faults")
    assert faults["drop_types"] == [] and faults["duplicate"] == 1
    status, body = api.control("POST", "faults", {"nonsense": 1})
    assert status == 400 and "error" in body
    status, body = api.control("POST", "faults", {"duplicate": "two"})
    assert status == 400


def test_fault_delay_does_not_block_api(api, receiver, emulator):
    api.control("POST", "faults", {"delay": 0.5})
    started = time.monotonic()
    paid_session(api)
    api.create_session()
    assert time.monotonic() - started < 0.4
    receiver.wait_for(1)
    assert time.monotonic() - started >= 0.5


def test_reset_and_wait_idle(api, emulator):
    paid_session(api)
    status, body = api.control("GET", "wait_idle?timeout=5")
    assert status == 200 and body == {"idle": True}
    status, _ = api.control("POST", "reset")
    assert status == 200
    _, sessions, _ = api.get("/v1/checkout/sessions")
    assert sessions["data"] == []
    assert api.control("GET", "deliveries")[1] == []
    assert api.control("GET", "nope")[0] == 404


def test_webhook_url_control(api, receiver, emulator):
    status, body = api.control("POST", "webhook", {"url": None})
    assert status == 200 and body == {"url": None}
    paid_session(api)
    assert emulator.wait_idle(2) and receiver.calls == []
    api.control("POST", "webhook", {"url": receiver.url})
    paid_session(api)
    assert len(receiver.wait_for(1)) == 1
