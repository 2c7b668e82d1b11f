"""The emulator's state and business rules: sessions, payments, refunds, expiry and events.

Everything here runs under ``Store.lock`` (re-entrant).  The state is one JSON-able dict,
saved to ``state_file`` (if any) after each change.  Events are handed to ``on_event``.
"""

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import objects

log = logging.getLogger("stripe_emulator")

MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
EXPIRY_SLACK = 5  # seconds of grace on both bounds, for clients computing "now" a bit early
MAX_AMOUNT = 99_999_999
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")

SUCCESS_CARD = "4242424242424242"
# card number -> (code, decline_code, message); numbers not listed (and not 4242...) are
# "incorrect".
DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000000000000069": ("expired_card", None, "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", None, "Your card's security code is incorrect."),
    "4000000000000119": (
        "processing_error",
        None,
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
INCORRECT = ("incorrect_number", None, "Your card number is incorrect.")

SESSION_PARAMS = {
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "customer_email",
    "metadata",
    "expires_at",
    "payment_method_types",
    "payment_intent_data",
    "expand",
    "locale",
    "submit_type",
    "billing_address_collection",
    "allow_promotion_codes",
    "customer_creation",
}


# object type -> {expandable id field: state collection}
EXPANDABLE = {
    "checkout.session": {"payment_intent": "payment_intents"},
    "payment_intent": {"latest_charge": "charges"},
    "charge": {"payment_intent": "payment_intents"},
    "refund": {"charge": "charges", "payment_intent": "payment_intents"},
}


class StripeError(Exception):
    """An error answered in Stripe's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self) -> dict:
        error = {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "doc_url": f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
            if self.code
            else None,
        }
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str, code: str | None = "parameter_invalid") -> StripeError:
    return StripeError(400, message, code=code, param=param)


def no_such(kind: str, ident: str, param: str | None = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{ident}'", code="resource_missing", param=param)


def reject_unknown(params: dict, allowed: set, prefix: str = "") -> None:
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                code="parameter_unknown",
                param=name,
            )


def as_int(value, param: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(param, f"Invalid integer: {value!r}", "parameter_invalid_integer")
    if isinstance(value, str):
        if not re.fullmatch(r"-?\d{1,18}", value.strip()):
            raise invalid(param, f"Invalid integer: {value}", "parameter_invalid_integer")
        value = int(value)
    if minimum is not None and value < minimum:
        raise invalid(param, f"This value must be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise invalid(param, f"This value must be less than or equal to {maximum}.")
    return value


def as_str(value, param: str, max_len: int = 5000, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise missing(param)
        return None
    if not isinstance(value, str):
        raise invalid(
            param, f"Invalid string: {param} must be a string.", "parameter_invalid_string"
        )
    if required and not value.strip():
        raise invalid(param, f"{param} cannot be empty.", "parameter_invalid_empty")
    if len(value) > max_len:
        raise invalid(param, f"{param} must be at most {max_len} characters.")
    return value


def as_hash(value, param: str) -> dict:
    if value is None:
        return {}
    if value == "":  # Stripe accepts an empty string to mean "empty hash"
        return {}
    if not isinstance(value, dict):
        raise invalid(param, f"Invalid hash: {param} must be a hash.", "parameter_invalid_hash")
    return value


def as_metadata(value, param: str) -> dict:
    meta = as_hash(value, param)
    if len(meta) > 50:
        raise invalid(param, "Metadata can have at most 50 keys.")
    for key, val in meta.items():
        if len(key) > 40:
            raise invalid(f"{param}[{key}]", "Metadata keys can be at most 40 characters long.")
        if not isinstance(val, str):
            raise invalid(f"{param}[{key}]", "Metadata values must be strings.")
        if len(val) > 500:
            raise invalid(f"{param}[{key}]", "Metadata values can be at most 500 characters long.")
    return dict(meta)


def as_url(value, param: str, required: bool) -> str | None:
    url = as_str(value, param, 5000, required)
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise invalid(param, f"Not a valid URL: {url}", "url_invalid")
    return url


def as_expand(params: dict) -> list[str]:
    expand = params.get("expand") or []
    if isinstance(expand, str):
        expand = [expand]
    if not isinstance(expand, list) or not all(isinstance(e, str) for e in expand):
        raise invalid("expand", "Invalid array: expand must be a list of strings.")
    return expand


def normalize_card(number: str | None) -> str:
    return re.sub(r"[\s-]", "", number or "")


def format_amount(amount: int, currency: str) -> str:
    """Minor units to a display string: 1250, "eur" -> "€12.50"."""
    zero_decimal = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf"}
    zero_decimal |= {"ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
    symbols = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹"}
    cur = (currency or "").lower()
    number = f"{amount:,}" if cur in zero_decimal else f"{amount / 100:,.2f}"
    if cur in symbols:
        return f"{'-' if amount < 0 else ''}{symbols[cur]}{number.lstrip('-')}"
    return f"{number} {cur.upper()}"


def empty_state() -> dict:
    return {
        "clock_offset": 0.0,
        "sessions": {},
        "line_items": {},
        "payment_intent_data": {},
        "payment_intents": {},
        "charges": {},
        "refunds": {},
        "events": {},
        "idempotency": {},
        "pending_async": {},
    }


class Store:
    def __init__(
        self,
        public_url: str,
        async_delay: float,
        state_file: str | None = None,
        on_event: Callable[[dict], None] | None = None,
        webhooks_active: Callable[[], bool] = lambda: False,
    ):
        self.lock = threading.RLock()
        self.public_url = public_url.rstrip("/")
        self.async_delay = async_delay
        self.state_file = Path(state_file) if state_file else None
        self.on_event = on_event or (lambda event: None)
        self.webhooks_active = webhooks_active
        self.request: dict | None = None  # {"id", "idempotency_key"} of the API call in progress
        self.state = empty_state()
        if self.state_file and self.state_file.exists():
            loaded = json.loads(self.state_file.read_text() or "{}")
            self.state.update(loaded)

    # -- clock and persistence -------------------------------------------------------------

    def now(self) -> int:
        return int(time.time() + self.state["clock_offset"])

    def advance(self, seconds: float) -> int:
        with self.lock:
            self.state["clock_offset"] += seconds
            self.save()
            self.tick()
            return self.now()

    def reset(self) -> None:
        with self.lock:
            self.state = empty_state()
            self.save()

    def save(self) -> None:
        if not self.state_file:
            return
        with self.lock:
            tmp = self.state_file.with_name(self.state_file.name + ".tmp")
            tmp.write_text(json.dumps(self.state))
            os.replace(tmp, self.state_file)

    def _emit(self, event_type: str, obj: dict) -> dict:
        pending = 1 if self.webhooks_active() else 0
        event = objects.event(event_type, obj, self.now(), pending, self.request)
        self.state["events"][event["id"]] = event
        self.on_event(event)
        return event

    # -- lookups ----------------------------------------------------------------------------

    def _get(self, collection: str, ident: str, kind: str) -> dict:
        obj = self.state[collection].get(ident)
        if obj is None:
            raise no_such(kind, ident)
        return obj

    def session(self, sid: str) -> dict:
        return self._get("sessions", sid, "checkout.session")

    def payment_intent(self, pid: str) -> dict:
        return self._get("payment_intents", pid, "payment_intent")

    def refund(self, rid: str) -> dict:
        return self._get("refunds", rid, "refund")

    def event(self, eid: str) -> dict:
        return self._get("events", eid, "event")

    def line_items(self, sid: str) -> list:
        self.session(sid)
        return self.state["line_items"][sid]

    # -- checkout sessions -----------------------------------------------------------------

    def create_session(self, params: dict) -> dict:
        reject_unknown(params, SESSION_PARAMS)
        mode = as_str(params.get("mode"), "mode", required=True)
        if mode != "payment":
            raise invalid("mode", f"Invalid mode: {mode}. The emulator supports only 'payment'.")
        success_url = as_url(params.get("success_url"), "success_url", required=True)
        cancel_url = as_url(params.get("cancel_url"), "cancel_url", required=False)
        lines = params.get("line_items")
        if lines is None or lines == "":
            raise missing("line_items")
        if not isinstance(lines, list) or not lines:
            raise invalid("line_items", "line_items must be a non-empty array.")
        if len(lines) > 100:
            raise invalid("line_items", "You can have at most 100 line items.")
        now = self.now()
        items = [self._line_item(line, i, now) for i, line in enumerate(lines)]
        currencies = {item["currency"] for item in items}
        if len(currencies) > 1:
            raise invalid("line_items", "All line items must use the same currency.")
        email = as_str(params.get("customer_email"), "customer_email", 800)
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            raise invalid("customer_email", f"Invalid email address: {email}", "email_invalid")
        ref = as_str(params.get("client_reference_id"), "client_reference_id", 200)
        metadata = as_metadata(params.get("metadata"), "metadata")
        expires_at = now + MAX_EXPIRY
        if params.get("expires_at") not in (None, ""):
            expires_at = as_int(params["expires_at"], "expires_at")
            if expires_at < now + MIN_EXPIRY - EXPIRY_SLACK:
                raise invalid(
                    "expires_at",
                    "The `expires_at` timestamp must be at least 30 minutes from Checkout "
                    "Session creation.",
                )
            if expires_at > now + MAX_EXPIRY + EXPIRY_SLACK:
                raise invalid(
                    "expires_at",
                    "The `expires_at` timestamp must be less than 24 hours from Checkout "
                    "Session creation.",
                )
        types = params.get("payment_method_types")
        if types is not None:
            if not isinstance(types, list) or not types:
                raise invalid("payment_method_types", "payment_method_types must be an array.")
            for i, value in enumerate(types):
                as_str(value, f"payment_method_types[{i}]", 100, required=True)
        pi_data = as_hash(params.get("payment_intent_data"), "payment_intent_data")
        reject_unknown(pi_data, {"metadata", "description"}, "payment_intent_data")
        pi_meta = as_metadata(pi_data.get("metadata"), "payment_intent_data[metadata]")
        pi_desc = as_str(pi_data.get("description"), "payment_intent_data[description]", 1000)
        for name in ("locale", "submit_type", "billing_address_collection", "customer_creation"):
            as_str(params.get(name), name, 100)
        self.check_expand("checkout.session", as_expand(params))

        sid = objects.new_id("cs_test_a1", 56)
        clean = {
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": ref,
            "customer_email": email,
            "metadata": metadata,
            "payment_method_types": types,
            "locale": params.get("locale"),
            "submit_type": params.get("submit_type"),
        }
        session = objects.checkout_session(
            clean, items, now, expires_at, f"{self.public_url}/pay/{sid}"
        )
        self.state["sessions"][sid] = session
        self.state["line_items"][sid] = items
        self.state["payment_intent_data"][sid] = {"metadata": pi_meta, "description": pi_desc}
        self.save()
        return session

    def _line_item(self, line, i: int, now: int) -> dict:
        p = f"line_items[{i}]"
        if not isinstance(line, dict):
            raise invalid(p, f"Invalid hash: {p} must be a hash.", "parameter_invalid_hash")
        reject_unknown(line, {"price_data", "quantity", "price"}, p)
        if "price" in line:
            raise no_such("price", str(line["price"]), f"{p}[price]")
        if "price_data" not in line:
            raise missing(f"{p}[price_data]")
        pd = as_hash(line["price_data"], f"{p}[price_data]")
        reject_unknown(
            pd, {"currency", "unit_amount", "product_data", "tax_behavior"}, f"{p}[price_data]"
        )
        currency = as_str(pd.get("currency"), f"{p}[price_data][currency]", 3, required=True)
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise invalid(f"{p}[price_data][currency]", f"Invalid currency: {currency}")
        if pd.get("unit_amount") in (None, ""):
            raise missing(f"{p}[price_data][unit_amount]")
        unit_amount = as_int(pd["unit_amount"], f"{p}[price_data][unit_amount]", 1, MAX_AMOUNT)
        prod_param = f"{p}[price_data][product_data]"
        if "product_data" not in pd:
            raise missing(prod_param)
        prod = as_hash(pd["product_data"], prod_param)
        reject_unknown(prod, {"name", "description", "images", "metadata"}, prod_param)
        name = as_str(prod.get("name"), f"{prod_param}[name]", 250, required=True)
        if line.get("quantity") in (None, ""):
            raise missing(f"{p}[quantity]")
        quantity = as_int(line["quantity"], f"{p}[quantity]", 1, 999_999)
        price_data = {
            "currency": currency.lower(),
            "unit_amount": unit_amount,
            "product_data": {"name": name},
        }
        return objects.line_item(price_data, quantity, now)

    @staticmethod
    def check_expand(object_name: str, expand: list[str], prefix: str = "") -> list[str]:
        """The expandable fields named by ``expand``; 400 for anything else."""
        fields = []
        for path in expand:
            field = path[len(prefix) :] if prefix and path.startswith(prefix) else path
            allowed = set(EXPANDABLE.get(object_name, {}))
            if object_name == "checkout.session":
                allowed.add("line_items")
            if field not in allowed:
                raise invalid("expand", f"This property cannot be expanded ({path}).")
            fields.append(field)
        return fields

    def expand(self, obj: dict, expand: list[str], prefix: str = "") -> dict:
        """A copy of ``obj`` with the ``expand`` paths (one level) replaced by objects."""
        out = dict(obj)
        for field in self.check_expand(obj["object"], expand, prefix):
            if field == "line_items":
                items = self.state["line_items"][obj["id"]]
                url = f"/v1/checkout/sessions/{obj['id']}/line_items"
                out["line_items"] = objects.list_object(items, url)
            elif obj[field]:
                out[field] = self.state[EXPANDABLE[obj["object"]][field]][obj[field]]
        return out

    def expire_session(self, sid: str) -> dict:
        session = self.session(sid)
        if session["status"] != "open":
            raise StripeError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f'Checkout Session has a status of "{session["status"]}".',
                code="checkout_session_not_open",
            )
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", session)
        self.save()
        return session

    def open_session(self, sid: str) -> dict:
        """The session if it can still be paid (expiring it first if its time is up)."""
        session = self.session(sid)
        if session["status"] == "open" and session["expires_at"] <= self.now():
            self.expire_session(sid)
        if session["status"] != "open":
            raise StripeError(
                400,
                f"This Checkout Session is no longer open (status: {session['status']}).",
                code="checkout_session_not_open",
            )
        return session

    # -- payments --------------------------------------------------------------------------

    def pay(self, sid: str, card: str | None, delayed: bool = False, email: str | None = None):
        """Pay an open session as the hosted page does; raises StripeError (402) on declines."""
        session = self.open_session(sid)
        email = (email or "").strip() or session["customer_email"]
        if not email or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            raise invalid("email", "Please enter a valid email address.", "email_invalid")
        number = normalize_card(card)
        if delayed:
            method = "us_bank_account" if session["currency"] == "usd" else "sepa_debit"
        else:
            method = "card"
            if number != SUCCESS_CARD:
                code, decline_code, message = DECLINES.get(number, INCORRECT)
                raise StripeError(
                    402, message, type="card_error", code=code, decline_code=decline_code
                )
        now = self.now()
        pi_data = self.state["payment_intent_data"][sid]
        intent = objects.payment_intent(session, pi_data["metadata"], method, now)
        intent["description"] = pi_data["description"]
        charge = objects.charge(intent, email, number.rjust(4, "0"), method, now)
        intent["latest_charge"] = charge["id"]
        self.state["payment_intents"][intent["id"]] = intent
        self.state["charges"][charge["id"]] = charge
        session.update(
            status="complete",
            url=None,
            payment_intent=intent["id"],
            customer_details=objects.customer_details(email),
        )
        if delayed:
            intent["status"] = "processing"
            intent["processing"] = {"type": method}
            self.state["pending_async"][sid] = {
                "due": time.time() + self.async_delay,
                "succeed": number == SUCCESS_CARD,
            }
        else:
            self._settle(intent, charge)
            session["payment_status"] = "paid"
        self._emit("checkout.session.completed", session)
        self.save()
        return session

    def _settle(self, intent: dict, charge: dict) -> None:
        intent.update(status="succeeded", amount_received=intent["amount"], processing=None)
        charge.update(
            status="succeeded",
            paid=True,
            captured=True,
            amount_captured=charge["amount"],
            balance_transaction=objects.new_id("txn_"),
            outcome=objects.charge_outcome(True),
        )

    def complete_async(self, sid: str, succeed: bool | None = None) -> dict:
        """Finish a delayed (bank) payment now: succeed, or fail (default: by card number)."""
        session = self.session(sid)
        pending = self.state["pending_async"].pop(sid, None)
        if pending is None:
            raise StripeError(400, f"Checkout Session {sid} has no pending delayed payment.")
        if succeed is None:
            succeed = pending["succeed"]
        intent = self.state["payment_intents"][session["payment_intent"]]
        charge = self.state["charges"][intent["latest_charge"]]
        if succeed:
            self._settle(intent, charge)
            session["payment_status"] = "paid"
            self._emit("checkout.session.async_payment_succeeded", session)
        else:
            message = "The bank payment failed."
            intent.update(
                status="requires_payment_method",
                processing=None,
                last_payment_error={
                    "type": "invalid_request_error",
                    "code": "payment_method_provider_decline",
                    "message": message,
                },
            )
            charge.update(
                status="failed",
                failure_code="payment_method_provider_decline",
                failure_message=message,
                outcome=objects.charge_outcome(False, message),
            )
            self._emit("checkout.session.async_payment_failed", session)
        self.save()
        return session

    def tick(self) -> None:
        """Expire sessions past expires_at and finish delayed payments that are due."""
        with self.lock:
            now = self.now()
            for sid, session in list(self.state["sessions"].items()):
                if session["status"] == "open" and session["expires_at"] <= now:
                    self.expire_session(sid)
            wall = time.time()
            for sid, pending in list(self.state["pending_async"].items()):
                if pending["due"] <= wall:
                    self.complete_async(sid)

    # -- refunds ---------------------------------------------------------------------------

    def create_refund(self, params: dict) -> dict:
        allowed = {"payment_intent", "charge", "amount", "reason", "metadata", "expand"}
        reject_unknown(params, allowed)
        pid = as_str(params.get("payment_intent"), "payment_intent", 255)
        cid = as_str(params.get("charge"), "charge", 255)
        if not pid and not cid:
            raise missing("payment_intent")
        if pid:
            intent = self.state["payment_intents"].get(pid)
            if intent is None:
                raise no_such("payment_intent", pid, "payment_intent")
            charge = self.state["charges"].get(intent["latest_charge"] or "")
        else:
            charge = self.state["charges"].get(cid)
            if charge is None:
                raise no_such("charge", cid, "charge")
        if charge is None or charge["status"] != "succeeded":
            what = f"PaymentIntent ({pid})" if pid else f"Charge ({cid})"
            raise StripeError(
                400, f"This {what} does not have a successful charge to refund.", param=None
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = remaining
        if params.get("amount") not in (None, ""):
            amount = as_int(params["amount"], "amount", 1)
            if amount > remaining:
                cur = charge["currency"]
                raise invalid(
                    "amount",
                    f"Refund amount ({format_amount(amount, cur)}) is greater than unrefunded "
                    f"amount on charge ({format_amount(remaining, cur)})",
                    "amount_too_large",
                )
        reason = as_str(params.get("reason"), "reason", 100)
        if reason is not None and reason not in REFUND_REASONS:
            raise invalid(
                "reason",
                f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}",
            )
        metadata = as_metadata(params.get("metadata"), "metadata")
        expand = as_expand(params)
        self.check_expand("refund", expand)
        refund = objects.refund(charge, amount, reason, metadata, self.now())
        self.state["refunds"][refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        self.save()
        return self.expand(refund, expand)


def paginate(items: list, params: dict, url: str, kind: str) -> dict:
    """A Stripe list object for ``items`` (already in answer order), honouring limit/cursors."""
    limit = 10
    if params.get("limit") not in (None, ""):
        limit = as_int(params["limit"], "limit", 1, 100)
    start = 0
    ids = [item["id"] for item in items]
    after = params.get("starting_after")
    before = params.get("ending_before")
    if after:
        if after not in ids:
            raise no_such(kind, str(after), "starting_after")
        start = ids.index(after) + 1
        data = items[start : start + limit]
        has_more = len(items) > start + limit
    elif before:
        if before not in ids:
            raise no_such(kind, str(before), "ending_before")
        end = ids.index(before)
        data = items[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        data = items[:limit]
        has_more = len(items) > limit
    return objects.list_object(data, url, has_more)
