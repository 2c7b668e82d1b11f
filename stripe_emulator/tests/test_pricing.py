"""Prices, coupons and promotion codes, automatic tax, through the SDK and the hosted page."""

import pytest
import stripe

from .conftest import session_params
from .test_page import fetch, pay_form
from .test_shipping import rate


def one_line(amount=1000, currency="eur", tax_behavior=None, quantity=1):
    price_data = {"currency": currency, "unit_amount": amount, "product_data": {"name": "Mug"}}
    if tax_behavior:
        price_data["tax_behavior"] = tax_behavior
    return [{"price_data": price_data, "quantity": quantity}]


# -- prices -------------------------------------------------------------------------------


def test_prices_create_retrieve_list_and_use(client, api):
    price = client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 1250, "product_data": {"name": "Teapot"}}
    )
    assert price.id.startswith("price_") and price.active and price.type == "one_time"
    product = client.v1.products.retrieve(price.product)
    assert product.name == "Teapot"
    second = client.v1.prices.create(
        params={"currency": "eur", "unit_amount": 300, "product": product.id}
    )
    assert client.v1.prices.retrieve(price.id).unit_amount == 1250
    assert [p.id for p in client.v1.prices.list().data] == [second.id, price.id]
    assert [p.id for p in client.v1.prices.list(params={"product": product.id}).data] == [
        second.id,
        price.id,
    ]

    session = client.v1.checkout.sessions.create(
        params=session_params(
            line_items=[{"price": price.id, "quantity": 2}, {"price": second.id, "quantity": 1}]
        )
    )
    assert session.amount_total == 2800
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert items.data[0].price.id == price.id and items.data[0].description == "Teapot"

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create(params={"currency": "eur", "unit_amount": 1, "product": "prod_x"})
    assert info.value.http_status == 400 and info.value.param == "product"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(
            params=session_params(line_items=[{"price": "price_missing", "quantity": 1}])
        )
    assert info.value.http_status == 400 and info.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.retrieve("price_missing")
    assert info.value.http_status == 404


# -- coupons and promotion codes ----------------------------------------------------------


def test_coupon_discount_through_sdk(client, api, receiver):
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "once"})
    session = client.v1.checkout.sessions.create(
        params=session_params(discounts=[{"coupon": coupon.id}])
    )
    assert session.total_details.amount_discount == 875  # 25 % of 34.99, rounded
    assert session.amount_subtotal == 3499 and session.amount_total == 3499 - 875
    assert session.discounts[0].coupon == coupon.id
    items = client.v1.checkout.sessions.line_items.list(session.id).data
    assert sum(item.amount_discount for item in items) == 875
    assert sum(item.amount_total for item in items) == 3499 - 875
    api.pay(session.id)
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    intent = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).payment_intent
    )
    assert intent.amount == 3499 - 875


def test_promotion_code_rules(client, api):
    coupon = client.v1.coupons.create(
        params={"amount_off": 500, "currency": "eur", "duration": "once", "id": "FIVE"}
    )
    promo = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": coupon.id},
            "code": "SPRING5",
            "max_redemptions": 1,
            "restrictions": {"minimum_amount": 2000, "minimum_amount_currency": "eur"},
        }
    )
    assert promo.promotion.coupon == "FIVE" and promo.code == "SPRING5"
    small = api.create_session(line_items=one_line(1000), allow_promotion_codes=True)
    status, body = api.control("POST", f"sessions/{small['id']}/pay", {"promotion_code": "spring5"})
    assert status == 400 and "larger order" in body["error"]["message"]
    session = api.create_session(allow_promotion_codes=True)
    status, body = api.control("POST", f"sessions/{session['id']}/pay", {"promotion_code": "NOPE"})
    assert status == 400 and body["error"]["param"] == "promotion_code"
    status, body = api.control(
        "POST", f"sessions/{session['id']}/pay", {"promotion_code": "spring5"}
    )
    assert status == 200
    assert body["discounts"] == [{"coupon": "FIVE", "promotion_code": promo.id}]
    assert body["total_details"]["amount_discount"] == 500 and body["amount_total"] == 2999
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1
    other = api.create_session(allow_promotion_codes=True)
    status, body = api.control("POST", f"sessions/{other['id']}/pay", {"promotion_code": "SPRING5"})
    assert status == 400 and "fully redeemed" in body["error"]["message"]
    # discounts and allow_promotion_codes cannot go together
    status, body, _ = api.post(
        "/v1/checkout/sessions",
        session_params(allow_promotion_codes=True, discounts=[{"coupon": "FIVE"}]),
    )
    assert status == 400
    status, body, _ = api.post(
        "/v1/checkout/sessions", session_params(discounts=[{"promotion_code": "promo_nope"}])
    )
    assert status == 400 and body["error"]["code"] == "resource_missing"


