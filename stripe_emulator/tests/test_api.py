"""The /v1 API: auth, validation, idempotency, expansion, expiry, listing, refunds."""

import pytest

from .conftest import session_params


def line(**price_data):
    data = {"currency": "eur", "unit_amount": 500, "product_data": {"name": "Mug"}}
    data.update(price_data)
    return data


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, None), ("sk_live_123456789", "api_key_invalid"), ("pk_test_123", "api_key_invalid")],
)
def test_auth_required(api, key, code):
    status, body, _ = api.post("/v1/checkout/sessions", session_params(), key=key)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"].get("code") == code
    # Stripe leaves out what does not apply rather than sending nulls
    assert None not in body["error"].values()
    assert ("doc_url" in body["error"]) == (code is not None)


def test_restricted_key_accepted(api):
    status, _, _ = api.get("/v1/checkout/sessions", key="rk_test_abc")
    assert status == 200


def test_create_session(api, emulator):
    status, body, headers = api.post("/v1/checkout/sessions", session_params())
    assert status == 200
    assert headers["Request-Id"].startswith("req_")
    assert body["id"].startswith("cs_test_")
    assert body["object"] == "checkout.session"
    assert body["amount_subtotal"] == body["amount_total"] == 2 * 750 + 1999
    assert body["currency"] == "eur"
    assert body["status"] == "open"
    assert body["payment_status"] == "unpaid"
    assert body["payment_intent"] is None
    assert body["url"] == f"{emulator.base_url}/pay/{body['id']}"
    assert body["metadata"] == {"order_id": "42"}
    assert body["client_reference_id"] == "order-42"
    assert body["success_url"].endswith("{CHECKOUT_SESSION_ID}")
    assert body["expires_at"] == body["created"] + 24 * 3600


def test_public_url_used_in_session_url():
    from stripe_emulator.server import Emulator

    from .conftest import Api

    emu = Emulator(public_url="https://pay.example.test/")
    try:
        api = Api(emu.start())
        session = api.create_session()
        assert session["url"] == f"https://pay.example.test/pay/{session['id']}"
    finally:
        emu.stop()


BAD_LINE = [{"price_data": line(), "quantity": 1}]


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"mode": None}, "mode"),
        ({"mode": "subscription"}, "mode"),
        ({"success_url": None}, "success_url"),
        ({"success_url": "not a url"}, "success_url"),
        ({"cancel_url": "ftp://x"}, "cancel_url"),
        ({"line_items": None}, "line_items"),
        ({"line_items": [{"quantity": 1}]}, "line_items[0][price_data]"),
        ({"line_items": [{"price_data": line(), "quantity": 0}]}, "line_items[0][quantity]"),
        ({"line_items": [{"price_data": line()}]}, "line_items[0][quantity]"),
        ({"line_items": [{"price_data": line(), "quantity": "x"}]}, "line_items[0][quantity]"),
        (
            {"line_items": [*BAD_LINE, {"price_data": line(unit_amount=0), "quantity": 1}]},
            "line_items[1][price_data][unit_amount]",
        ),
        (
            {"line_items": [{"price_data": line(unit_amount="1.5"), "quantity": 1}]},
            "line_items[0][price_data][unit_amount]",
        ),
        (
            {"line_items": [{"price_data": line(currency="euro"), "quantity": 1}]},
            "line_items[0][price_data][currency]",
        ),
        (
            {"line_items": [{"price_data": line(product_data={"name": ""}), "quantity": 1}]},
            "line_items[0][price_data][product_data][name]",
        ),
        (
            {"line_items": [{"price_data": line(product_data=None), "quantity": 1}]},
            "line_items[0][price_data][product_data]",
        ),
        ({"line_items": [{"price": "price_123", "quantity": 1}]}, "line_items[0][price]"),
        ({"customer_email": "nope"}, "customer_email"),
        ({"expires_at": "soon"}, "expires_at"),
        ({"bogus": "1"}, "bogus"),
        (
            {"payment_intent_data": {"capture_method": "manual"}},
            "payment_intent_data[capture_method]",
        ),
    ],
)
def test_create_session_validation(api, overrides, param):
    status, body, _ = api.post("/v1/checkout/sessions", session_params(**overrides))
    assert status in (400, 404), body
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == param
    assert body["error"]["message"]


