"""Fixtures: an Emulator on a free port and a tiny webhook receiver. No Django needed."""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import stripe

from stripe_emulator.server import Emulator

SECRET = "whsec_test"
KEY = "sk_test_123"


def encode(params: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Form-encode nested params the way the Stripe SDK does (indexed arrays)."""
    pairs = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += encode(value, name)
        elif isinstance(value, list):
            pairs += encode(dict(enumerate(value)), name)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


class Receiver:
    """Records webhook POSTs; answers 500 to the first ``fail_first`` calls."""

    def __init__(self):
        self.calls: list[dict] = []
        self.fail_first = 0
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.cond:
                    failing = len(receiver.calls) < receiver.fail_first
                    receiver.calls.append(
                        {
                            "headers": dict(self.headers),
                            "body": body,
                            "answered": 500 if failing else 200,
                        }
                    )
                    receiver.cond.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/stripe/"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def events(self) -> list[dict]:
        """Successfully received events (answered 200), parsed."""
        with self.cond:
            return [json.loads(c["body"]) for c in self.calls if c["answered"] == 200]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events()]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(c["answered"] == 200 for c in self.calls) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        return self.events()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Api:
    """Minimal HTTP client for the emulator; returns (status, parsed JSON or text, headers)."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def request(self, method, path, params=None, key=KEY, headers=None, body=None, data=None):
        url = self.base_url + path
        hdrs = dict(headers or {})
        if key:
            hdrs["Authorization"] = f"Bearer {key}"
        if data is not None:
            body = json.dumps(data).encode()
            hdrs["Content-Type"] = "application/json"
        elif params is not None:
            encoded = urlencode(encode(params))
            if method == "GET":
                url += "?" + encoded
            else:
                body = encoded.encode()
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=body, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, raw, rh = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as exc:
            status, raw, rh = exc.code, exc.read(), exc.headers
        text = raw.decode()
        if rh.get("Content-Type", "").startswith("application/json"):
            return status, json.loads(text), rh
        return status, text, rh

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params, **kw)

    def post(self, path, params=None, **kw):
        return self.request("POST", path, params if params is not None else {}, **kw)

    def control(self, method, path, data=None):
        status, body, _ = self.request(method, "/_emulator/" + path, key=None, data=data)
        return status, body

    def create_session(self, **overrides) -> dict:
        status, body, _ = self.post("/v1/checkout/sessions", session_params(**overrides))
        assert status == 200, body
        return body

    def pay(self, sid, card="4242424242424242", delayed=False, email="buyer@example.com"):
        return self.control(
            "POST", f"sessions/{sid}/pay", {"card": card, "delayed": delayed, "email": email}
        )


def session_params(**overrides) -> dict:
    params = {
        "mode": "payment",
        "success_url": "https://shop.test/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.test/cart/",
        "client_reference_id": "order-42",
        "customer_email": "buyer@example.com",
        "metadata": {"order_id": "42"},
        "payment_intent_data": {"metadata": {"order_id": "42"}},
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 750,
                    "product_data": {"name": "Mug"},
                },
                "quantity": 2,
            },
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1999,
                    "product_data": {"name": "Tea & Biscuits"},
                },
                "quantity": 1,
            },
        ],
    }
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def emulator(receiver):
    emu = Emulator(
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        retry_delays=(0.05, 0.1, 0.2),
        async_delay=0.2,
        tick_interval=0.05,
    )
    emu.start(host="127.0.0.1", port=0)
    yield emu
    emu.stop()


@pytest.fixture
def api(emulator) -> Api:
    return Api(emulator.base_url)


@pytest.fixture
def client(emulator):
    """The Stripe SDK's client, pointed at the emulator."""
    return stripe.StripeClient(KEY, base_addresses={"api": emulator.base_url})
