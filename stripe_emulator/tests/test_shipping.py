"""Shipping: address collection, shipping options, the hosted form and the session's totals."""

import pytest
import stripe

from .conftest import session_params
from .test_page import fetch, pay_form


def rate(amount, name="Standard", **extra):
    data = {
        "type": "fixed_amount",
        "fixed_amount": {"amount": amount, "currency": "eur"},
        "display_name": name,
    }
    data.update(extra)
    return {"shipping_rate_data": data}


def shipping_params(**overrides):
    params = {
        "shipping_address_collection": {"allowed_countries": ["DE", "FR"]},
        "shipping_options": [
            rate(
                490,
                delivery_estimate={
                    "minimum": {"unit": "business_day", "value": 2},
                    "maximum": {"unit": "business_day", "value": 4},
                },
                metadata={"carrier": "dhl"},
            ),
            rate(1290, "Express", tax_behavior="exclusive", tax_code="txcd_92010001"),
        ],
    }
    params.update(overrides)
    return session_params(**params)


def test_session_with_shipping_through_the_sdk(client, api, receiver, emulator):
    session = client.v1.checkout.sessions.create(params=shipping_params())
    assert session.shipping_address_collection.allowed_countries == ["DE", "FR"]
    assert [o.shipping_amount for o in session.shipping_options] == [490, 1290]
    first = session.shipping_options[0].shipping_rate
    assert first.startswith("shr_")
    # the first option is preselected, and the total includes it
    assert session.shipping_cost.shipping_rate == first
    assert session.amount_subtotal == 3499 and session.amount_total == 3499 + 490
    assert session.total_details.amount_shipping == 490

    shipping_rate = client.v1.shipping_rates.retrieve(first)
    assert shipping_rate.display_name == "Standard"
    assert shipping_rate.fixed_amount.amount == 490
    assert shipping_rate.metadata.to_dict() == {"carrier": "dhl"}
    assert shipping_rate.delivery_estimate.minimum.unit == "business_day"

    status, body = api.control(
        "POST",
        f"sessions/{session.id}/pay",
        {
            "card": "4242424242424242",
            "shipping_name": "Ada Lovelace",
            "shipping_address": {"line1": "Rue 1", "city": "Paris", "country": "FR"},
            "shipping_rate": 1,
        },
    )
    assert status == 200, body
    paid = client.v1.checkout.sessions.retrieve(session.id)
    details = paid.collected_information.shipping_details
    assert details.name == "Ada Lovelace" and details.address.country == "FR"
    assert details.address.line2 is None
    express = paid.shipping_options[1].shipping_rate
    assert paid.shipping_cost.shipping_rate == express
    assert paid.shipping_cost.amount_subtotal == paid.shipping_cost.amount_total == 1290
    assert paid.amount_total == 3499 + 1290
    assert paid.total_details.to_dict() == {
        "amount_discount": 0,
        "amount_shipping": 1290,
        "amount_tax": 0,
    }
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)
    assert intent.amount == 3499 + 1290 and intent.shipping.name == "Ada Lovelace"
    event = receiver.wait_for(1)[0]["data"]["object"]
    assert event["collected_information"]["shipping_details"]["address"]["city"] == "Paris"
    assert event["shipping_cost"]["shipping_rate"] == express
    assert event["amount_total"] == 3499 + 1290


def test_pay_control_defaults_an_address(api):
    session = api.create_session(**shipping_params())
    status, body = api.pay(session["id"])
    assert status == 200
    details = body["collected_information"]["shipping_details"]
    assert details["name"] and details["address"]["country"] == "DE"
    assert body["shipping_cost"]["shipping_rate"] == session["shipping_options"][0]["shipping_rate"]