def test_create_session_mixed_currencies(api):
    items = [
        {"price_data": line(), "quantity": 1},
        {"price_data": line(currency="usd"), "quantity": 1},
    ]
    status, body, _ = api.post("/v1/checkout/sessions", session_params(line_items=items))
    assert status == 400
    assert body["error"]["param"] == "line_items"


def test_expires_at_bounds(api, emulator):
    now = emulator.store.now()
    for offset, ok in [
        (29 * 60, False),
        (31 * 60, True),
        (23 * 3600, True),
        (24 * 3600 + 60, False),
    ]:
        status, body, _ = api.post("/v1/checkout/sessions", session_params(expires_at=now + offset))
        if ok:
            assert status == 200 and body["expires_at"] == now + offset
        else:
            assert status == 400 and body["error"]["param"] == "expires_at", (offset, body)


def test_expires_at_follows_emulator_clock(api, emulator):
    now = emulator.store.now()
    api.control("POST", "clock", {"advance": 3600})
    status, body, _ = api.post("/v1/checkout/sessions", session_params(expires_at=now + 45 * 60))
    assert status == 400 and body["error"]["param"] == "expires_at"
    status, body, _ = api.post(
        "/v1/checkout/sessions", session_params(expires_at=now + 3600 + 2000)
    )
    assert status == 200
    assert body["created"] >= now + 3600


def test_idempotency_replay_and_conflict(api, emulator):
    headers = {"Idempotency-Key": "key-1"}
    s1, b1, _h1 = api.post("/v1/checkout/sessions", session_params(), headers=headers)
    s2, b2, h2 = api.post("/v1/checkout/sessions", session_params(), headers=headers)
    assert (s1, b1) == (s2, b2)
    assert h2["Idempotent-Replayed"] == "true"
    assert len(emulator.store.state["sessions"]) == 1
    s3, b3, _ = api.post(
        "/v1/checkout/sessions", session_params(client_reference_id="other"), headers=headers
    )
    assert s3 == 400
    assert b3["error"]["type"] == "idempotency_error"
    # errors are replayed too
    bad = session_params(mode=None)
    e1 = api.post("/v1/checkout/sessions", bad, headers={"Idempotency-Key": "key-2"})
    e2 = api.post("/v1/checkout/sessions", bad, headers={"Idempotency-Key": "key-2"})
    assert e1[:2] == e2[:2] and e1[0] == 400


def test_retrieve_and_expand_line_items(api):
    session = api.create_session()
    sid = session["id"]
    for params in ({"expand": ["line_items"]}, {"expand[]": "line_items"}):
        if "expand[]" in params:
            status, body, _ = api.get(f"/v1/checkout/sessions/{sid}?expand[]=line_items")
        else:
            status, body, _ = api.get(f"/v1/checkout/sessions/{sid}", params)
        assert status == 200
        items = body["line_items"]
        assert items["object"] == "list" and items["has_more"] is False
        assert items["url"] == f"/v1/checkout/sessions/{sid}/line_items"
        assert [(i["description"], i["quantity"], i["amount_total"]) for i in items["data"]] == [
            ("Mug", 2, 1500),
            ("Tea & Biscuits", 1, 1999),
        ]
    status, body, _ = api.get(f"/v1/checkout/sessions/{sid}")
    assert "line_items" not in body
    status, body, _ = api.get(f"/v1/checkout/sessions/{sid}/line_items", {"limit": 1})
    assert status == 200 and len(body["data"]) == 1 and body["has_more"] is True
    status, body, _ = api.get(f"/v1/checkout/sessions/{sid}", {"expand": ["customer"]})
    assert status == 400 and body["error"]["param"] == "expand"


