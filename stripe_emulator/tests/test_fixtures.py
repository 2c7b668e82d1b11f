"""Every object the emulator returns carries the keys of Stripe's fixture object, same types."""

import json
from pathlib import Path

import pytest

FIXTURES = json.loads((Path(__file__).parent.parent / "fixtures.json").read_text())
SHARED = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def mismatches(obj, fixture, path="") -> list[str]:
    """Keys of ``fixture`` missing from ``obj`` or with another JSON type (nulls are fine)."""
    problems = []
    for key, expected in fixture.items():
        where = f"{path}.{key}" if path else key
        if key not in obj:
            problems.append(f"missing {where}")
            continue
        value = obj[key]
        if value is None or expected is None:
            continue
        if json_type(value) != json_type(expected):
            problems.append(f"{where}: {json_type(value)} instead of {json_type(expected)}")
        elif isinstance(value, dict) and where != "data.object":
            problems += mismatches(value, expected, where)
    return problems


def check(obj: dict, name: str) -> None:
    assert obj["object"] == name.split(".")[-1] or obj["object"] == name
    assert mismatches(obj, FIXTURES[name]) == [], name


def test_fixture_copy_matches_shared_file():
    if not SHARED.exists():
        pytest.skip("shared fixtures3.json not available")
    resources = json.loads(SHARED.read_text())["resources"]
    for name, fixture in FIXTURES.items():
        assert resources[name] == fixture, name


def test_every_object_conforms(api, emulator):
    seen = set()

    def session_and_friends(sid):
        _, session, _ = api.get(f"/v1/checkout/sessions/{sid}", {"expand": ["line_items"]})
        check(session, "checkout.session")
        for item in session["line_items"]["data"]:
            check(item, "item")
        seen.update({"checkout.session", "item"})
        if session["payment_intent"]:
            _, intent, _ = api.get(f"/v1/payment_intents/{session['payment_intent']}")
            check(intent, "payment_intent")
            _, charge, _ = api.get(f"/v1/charges/{intent['latest_charge']}")
            check(charge, "charge")
            seen.update({"payment_intent", "charge"})
        return session

    open_ = api.create_session()
    check(open_, "checkout.session")
    session_and_friends(open_["id"])
    paid = api.create_session()
    api.pay(paid["id"])
    paid = session_and_friends(paid["id"])
    _, refund, _ = api.post(
        "/v1/refunds", {"payment_intent": paid["payment_intent"], "amount": 100}
    )
    check(refund, "refund")
    seen.add("refund")
    session_and_friends(paid["id"])  # charge with a refund in it
    emulator.store.async_delay = 60
    for succeed in (True, False):
        delayed = api.create_session()
        api.pay(delayed["id"], delayed=True)
        session_and_friends(delayed["id"])  # processing
        api.control("POST", f"sessions/{delayed['id']}/async", {"succeed": succeed})
        session_and_friends(delayed["id"])
    expired = api.create_session()
    _, expired, _ = api.post(f"/v1/checkout/sessions/{expired['id']}/expire")
    check(expired, "checkout.session")
    _, listed, _ = api.get("/v1/checkout/sessions", {"limit": 100})
    for session in listed["data"]:
        check(session, "checkout.session")

    # catalog objects, and a session that uses all of them
    _, price, _ = api.post(
        "/v1/prices", {"currency": "eur", "unit_amount": 900, "product_data": {"name": "Pot"}}
    )
    check(price, "price")
    check(api.get(f"/v1/products/{price['product']}")[1], "product")
    _, coupon, _ = api.post("/v1/coupons", {"percent_off": 10})
    check(coupon, "coupon")
    _, promo, _ = api.post("/v1/promotion_codes", {"coupon": coupon["id"], "code": "TEN"})
    check(promo, "promotion_code")
    rate = {"display_name": "Post", "fixed_amount": {"amount": 300, "currency": "eur"}}
    shipped = api.create_session(
        line_items=[{"price": price["id"], "quantity": 1}],
        shipping_address_collection={"allowed_countries": ["DE"]},
        shipping_options=[{"shipping_rate_data": rate}],
        allow_promotion_codes=True,
        automatic_tax={"enabled": True},
    )
    api.control("POST", f"sessions/{shipped['id']}/pay", {"promotion_code": "TEN"})
    shipped = session_and_friends(shipped["id"])
    assert shipped["collected_information"]["shipping_details"]["address"]["country"] == "DE"
    _, rate, _ = api.get(f"/v1/shipping_rates/{shipped['shipping_cost']['shipping_rate']}")
    check(rate, "shipping_rate")
    seen.update({"price", "product", "coupon", "promotion_code", "shipping_rate"})

    _, events, _ = api.get("/v1/events", {"limit": 100})
    kinds = {
        "checkout.session": "checkout.session",
        "refund": "refund",
        "charge": "charge",
    }
    assert len(events["data"]) == 9
    for event in events["data"]:
        check(event, "event")
        obj = event["data"]["object"]
        check(obj, kinds[obj["object"]])
    seen.add("event")
    assert seen == set(FIXTURES)
