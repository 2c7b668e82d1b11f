"""The hosted payment page and paying through it (or through the control endpoint)."""

import re
import urllib.error
import urllib.request
from urllib.parse import urlencode


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect())


def fetch(url, form=None):
    data = urlencode(form).encode() if form is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=10) as resp:
            return resp.status, resp.read().decode(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


def pay_form(card="4242 4242 4242 4242", method="card", email="buyer@example.com"):
    return {"email": email, "card_number": card, "method": method}


def test_page_renders_lines_and_total(api):
    session = api.create_session()
    status, html, headers = fetch(session["url"])
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "<main>" in html and "Mug" in html and "Tea &amp; Biscuits" in html
    assert "€15.00" in html and "€19.99" in html and "€34.99" in html
    assert 'value="buyer@example.com"' in html
    assert 'href="https://shop.test/cart/"' in html and "Back to shop" in html
    assert f'action="/pay/{session["id"]}"' in html
    assert "<script" not in html and "http://" not in html.split("<main>")[0]
    ids = set(re.findall(r'<input[^>]* id="([^"]+)"', html))
    labels = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids == {"email", "card_number", "method_card", "method_delayed"}
    assert ids <= labels


def test_page_formats_zero_decimal_and_unknown_currency(api):
    items = [
        {
            "price_data": {"currency": "jpy", "unit_amount": 1200, "product_data": {"name": "Cup"}},
            "quantity": 3,
        }
    ]
    html = fetch(api.create_session(line_items=items)["url"])[1]
    assert "¥3,600" in html
    items[0]["price_data"]["currency"] = "chf"
    html = fetch(api.create_session(line_items=items)["url"])[1]
    assert "36.00 CHF" in html


def test_pay_4242_redirects_to_success_url(api, receiver, emulator):
    session = api.create_session()
    status, _, headers = fetch(session["url"], pay_form())
    assert status == 303
    assert headers["Location"] == f"https://shop.test/checkout/success/?session_id={session['id']}"
    _, paid, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    assert paid["status"] == "complete" and paid["payment_status"] == "paid"
    assert paid["url"] is None and paid["customer_details"]["email"] == "buyer@example.com"
    _, intent, _ = api.get(f"/v1/payment_intents/{paid['payment_intent']}")
    assert intent["status"] == "succeeded" and intent["metadata"] == {"order_id": "42"}
    _, charge, _ = api.get(f"/v1/charges/{intent['latest_charge']}")
    assert charge["paid"] and charge["metadata"] == {"order_id": "42"}
    assert charge["payment_intent"] == intent["id"]
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    events = receiver.wait_for(1)
    assert [e["type"] for e in events] == ["checkout.session.completed"]
    assert events[0]["data"]["object"]["payment_status"] == "paid"
    # the session cannot be paid twice; the page says so
    status, html, _ = fetch(session["url"])
    assert status == 200 and "This checkout session is complete" in html
    status, html, _ = fetch(session["url"], pay_form())
    assert status == 400 and "complete" in html


def test_declines_keep_session_open(api, emulator):
    session = api.create_session()
    cases = [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
        ("1234 5678 9012 3456", "Your card number is incorrect."),
        ("", "Your card number is incorrect."),
    ]
    for card, message in cases:
        status, html, _ = fetch(session["url"], pay_form(card=card))
        assert status == 402, card
        assert message.replace("'", "&#x27;") in html
        assert f'value="{card}"' in html and "<main>" in html
    status, body = api.pay(session["id"], card="4000000000009995")
    assert status == 402
    assert body["error"]["type"] == "card_error"
    assert body["error"]["code"] == "card_declined"
    assert body["error"]["decline_code"] == "insufficient_funds"
    _, again, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    assert again["status"] == "open" and again["payment_intent"] is None
    assert emulator.events() == []


def test_missing_email_rejected(api):
    session = api.create_session(customer_email=None)
    status, html, _ = fetch(session["url"], pay_form(email=""))
    assert status == 400 and "email" in html


def test_delayed_payment_succeeds(api, receiver, emulator):
    session = api.create_session()
    status, _, _headers = fetch(session["url"], pay_form(method="delayed"))
    assert status == 303
    _, body, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    assert body["status"] == "complete" and body["payment_status"] == "unpaid"
    _, intent, _ = api.get(f"/v1/payment_intents/{body['payment_intent']}")
    assert intent["status"] == "processing"
    assert emulator.wait_idle(5)
    types = receiver.types()
    assert types == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    events = receiver.events()
    assert events[0]["data"]["object"]["payment_status"] == "unpaid"
    assert events[1]["data"]["object"]["payment_status"] == "paid"
    _, intent, _ = api.get(f"/v1/payment_intents/{body['payment_intent']}")
    assert intent["status"] == "succeeded"


def test_delayed_payment_fails(api, receiver, emulator):
    session = api.create_session()
    status, _ = api.pay(session["id"], card="4000000000000002", delayed=True)
    assert status == 200
    assert emulator.wait_idle(5)
    assert receiver.types() == [
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
    ]
    _, body, _ = api.get(f"/v1/checkout/sessions/{session['id']}")
    assert body["payment_status"] == "unpaid"
    _, intent, _ = api.get(f"/v1/payment_intents/{body['payment_intent']}")
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["message"]


def test_async_control_endpoint(api, emulator):
    emulator.store.async_delay = 60
    session = api.create_session()
    api.pay(session["id"], card="4000000000000002", delayed=True)
    status, body = api.control("POST", f"sessions/{session['id']}/async", {"succeed": True})
    assert status == 200 and body["payment_status"] == "paid"
    status, body = api.control("POST", f"sessions/{session['id']}/async", {"succeed": True})
    assert status == 400 and "error" in body


def test_expired_session_cannot_be_paid(api, emulator):
    session = api.create_session()
    api.post(f"/v1/checkout/sessions/{session['id']}/expire")
    status, html, _ = fetch(session["url"])
    assert status == 200 and "This checkout session is expired" in html
    assert 'href="https://shop.test/cart/"' in html
    status, html, _ = fetch(session["url"], pay_form())
    assert status == 400
    status, body = api.pay(session["id"])
    assert status == 400 and body["error"]["code"] == "checkout_session_not_open"
    # a session whose time is up is expired on the spot, even before the ticker runs
    late = api.create_session()
    emulator.store.state["clock_offset"] += 25 * 3600
    status, html, _ = fetch(late["url"], pay_form())
    assert status == 400 and "expired" in html


def test_unknown_session_page(api):
    status, html, _ = fetch(api.base_url + "/pay/cs_test_unknown")
    assert status == 404 and "<main>" in html