def test_expire_only_open(api, receiver, emulator):
    sid = api.create_session()["id"]
    status, body, _ = api.post(f"/v1/checkout/sessions/{sid}/expire")
    assert status == 200 and body["status"] == "expired" and body["url"] is None
    status, body, _ = api.post(f"/v1/checkout/sessions/{sid}/expire")
    assert status == 400
    assert "open" in body["error"]["message"] and "expired" in body["error"]["message"]
    paid = api.create_session()["id"]
    api.pay(paid)
    status, body, _ = api.post(f"/v1/checkout/sessions/{paid}/expire")
    assert status == 400 and "complete" in body["error"]["message"]
    assert emulator.wait_idle()
    assert receiver.types().count("checkout.session.expired") == 1


def test_not_found(api):
    status, body, _ = api.get("/v1/checkout/sessions/cs_test_nope")
    assert status == 404 and body["error"]["code"] == "resource_missing"
    status, body, _ = api.get("/v1/customers")
    assert status == 404 and body["error"]["type"] == "invalid_request_error"
    status, body, _ = api.get("/nothing-here", key=None)
    assert status == 404 and "error" in body


def test_malformed_input(api):
    for raw in (b"line_items[0=1", b"metadata=x&metadata[a]=b", b"\xff\xfe"):
        status, body, _ = api.request("POST", "/v1/checkout/sessions", body=raw)
        assert status == 400, raw
        assert body["error"]["type"] == "invalid_request_error"
    status, body = api.control("POST", "clock", None)
    assert status == 200
    status, body, _ = api.request(
        "POST", "/_emulator/clock", key=None, body=b"{not json", headers={}
    )
    assert status == 400 and "error" in body


def test_internal_error_is_enveloped(api, emulator, monkeypatch):
    def boom(params):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(emulator.store, "create_session", boom)
    status, body, _ = api.post("/v1/checkout/sessions", session_params())
    assert status == 500
    assert body["error"]["type"] == "api_error"
    assert "kaboom" not in str(body) and "Traceback" not in str(body)


def test_list_sessions_paging_and_filters(api):
    ids = [api.create_session()["id"] for _ in range(5)]
    status, page1, _ = api.get("/v1/checkout/sessions", {"limit": 2})
    assert [s["id"] for s in page1["data"]] == ids[::-1][:2]
    assert page1["has_more"] is True
    _, page2, _ = api.get(
        "/v1/checkout/sessions", {"limit": 2, "starting_after": page1["data"][-1]["id"]}
    )
    assert [s["id"] for s in page2["data"]] == ids[::-1][2:4]
    _, page3, _ = api.get(
        "/v1/checkout/sessions", {"limit": 2, "starting_after": page2["data"][-1]["id"]}
    )
    assert [s["id"] for s in page3["data"]] == [ids[0]] and page3["has_more"] is False
    status, body, _ = api.get("/v1/checkout/sessions", {"limit": 101})
    assert status == 400 and body["error"]["param"] == "limit"
    _, default, _ = api.get("/v1/checkout/sessions")
    assert len(default["data"]) == 5 and default["has_more"] is False

    api.pay(ids[1])
    pi = api.get(f"/v1/checkout/sessions/{ids[1]}")[1]["payment_intent"]
    _, by_pi, _ = api.get("/v1/checkout/sessions", {"payment_intent": pi})
    assert [s["id"] for s in by_pi["data"]] == [ids[1]]
    _, complete, _ = api.get("/v1/checkout/sessions", {"status": "complete"})
    assert [s["id"] for s in complete["data"]] == [ids[1]]
    _, open_, _ = api.get("/v1/checkout/sessions", {"status": "open"})
    assert len(open_["data"]) == 4


