"""Lists: payment intents and refunds, created[...] filters and paging on every list."""

import pytest
import stripe


def paid_intents(api, emulator, count):
    """``count`` paid sessions' payment intents, 100 s apart on the emulator clock."""
    intents = []
    for _ in range(count):
        session = api.create_session()
        _, body = api.pay(session["id"])
        intents.append(body["payment_intent"])
        emulator.advance_clock(100)
    return intents


def test_payment_intents_and_refunds_lists(client, api, emulator):
    intents = paid_intents(api, emulator, 3)
    listed = client.v1.payment_intents.list()
    assert [pi.id for pi in listed.data] == intents[::-1] and listed.has_more is False
    refunds = [client.v1.refunds.create(params={"payment_intent": pi}).id for pi in intents]
    assert [r.id for r in client.v1.refunds.list().data] == refunds[::-1]
    only = client.v1.refunds.list(params={"payment_intent": intents[1]})
    assert [r.id for r in only.data] == [refunds[1]]
    page = client.v1.payment_intents.list(params={"limit": 2})
    assert page.has_more is True
    rest = client.v1.payment_intents.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [pi.id for pi in rest.data] == [intents[0]] and rest.has_more is False
    expanded = client.v1.payment_intents.list(params={"expand": ["data.latest_charge"]})
    assert expanded.data[0].latest_charge.object == "charge"


def test_created_filters(client, api, emulator):
    intents = paid_intents(api, emulator, 3)
    created = [client.v1.payment_intents.retrieve(pi).created for pi in intents]
    gte = client.v1.payment_intents.list(params={"created": {"gte": created[1]}})
    assert [pi.id for pi in gte.data] == [intents[2], intents[1]]
    lt = client.v1.payment_intents.list(params={"created": {"lt": created[1]}})
    assert [pi.id for pi in lt.data] == [intents[0]]
    window = client.v1.checkout.sessions.list(
        params={"created": {"gt": created[0] - 1, "lte": created[1]}}
    )
    assert [s.payment_intent for s in window.data] == [intents[1], intents[0]]
    exact = client.v1.events.list(params={"created": created[2]})
    assert [e.data.object.payment_intent for e in exact.data] == [intents[2]]
    refund = client.v1.refunds.create(params={"payment_intent": intents[0]})
    assert client.v1.refunds.list(params={"created": {"lt": refund.created}}).data == []
    assert [r.id for r in client.v1.refunds.list(params={"created": {"gte": refund.created}})] == [
        refund.id
    ]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.list(params={"created": {"after": 1}})
    assert info.value.param == "created[after]"


def test_unknown_cursor_is_a_400(api):
    api.create_session()
    status, body, _ = api.get("/v1/checkout/sessions", {"starting_after": "cs_test_gone"})
    assert status == 400 and body["error"]["code"] == "resource_missing"
    assert body["error"]["param"] == "starting_after"
    status, body, _ = api.get("/v1/payment_intents", {"limit": 0})
    assert status == 400 and body["error"]["param"] == "limit"
