"""HTTP front of the emulator: the Stripe API, the hosted page and the /_emulator/ controls.

Programmatic use (tests)::

    emu = Emulator(webhook_url="http://127.0.0.1:8001/webhooks/", webhook_secret="whsec_test")
    base_url = emu.start(host="127.0.0.1", port=0)   # serves in daemon threads
    ...
    emu.stop()
"""

import base64
import json
import logging
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import page
from .forms import FormError, parse_form
from .objects import API_VERSION
from .store import Store, StripeError, as_expand, as_str, paginate, reject_unknown
from .webhooks import Dispatcher

log = logging.getLogger("stripe_emulator")

MAX_BODY = 1_000_000
SID = r"(?P<sid>[A-Za-z0-9_]+)"


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
    ):
        self.public_url = public_url
        self.tick_interval = tick_interval
        self.dispatcher = Dispatcher(webhook_url, webhook_secret, retry_delays, delivery_timeout)
        self.store = Store(
            public_url or "http://127.0.0.1",
            async_delay,
            state_file,
            on_event=self.dispatcher.enqueue,
            webhooks_active=self.dispatcher.active,
        )
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

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.dispatcher.reset()


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
                status, data, headers = self._api(method, path, url.query, body, request_id)
                headers.update({"Request-Id": request_id, "Stripe-Version": API_VERSION})
                self._send_json(status, data, headers)
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
        route = self._route(method, path)
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
        store = self.emulator.store
        routes = [
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions", self._list_sessions),
            ("GET", rf"/v1/checkout/sessions/{SID}", self._get_session),
            ("GET", rf"/v1/checkout/sessions/{SID}/line_items", self._list_line_items),
            ("POST", rf"/v1/checkout/sessions/{SID}/expire", self._expire_session),
            ("POST", r"/v1/refunds", store.create_refund),
            ("GET", rf"/v1/refunds/{SID}", lambda p, sid: self._get(p, store.refund(sid))),
            (
                "GET",
                rf"/v1/payment_intents/{SID}",
                lambda p, sid: self._get(p, store.payment_intent(sid)),
            ),
            (
                "GET",
                rf"/v1/charges/{SID}",
                lambda p, sid: self._get(p, store._get("charges", sid, "charge")),
            ),
            ("GET", r"/v1/events", self._list_events),
            ("GET", rf"/v1/events/{SID}", lambda p, sid: self._get(p, store.event(sid))),
        ]
        path = path.rstrip("/")
        for route_method, pattern, func in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return lambda params: func(params, **match.groupdict())
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _get(self, params: dict, obj: dict) -> dict:
        reject_unknown(params, {"expand"})
        return self.emulator.store.expand(obj, as_expand(params))

    def _create_session(self, params):
        store = self.emulator.store
        session = store.create_session(params)
        return store.expand(session, as_expand(params))

    def _get_session(self, params, sid):
        store = self.emulator.store
        reject_unknown(params, {"expand"})
        return store.expand(store.session(sid), as_expand(params))

    def _expire_session(self, params, sid):
        store = self.emulator.store
        reject_unknown(params, {"expand"})
        expand = store.check_expand("checkout.session", as_expand(params))
        return store.expand(store.expire_session(sid), expand)

    def _list_line_items(self, params, sid):
        reject_unknown(params, {"limit", "starting_after", "ending_before", "expand"})
        items = self.emulator.store.line_items(sid)
        url = f"/v1/checkout/sessions/{sid}/line_items"
        return paginate(items, params, url, "item")

    def _list_sessions(self, params):
        allowed = {"limit", "starting_after", "ending_before", "status", "payment_intent"}
        reject_unknown(params, allowed | {"expand"})
        store = self.emulator.store
        expand = as_expand(params)
        store.check_expand("checkout.session", expand, "data.")
        sessions = list(reversed(store.state["sessions"].values()))
        status = params.get("status")
        if status is not None:
            if status not in ("open", "complete", "expired"):
                raise StripeError(400, f"Invalid status: {status}", param="status")
            sessions = [s for s in sessions if s["status"] == status]
        if params.get("payment_intent"):
            sessions = [s for s in sessions if s["payment_intent"] == params["payment_intent"]]
        result = paginate(sessions, params, "/v1/checkout/sessions", "checkout.session")
        result["data"] = [store.expand(s, expand, "data.") for s in result["data"]]
        return result

    def _list_events(self, params):
        reject_unknown(params, {"limit", "starting_after", "ending_before", "type", "expand"})
        events = list(reversed(self.emulator.store.state["events"].values()))
        wanted = as_str(params.get("type"), "type", 200)
        if wanted:
            if wanted.endswith(".*"):
                events = [e for e in events if e["type"].startswith(wanted[:-1])]
            else:
                events = [e for e in events if e["type"] == wanted]
        return paginate(events, params, "/v1/events", "event")

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
            if method == "GET":
                return self._send_html(200, page.checkout_page(session, items))
            if method != "POST":
                raise StripeError(405, f"Method {method} not allowed here.")
            try:
                form = parse_form(body)
            except FormError:
                form = {}
            email = form.get("email") if isinstance(form.get("email"), str) else ""
            card = form.get("card_number") if isinstance(form.get("card_number"), str) else ""
            delayed = form.get("method") == "delayed"
            try:
                store.pay(sid, card, delayed, email)
            except StripeError as exc:
                html = page.checkout_page(session, items, exc.message, email, card, delayed)
                return self._send_html(exc.status, html)
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)
        self.send_response(303)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

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
                    session = store.pay(
                        sid,
                        str(data.get("card", "4242424242424242")),
                        bool(data.get("delayed", False)),
                        None if data.get("email") is None else str(data["email"]),
                    )
                else:
                    succeed = data.get("succeed")
                    session = store.complete_async(sid, None if succeed is None else bool(succeed))
                return 200, session
        raise StripeError(404, f"Unrecognized emulator control URL ({method}: /_emulator/{path}).")