def test_pay_control_refuses_a_country_not_allowed(api):
    session = api.create_session(**shipping_params())
    address = {"line1": "1 Main St", "city": "Boston", "country": "US"}
    status, body = api.control(
        "POST", f"sessions/{session['id']}/pay", {"shipping_address": address}
    )
    assert status == 400 and body["error"]["param"] == "shipping_address[country]"
    status, body = api.control("POST", f"sessions/{session['id']}/pay", {"shipping_rate": 5})
    assert status == 400 and body["error"]["param"] == "shipping_rate"


def test_session_without_shipping_is_unchanged(api):
    session = api.create_session()
    assert session["shipping_cost"] is None and session["shipping_options"] == []
    assert session["total_details"]["amount_shipping"] == 0
    _, paid = api.pay(session["id"])
    assert paid["collected_information"] is None


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"shipping_options": [rate(100)] * 6}, "shipping_options"),
        (
            {"shipping_options": [{"shipping_rate_data": {"display_name": "X"}}]},
            "shipping_options[0][shipping_rate_data][fixed_amount]",
        ),
        (
            {
                "shipping_options": [
                    {
                        "shipping_rate_data": {
                            "display_name": "X",
                            "fixed_amount": {"amount": 100, "currency": "usd"},
                        }
                    }
                ]
            },
            "shipping_options[0][shipping_rate_data][fixed_amount][currency]",
        ),
        (
            {"shipping_options": [rate(100, type="delivery_time")]},
            "shipping_options[0][shipping_rate_data][type]",
        ),
        (
            {"shipping_options": [{"shipping_rate": "shr_missing"}]},
            "shipping_options[0][shipping_rate]",
        ),
        (
            {"shipping_address_collection": {"allowed_countries": ["Germany"]}},
            "shipping_address_collection[allowed_countries][0]",
        ),
    ],
)
def test_shipping_validation(api, overrides, param):
    status, body, _ = api.post("/v1/checkout/sessions", shipping_params(**overrides))
    assert status == 400, body
    assert body["error"]["param"] == param


def test_hosted_page_collects_address_and_rate(api, emulator):
    session = api.create_session(**shipping_params())
    status, html, _ = fetch(session["url"])
    assert status == 200
    for ident in ("shipping_name", "shipping_line1", "shipping_city", "shipping_country"):
        assert f'id="{ident}"' in html
    assert 'id="shipping_rate_0"' in html and 'id="shipping_rate_1"' in html
    assert "Express: €12.90" in html and "(2–4 business days)" in html
    assert 'id="shipping">€4.90' in html and "€39.89" in html

    form = pay_form()
    form.update(
        shipping_name="Grace Hopper",
        shipping_line1="Unter den Linden 1",
        shipping_city="Berlin",
        shipping_postal_code="10117",
        shipping_country="DE",
        shipping_rate="1",
    )
    status, html, _ = fetch(session["url"], {**form, "shipping_country": "US"})
    assert status == 400 and "not available" in html
    assert 'value="Grace Hopper"' in html  # what was typed is kept
    status, html, _ = fetch(session["url"], {**form, "shipping_line1": ""})
    assert status == 400 and "street address" in html
    status, _, _ = fetch(session["url"], form)
    assert status == 303
    _, paid, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    details = paid["collected_information"]["shipping_details"]
    assert details["name"] == "Grace Hopper"
    assert details["address"]["postal_code"] == "10117"
    assert paid["amount_total"] == 3499 + 1290


def test_shipping_rates_api(api, client):
    created = client.v1.shipping_rates.create(
        params={
            "display_name": "Pickup",
            "type": "fixed_amount",
            "fixed_amount": {"amount": 0, "currency": "eur"},
        }
    )
    assert created.id.startswith("shr_") and created.active is True
    session = client.v1.checkout.sessions.create(
        params=session_params(shipping_options=[{"shipping_rate": created.id}])
    )
    assert session.shipping_cost.shipping_rate == created.id
    listed = client.v1.shipping_rates.list()
    assert [r.id for r in listed.data] == [created.id]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.shipping_rates.retrieve("shr_missing")
    assert info.value.http_status == 404
