"""HTTP front of the emulator: the Stripe API, the hosted page and the /_emulator/ controls.

Programmatic use (tests)::

    emu = Emulator(webhook_url="http://127.0.0.1:8001/webhooks/", webhook_secret="whsec_test")
    base_url = emu.start(host="127.0.0.1", port=0)   # serves in daemon threads
    ...
    emu.stop()
"""

import base64
import contextlib
import json
import logging
import re
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import api, page, pricing
from .faults import ApiFaults
from .forms import FormError, parse_form
from .objects import API_VERSION
from .store import ADDRESS_FIELDS, Store, StripeError
from .webhooks import Dispatcher

log = logging.getLogger("stripe_emulator")

MAX_BODY = 1_000_000
RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)
SID = api.SID


class Emulator:
    """A local Stripe stand-in: start() it, point the SDK's api base at the returned URL."""

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test",  # noqa: S107 - a test secret, not a password
        public_url: str | None = None,
        retry_delays=(1, 5, 30),
        async_delay: float = 5.0,
        state_file: str | None = None,
        tick_interval: float = 0.5,
        delivery_timeout: float = 10.0,
        api_faults: dict | None = None,
    ):
        self.public_url = public_url
        # API faults given here (the command line's) are also what a reset returns to.
        self.api_faults = ApiFaults(**(api_faults or {}))
        self.tick_interval = tick_interval
        self.dispatcher = Dispatcher(webhook_url, webhook_secret, retry_delays, delivery_timeout)
        self.store = Store(
            public_url or "http://127.0.0.1",
            async_delay,
            state_file,
            on_event=self.dispatcher.enqueue,
            webhooks_active=self.dispatcher.active,
        )
        # /v1/ requests received, by endpoint (`GET /v1/checkout/sessions/{id}`): what the
        # shop asked of "Stripe" (GET|DELETE /_emulator/api_requests), faults included.
        self.api_requests: dict[str, int] = {}
        self._api_requests_lock = threading.Lock()
        self.base_url: str | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("BoundHandler", (Handler,), {"emulator": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        real_port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{real_port}"
        self.store.public_url = (self.public_url or self.base_url).rstrip("/")
        self._stop.clear()
        self.dispatcher.start()
        self._threads = [
            threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True),
            threading.Thread(target=self._tick_loop, name="expiry-ticker", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self.base_url

    def stop(self) -> None:
        self._stop.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.dispatcher.stop()
        for thread in self._threads:
            thread.join(timeout=2)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.tick_interval):
            try:
                self.store.tick()
            except Exception:
                log.exception("expiry ticker error")

    # -- helpers for tests -----------------------------------------------------------------

    def set_webhook_url(self, url: str | None) -> None:
        self.dispatcher.webhook_url = url

    def idle(self) -> bool:
        with self.store.lock:
            return not self.store.state["pending_async"] and self.dispatcher.idle()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no delivery is queued or in flight and no delayed payment is pending."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def deliveries(self) -> list[dict]:
        return self.dispatcher.log()

    def events(self) -> list[dict]:
        with self.store.lock:
            return list(self.store.state["events"].values())

    def advance_clock(self, seconds: float) -> int:
        return self.store.advance(seconds)

    def set_faults(self, **faults) -> dict:
        return self.dispatcher.set_faults(faults)

    def set_api_faults(self, **faults) -> dict:
        """Change API faults (see faults.py); ValueError for unknown names or bad values."""
        return self.api_faults.set(faults)

    def count_api_request(self, endpoint: str) -> None:
        with self._api_requests_lock:
            self.api_requests[endpoint] = self.api_requests.get(endpoint, 0) + 1

    def api_requests_snapshot(self, *, clear: bool = False) -> dict:
        """{"total": n, "by_endpoint": {endpoint: n}} since the start or the last clear."""
        with self._api_requests_lock:
            counts = dict(self.api_requests)
            if clear:
                self.api_requests.clear()
        return {"total": sum(counts.values()), "by_endpoint": counts}

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.dispatcher.reset()
            self.api_faults.reset()
        self.api_requests_snapshot(clear=True)


def _json_error(status: int, message: str, type_: str = "invalid_request_error") -> StripeError:
    return StripeError(status, message, type=type_)


class Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"
    server_version = "stripe-emulator"

    # -- plumbing ----------------------------------------------------------------------------

    def log_message(self, format, *args):
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data, headers: dict | None = None):
        body = (json.dumps(data, indent=2) + "\n").encode()
        self._send(status, body, "application/json", headers)

    def _send_html(self, status: int, html: str):
        self._send(status, html.encode(), "text/html; charset=utf-8")

    def _read_body(self) -> str:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise _json_error(400, "Chunked request bodies are not supported.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise _json_error(400, "Invalid Content-Length header.") from None
        if length > MAX_BODY:
            self.close_connection = True
            raise _json_error(400, "Request body too large.")
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _json_error(400, "Request body is not valid UTF-8.") from None

    def _handle(self, method: str) -> None:
        request_id = "req_" + secrets.token_hex(7)
        try:
            url = urlsplit(self.path)
            body = self._read_body()
            path = url.path
            if path.startswith("/v1/"):
                self._api_call(method, path, url.query, body, request_id)
            elif path.startswith("/pay/"):
                self._page(method, path[len("/pay/") :].strip("/"), body)
            elif path.startswith("/_emulator/"):
                status, data = self._control(method, path[len("/_emulator/") :], url.query, body)
                self._send_json(status, data)
            else:
                raise StripeError(404, f"Unrecognized request URL ({method}: {path}).", code=None)
        except StripeError as exc:
            self._send_json(exc.status, exc.body(), {"Request-Id": request_id})
        except Exception:
            log.exception("internal error handling %s %s", method, self.path)
            message = "An unexpected error occurred in the emulator."
            err = StripeError(500, message, type="api_error")
            try:
                self._send_json(500, err.body(), {"Request-Id": request_id})
            except OSError:
                log.warning("could not send the error response (client gone?)")

    # -- the Stripe API --------------------------------------------------------------------

    def _api_call(self, method, path, query, body, request_id) -> None:
        """One /v1/ call, with the API faults (faults.py) applied around it."""
        faults = self.emulator.api_faults
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        endpoint = self._endpoint(method, path)
        self.emulator.count_api_request(endpoint)
        if faults.over_rate_limit(endpoint):
            err = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
            return self._send_json(429, err.body(), headers)
        delay = faults.latency(path)
        if delay:
            time.sleep(delay)
        retry_after = faults.throttle(path)
        if retry_after is not None:
            err = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
            return self._send_json(429, err.body(), {**headers, "Retry-After": str(retry_after)})
        error_status = faults.error(path)
        if error_status is not None:
            err = StripeError(error_status, "An unknown error occurred", type="api_error")
            return self._send_json(error_status, err.body(), headers)
        status, data, more = self._api(method, path, query, body, request_id)
        headers.update(more)
        if faults.drop(path):
            return self._send_cut(status, data, headers)
        self._send_json(status, data, headers)

    def _send_cut(self, status: int, data, headers: dict) -> None:
        """Start the answer, send half its body, and drop the connection."""
        body = (json.dumps(data, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _endpoint(self, method: str, path: str) -> str:
        """``GET /v1/checkout/sessions/{id}``: what Stripe's per-endpoint limit counts."""
        try:
            return self._route(method, path)[1]
        except StripeError:
            return f"{method} {path.rstrip('/')}"

    def _authenticate(self) -> str:
        header = self.headers.get("Authorization", "")
        key = ""
        if header.startswith("Bearer "):
            key = header[len("Bearer ") :].strip()
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header[len("Basic ") :]).decode().split(":")[0]
            except Exception:
                key = ""
        if not key:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        if not key.startswith(("sk_test_", "rk_test_")) or len(key) <= len("sk_test_"):
            masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
            raise StripeError(401, f"Invalid API Key provided: {masked}", code="api_key_invalid")
        return key

    def _api(self, method, path, query, body, request_id):
        key = self._authenticate()
        try:
            params = parse_form(body if method == "POST" else query)
        except FormError as exc:
            raise StripeError(400, str(exc), param=exc.param) from None
        route = self._route(method, path)[0]
        store = self.emulator.store
        ikey = self.headers.get("Idempotency-Key") if method == "POST" else None
        if ikey is not None and len(ikey) > 255:
            raise StripeError(400, "Idempotency keys must be at most 255 characters long.")
        with store.lock:
            record_key = f"{key}:{ikey}"
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            if ikey is not None:
                record = store.state["idempotency"].get(record_key)
                if record is not None:
                    if record["fingerprint"] != fingerprint:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other "
                            f"than '{ikey}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    headers = {"Idempotency-Key": ikey, "Idempotent-Replayed": "true"}
                    return record["status"], record["body"], headers
            store.request = {"id": request_id, "idempotency_key": ikey}
            try:
                status, data = 200, route(params)
            except StripeError as exc:
                status, data = exc.status, exc.body()
            finally:
                store.request = None
            headers = {}
            if ikey is not None:
                headers["Idempotency-Key"] = ikey
                store.state["idempotency"][record_key] = {
                    "fingerprint": fingerprint,
                    "status": status,
                    "body": data,
                }
                store.save()
            return status, data, headers

    def _route(self, method: str, path: str):
        return api.route(self.emulator.store, method, path)

    # -- the hosted page -------------------------------------------------------------------

    def _page(self, method: str, sid: str, body: str) -> None:
        store = self.emulator.store
        with store.lock:
            session = store.state["sessions"].get(sid)
            if session is None:
                return self._send_html(404, page.not_found_page(sid))
            items = store.state["line_items"][sid]
            if session["status"] == "open" and session["expires_at"] <= store.now():
                store.expire_session(sid)
            if session["status"] != "open":
                return self._send_html(200 if method == "GET" else 400, page.closed_page(session))
            rates = [
                store.state["shipping_rates"][option["shipping_rate"]]
                for option in session["shipping_options"]
            ]
            countries = sorted(pricing.TAX_RATES)
            default_country = pricing.DEFAULT_COUNTRY.get(session["currency"], "US")
            countries.insert(0, countries.pop(countries.index(default_country)))

            def render(status, error=None, form=None):
                form = form or {}
                html = page.checkout_page(
                    session,
                    items,
                    error,
                    form.get("email"),
                    form.get("card_number", ""),
                    form.get("method") == "delayed",
                    rates,
                    form,
                    countries,
                )
                return self._send_html(status, html)

            if method == "GET":
                return render(200)
            if method != "POST":
                raise StripeError(405, f"Method {method} not allowed here.")
            try:
                parsed = parse_form(body)
            except FormError:
                parsed = {}
            form = {key: value for key, value in parsed.items() if isinstance(value, str)}
            try:
                if form.get("action") == "apply":
                    store.apply_promotion_code(sid, form.get("promotion_code", ""))
                    return render(200, form={"promotion_code": form.get("promotion_code", "")})
                store.pay(
                    sid,
                    form.get("card_number", ""),
                    form.get("method") == "delayed",
                    form.get("email", ""),
                    **self._page_choices(session, form),
                )
            except StripeError as exc:
                return render(exc.status, exc.message, form)
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)
        self.send_response(303)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    @staticmethod
    def _page_choices(session: dict, form: dict) -> dict:
        """The hosted form's shipping and billing fields as ``Store.pay`` arguments."""
        choices = {}
        if session["shipping_address_collection"]:
            choices["shipping_name"] = form.get("shipping_name", "")
            choices["shipping_address"] = {
                field: form.get(f"shipping_{field}", "") for field in ADDRESS_FIELDS
            }
        if session["shipping_options"] and re.fullmatch(
            r"[0-9]{1,2}", form.get("shipping_rate", "")
        ):
            choices["shipping_rate"] = int(form["shipping_rate"])
        if page.needs_billing_country(session):
            choices["billing_address"] = {"country": form.get("billing_country", "")}
        return choices

    # -- /_emulator/ controls --------------------------------------------------------------

    def _control(self, method: str, path: str, query: str, body: str):
        emu = self.emulator
        store = emu.store
        path = path.strip("/")
        data = {}
        if method in ("POST", "DELETE") and body.strip():
            try:
                data = json.loads(body)
            except json.JSONDecodeError as exc:
                raise StripeError(400, f"Invalid JSON body: {exc}") from None
            if not isinstance(data, dict):
                raise StripeError(400, "The JSON body must be an object.")
        route = (method, path)
        if route == ("GET", "deliveries"):
            return 200, emu.deliveries()
        if route == ("GET", "clock"):
            return 200, {"now": store.now()}
        if route == ("POST", "clock"):
            advance = data.get("advance", 0)
            if isinstance(advance, bool) or not isinstance(advance, (int, float)):
                raise StripeError(400, "advance must be a number of seconds.", param="advance")
            return 200, {"now": emu.advance_clock(advance)}
        if path == "faults":
            if method == "GET":
                return 200, dict(emu.dispatcher.faults)
            if method == "DELETE":
                emu.dispatcher.reset(clear_log=False)
                return 200, dict(emu.dispatcher.faults)
            if method == "POST":
                try:
                    return 200, emu.dispatcher.set_faults(data)
                except ValueError as exc:
                    raise StripeError(400, str(exc)) from None
        if path == "api_faults":
            if method == "GET":
                return 200, emu.api_faults.snapshot()
            if method == "DELETE":
                return 200, emu.api_faults.reset()
            if method == "POST":
                try:
                    return 200, emu.api_faults.set(data)
                except ValueError as exc:
                    raise StripeError(400, str(exc)) from None
        if route == ("GET", "api_faults/injected"):
            return 200, dict(emu.api_faults.injected)
        if path == "api_requests" and method in ("GET", "DELETE"):
            return 200, emu.api_requests_snapshot(clear=method == "DELETE")
        if route == ("POST", "reset"):
            emu.reset()
            return 200, {"reset": True}
        if route == ("POST", "webhook"):
            emu.set_webhook_url(data.get("url"))
            return 200, {"url": emu.dispatcher.webhook_url}
        if route == ("GET", "wait_idle"):
            raw = parse_qs(query).get("timeout", ["5"])[0]
            try:
                timeout = min(float(raw), 60.0)
            except ValueError:
                raise StripeError(400, "timeout must be a number.", param="timeout") from None
            return 200, {"idle": emu.wait_idle(timeout)}
        match = re.fullmatch(rf"sessions/{SID}/(?P<action>pay|async)", path)
        if match and method == "POST":
            sid = match["sid"]
            with store.lock:
                if match["action"] == "pay":
                    rate = data.get("shipping_rate")
                    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int)):
                        raise StripeError(
                            400, "shipping_rate must be an option's index.", param="shipping_rate"
                        )
                    code = data.get("promotion_code")
                    session = store.pay(
                        sid,
                        str(data.get("card", "4242424242424242")),
                        bool(data.get("delayed", False)),
                        None if data.get("email") is None else str(data["email"]),
                        shipping_name=data.get("shipping_name"),
                        shipping_address=data.get("shipping_address"),
                        shipping_rate=rate,
                        promotion_code=None if code is None else str(code),
                        billing_address=data.get("billing_address"),
                    )
                else:
                    succeed = data.get("succeed")
                    session = store.complete_async(sid, None if succeed is None else bool(succeed))
                return 200, session
        raise StripeError(404, f"Unrecognized emulator control URL ({method}: /_emulator/{path}).")