def test_refunds(api, emulator):
    sid = api.create_session()["id"]
    api.pay(sid)
    pi = api.get(f"/v1/checkout/sessions/{sid}")[1]["payment_intent"]
    status, intent, _ = api.get(f"/v1/payment_intents/{pi}")
    assert status == 200 and intent["status"] == "succeeded"
    assert intent["amount_received"] == 3499 and intent["metadata"] == {"order_id": "42"}

    status, body, _ = api.post("/v1/refunds", {})
    assert status == 400 and body["error"]["param"] == "payment_intent"
    status, body, _ = api.post("/v1/refunds", {"payment_intent": "pi_nope"})
    assert status == 400 and body["error"]["param"] == "payment_intent"  # a parameter: 400
    assert body["error"]["code"] == "resource_missing"
    status, body, _ = api.post("/v1/refunds", {"payment_intent": pi, "amount": 5000})
    assert status == 400 and body["error"]["param"] == "amount"
    status, body, _ = api.post("/v1/refunds", {"payment_intent": pi, "reason": "because"})
    assert status == 400 and body["error"]["param"] == "reason"

    status, partial, _ = api.post(
        "/v1/refunds", {"payment_intent": pi, "amount": 1000, "reason": "requested_by_customer"}
    )
    assert status == 200 and partial["amount"] == 1000 and partial["status"] == "succeeded"
    assert partial["payment_intent"] == pi and partial["reason"] == "requested_by_customer"
    status, rest, _ = api.post("/v1/refunds", {"payment_intent": pi})
    assert status == 200 and rest["amount"] == 2499
    status, body, _ = api.post("/v1/refunds", {"payment_intent": pi})
    assert status == 400 and body["error"]["code"] == "charge_already_refunded"
    status, fetched, _ = api.get(f"/v1/refunds/{partial['id']}")
    assert fetched == partial
    charge = api.get(f"/v1/charges/{intent['latest_charge']}")[1]
    assert charge["amount_refunded"] == 3499 and charge["refunded"] is True

    unpaid = api.create_session()["id"]
    api.pay(unpaid, delayed=True)
    pi2 = api.get(f"/v1/checkout/sessions/{unpaid}")[1]["payment_intent"]
    status, body, _ = api.post("/v1/refunds", {"payment_intent": pi2})
    assert status == 400


def test_events_api(api, emulator):
    sid = api.create_session()["id"]
    api.pay(sid)
    pi = api.get(f"/v1/checkout/sessions/{sid}")[1]["payment_intent"]
    api.post("/v1/refunds", {"payment_intent": pi}, headers={"Idempotency-Key": "r1"})
    _, events, _ = api.get("/v1/events")
    assert [e["type"] for e in events["data"]] == [
        "charge.refunded",
        "refund.created",
        "checkout.session.completed",
    ]
    refund_event = events["data"][1]
    assert refund_event["request"]["idempotency_key"] == "r1"
    assert refund_event["request"]["id"].startswith("req_")
    _, filtered, _ = api.get("/v1/events", {"type": "checkout.session.completed"})
    assert len(filtered["data"]) == 1
    _, wildcard, _ = api.get("/v1/events", {"type": "checkout.session.*"})
    assert len(wildcard["data"]) == 1
    _, page, _ = api.get("/v1/events", {"limit": 1, "starting_after": events["data"][0]["id"]})
    assert page["data"][0]["id"] == refund_event["id"] and page["has_more"] is True
    status, one, _ = api.get(f"/v1/events/{refund_event['id']}")
    assert status == 200 and one == refund_event


def test_expand_related_objects(api):
    sid = api.create_session()["id"]
    api.pay(sid)
    _, session, _ = api.get(f"/v1/checkout/sessions/{sid}", {"expand": ["payment_intent"]})
    intent = session["payment_intent"]
    assert intent["object"] == "payment_intent"
    _, pi, _ = api.get(f"/v1/payment_intents/{intent['id']}", {"expand": ["latest_charge"]})
    assert pi["latest_charge"]["object"] == "charge"
    status, refund, _ = api.post(
        "/v1/refunds", {"payment_intent": intent["id"], "amount": 1, "expand": ["charge"]}
    )
    assert status == 200 and refund["charge"]["amount_refunded"] == 1
    status, body, _ = api.post(
        "/v1/refunds", {"payment_intent": intent["id"], "amount": 1, "expand": ["customer"]}
    )
    assert status == 400 and body["error"]["param"] == "expand"
    _, listed, _ = api.get("/v1/checkout/sessions", {"expand": ["data.line_items"]})
    assert listed["data"][0]["line_items"]["object"] == "list"
    # a bad expand is refused before anything changes
    other = api.create_session()["id"]
    status, _, _ = api.post(f"/v1/checkout/sessions/{other}/expire", {"expand": ["nope"]})
    assert status == 400
    assert api.get(f"/v1/checkout/sessions/{other}")[1]["status"] == "open"