def test_full_discount_needs_no_payment(client, api, receiver, emulator):
    coupon = client.v1.coupons.create(params={"percent_off": 100})
    session = api.create_session(discounts=[{"coupon": coupon.id}])
    assert session["amount_total"] == 0
    status, body = api.pay(session["id"], card="4000000000000002")  # no card is charged
    assert status == 200
    assert body["status"] == "complete"
    assert body["payment_status"] == "no_payment_required"
    assert body["payment_intent"] is None
    assert emulator.store.state["payment_intents"] == {}
    event = receiver.wait_for(1)[0]
    assert event["data"]["object"]["payment_status"] == "no_payment_required"


def test_hosted_page_applies_a_code(client, api):
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    client.v1.promotion_codes.create(params={"coupon": coupon.id, "code": "TEN"})
    session = api.create_session(allow_promotion_codes=True)
    status, html, _ = fetch(session["url"])
    assert 'id="promotion_code"' in html
    status, html, _ = fetch(session["url"], {"action": "apply", "promotion_code": "WRONG"})
    assert status == 400 and "This code is invalid." in html
    status, html, _ = fetch(session["url"], {"action": "apply", "promotion_code": "ten"})
    assert status == 200 and 'id="discount">-€3.50' in html and "€31.49" in html
    status, _, _ = fetch(session["url"], pay_form())
    assert status == 303
    _, paid, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    assert paid["total_details"]["amount_discount"] == 350 and paid["amount_total"] == 3149


# -- tax ----------------------------------------------------------------------------------


def test_automatic_tax_exclusive_and_inclusive(client, api):
    params = session_params(
        line_items=one_line(1000, tax_behavior="exclusive")
        + one_line(1190, tax_behavior="inclusive"),
        automatic_tax={"enabled": True},
        shipping_address_collection={"allowed_countries": ["DE", "FR", "US"]},
        shipping_options=[rate(500, tax_behavior="exclusive")],
    )
    session = client.v1.checkout.sessions.create(params=params)
    assert session.automatic_tax.enabled is True
    assert session.automatic_tax.status == "requires_location_inputs"
    status, paid = api.control(
        "POST",
        f"sessions/{session.id}/pay",
        {"shipping_address": {"line1": "A 1", "city": "Berlin", "country": "DE"}},
    )
    assert status == 200, paid
    assert paid["automatic_tax"]["status"] == "complete"
    # DE 19 %: 190 on top of 10.00, 190 inside 11.90, 95 on top of shipping 5.00
    assert paid["total_details"]["amount_tax"] == 190 + 190 + 95
    assert paid["shipping_cost"]["amount_tax"] == 95
    assert paid["shipping_cost"]["amount_total"] == 595
    assert paid["amount_total"] == 1000 + 190 + 1190 + 500 + 95
    expanded = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert [i.amount_tax for i in expanded.line_items.data] == [190, 190]
    assert [i.amount_total for i in expanded.line_items.data] == [1190, 1190]

    us = client.v1.checkout.sessions.create(params=params)
    _, paid = api.control(
        "POST",
        f"sessions/{us.id}/pay",
        {"shipping_address": {"line1": "1 Main", "city": "Boston", "country": "US"}},
    )
    assert paid["total_details"]["amount_tax"] == 0 and paid["amount_total"] == 1000 + 1190 + 500


def test_tax_by_billing_country_without_shipping(client, api):
    params = session_params(line_items=one_line(1200), automatic_tax={"enabled": True})
    session = client.v1.checkout.sessions.create(params=params)
    _, paid = api.control(
        "POST", f"sessions/{session.id}/pay", {"billing_address": {"country": "FR"}}
    )
    # unspecified tax behaviour in EUR is inclusive (Stripe's "by currency" default)
    assert paid["total_details"]["amount_tax"] == 200 and paid["amount_total"] == 1200
    assert paid["customer_details"]["address"]["country"] == "FR"
    html = fetch(client.v1.checkout.sessions.create(params=params).url)[1]
    assert 'id="billing_country"' in html and "calculated from your address" in html


# -- fidelity -----------------------------------------------------------------------------


def test_ui_mode_and_delayed_intent(client, api, emulator):
    emulator.store.async_delay = 60
    session = client.v1.checkout.sessions.create(params=session_params())
    assert session.ui_mode == "hosted_page"
    status, body, _ = api.post("/v1/checkout/sessions", session_params(ui_mode="hosted"))
    assert status == 400 and body["error"]["param"] == "ui_mode"
    api.pay(session.id, delayed=True)
    intent = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).payment_intent
    )
    assert intent.status == "processing" and intent.processing is None
