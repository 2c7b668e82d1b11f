"""The emulator's state and business rules: sessions, payments, refunds, expiry and events.

Catalog objects (shipping rates, prices, coupons, promotion codes) are validated in
catalog.py, a session's amounts computed in pricing.py.

Everything here runs under ``Store.lock`` (re-entrant).  The state is one JSON-able dict,
saved to ``state_file`` (if any) after each change.  Events are handed to ``on_event``.
"""

import copy
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import catalog, objects, pricing
from .validation import (
    StripeError,
    as_bool,
    as_expand,
    as_hash,
    as_int,
    as_metadata,
    as_str,
    as_url,
    invalid,
    missing,
    no_such,
    reject_unknown,
)

log = logging.getLogger("stripe_emulator")

MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
EXPIRY_SLACK = 5  # seconds of grace on both bounds, for clients computing "now" a bit early
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
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state", "country")
# what the pay control endpoint ships to when a session wants an address and none is given
DEFAULT_SHIPPING_NAME = "Jenny Rosen"
DEFAULT_ADDRESS = {"line1": "1 Test Street", "city": "Testville", "postal_code": "12345"}

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
    "shipping_address_collection",
    "shipping_options",
    "discounts",
    "automatic_tax",
    "ui_mode",
}


# object type -> {expandable id field: state collection}
EXPANDABLE = {
    "checkout.session": {"payment_intent": "payment_intents"},
    "payment_intent": {"latest_charge": "charges"},
    "charge": {"payment_intent": "payment_intents"},
    "refund": {"charge": "charges", "payment_intent": "payment_intents"},
}


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
        "shipping_rates": {},
        "products": {},
        "prices": {},
        "coupons": {},
        "promotion_codes": {},
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
        items = [self._line_item(line, i) for i, line in enumerate(lines)]
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
        for name in ("locale", "submit_type", "customer_creation"):
            as_str(params.get(name), name, 100)
        billing = as_str(params.get("billing_address_collection"), "billing_address_collection")
        if billing not in (None, "auto", "required"):
            raise invalid("billing_address_collection", "Must be one of auto, required.")
        ui_mode = as_str(params.get("ui_mode"), "ui_mode", 20)
        if ui_mode not in (None, "hosted_page"):
            raise invalid("ui_mode", f"Invalid ui_mode: {ui_mode}. The emulator has hosted_page.")
        collection = catalog.address_collection(params.get("shipping_address_collection"))
        tax = as_hash(params.get("automatic_tax"), "automatic_tax")
        reject_unknown(tax, {"enabled", "liability"}, "automatic_tax")
        automatic_tax = as_bool(tax.get("enabled"), "automatic_tax[enabled]", False)
        promo_allowed = as_bool(params.get("allow_promotion_codes"), "allow_promotion_codes", False)
        self.check_expand("checkout.session", as_expand(params))
        currency = items[0]["currency"]
        rates = catalog.shipping_options(self, params.get("shipping_options"), currency)
        discounts = self._session_discounts(params.get("discounts"), promo_allowed, items)

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
        session.update(
            allow_promotion_codes=promo_allowed or None,
            billing_address_collection=billing,
            shipping_address_collection=collection,
            shipping_options=[
                {"shipping_amount": r["fixed_amount"]["amount"], "shipping_rate": r["id"]}
                for r in rates
            ],
            discounts=discounts,
        )
        session["automatic_tax"]["enabled"] = automatic_tax
        if rates:  # Checkout preselects the first option
            session["shipping_cost"] = objects.shipping_cost(rates[0]["id"])
        pricing.update_totals(session, items, self.state)
        self.state["sessions"][sid] = session
        self.state["line_items"][sid] = items
        self.state["payment_intent_data"][sid] = {"metadata": pi_meta, "description": pi_desc}
        self.save()
        return session

    def _line_item(self, line, i: int) -> dict:
        p = f"line_items[{i}]"
        if not isinstance(line, dict):
            raise invalid(p, f"Invalid hash: {p} must be a hash.", "parameter_invalid_hash")
        reject_unknown(line, {"price_data", "quantity", "price"}, p)
        if ("price" in line) == ("price_data" in line):
            if "price" in line:
                raise invalid(p, f"Specify only one of price or price_data in {p}.")
            raise missing(f"{p}[price_data]")
        if "price" in line:
            price, product = catalog.price_for_line(self, line["price"], f"{p}[price]")
        else:
            price, product = catalog.price_create(
                self, line["price_data"], f"{p}[price_data]", inline=True
            )
        if line.get("quantity") in (None, ""):
            raise missing(f"{p}[quantity]")
        quantity = as_int(line["quantity"], f"{p}[quantity]", 1, 999_999)
        return objects.line_item(price, product["name"], quantity)

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

    def _session_discounts(self, value, promo_allowed: bool, items: list) -> list[dict]:
        """A session's ``discounts``: at most one coupon or promotion code."""
        if value in (None, "", []):
            return []
        if promo_allowed:
            raise invalid(
                "discounts",
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            )
        if not isinstance(value, list):
            raise invalid("discounts", "discounts must be an array.")
        if len(value) > 1:
            raise invalid("discounts", "You can apply at most one discount to a Checkout Session.")
        entry = as_hash(value[0], "discounts[0]")
        reject_unknown(entry, {"coupon", "promotion_code"}, "discounts[0]")
        if ("coupon" in entry) == ("promotion_code" in entry):
            raise invalid("discounts[0]", "Specify exactly one of coupon or promotion_code.")
        currency = items[0]["currency"]
        subtotal = sum(item["amount_subtotal"] for item in items)
        if "coupon" in entry:
            coupon = catalog.lookup(
                self, "coupons", entry["coupon"], "coupon", "discounts[0][coupon]"
            )
            problem = catalog.coupon_problem(self, coupon, currency)
            promo_id, param = None, "discounts[0][coupon]"
        else:
            param = "discounts[0][promotion_code]"
            promo = catalog.lookup(
                self, "promotion_codes", entry["promotion_code"], "promotion_code", param
            )
            problem = catalog.promotion_code_problem(self, promo, subtotal, currency)
            coupon = self.state["coupons"][promo["promotion"]["coupon"]]
            promo_id = promo["id"]
        if problem:
            raise invalid(param, problem)
        return [{"coupon": coupon["id"], "promotion_code": promo_id}]

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

    def pay(
        self,
        sid: str,
        card: str | None,
        delayed: bool = False,
        email: str | None = None,
        *,
        shipping_name: str | None = None,
        shipping_address: dict | None = None,
        shipping_rate: int | None = None,
        promotion_code: str | None = None,
        billing_address: dict | None = None,
    ):
        """Pay an open session as the hosted page does; raises StripeError (402) on declines.

        Shipping, discount and tax are settled on a copy first, so a refused payment leaves
        the session as it was. A session whose total comes to 0 completes without a card,
        with ``payment_status=no_payment_required`` and no PaymentIntent.
        """
        session = self.open_session(sid)
        email = (email or "").strip() or session["customer_email"]
        if not email or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            raise invalid("email", "Please enter a valid email address.", "email_invalid")
        items = self.state["line_items"][sid]
        draft, draft_items = copy.deepcopy(session), copy.deepcopy(items)
        if promotion_code is not None and promotion_code.strip():
            self._apply_code(draft, draft_items, promotion_code)
        if session["shipping_address_collection"]:
            name, address = self._shipping_address(draft, shipping_name, shipping_address)
            draft["collected_information"] = objects.collected_information(name, address)
        if shipping_rate is not None:
            options = session["shipping_options"]
            if not 0 <= shipping_rate < len(options):
                raise invalid("shipping_rate", f"No shipping option {shipping_rate}.")
            draft["shipping_cost"] = objects.shipping_cost(options[shipping_rate]["shipping_rate"])
        details = objects.customer_details(email)
        if billing_address:
            details["address"] = objects.address(self._billing_address(billing_address))
        elif draft["automatic_tax"]["enabled"] and not session["shipping_address_collection"]:
            details["address"]["country"] = pricing.DEFAULT_COUNTRY.get(session["currency"], "US")
        draft["customer_details"] = details
        pricing.update_totals(draft, draft_items, self.state)

        free = draft["amount_total"] == 0
        number = normalize_card(card)
        if delayed:
            method = "us_bank_account" if session["currency"] == "usd" else "sepa_debit"
        else:
            method = "card"
            if number != SUCCESS_CARD and not free:
                code, decline_code, message = DECLINES.get(number, INCORRECT)
                raise StripeError(
                    402, message, type="card_error", code=code, decline_code=decline_code
                )
        session.clear()
        session.update(draft, status="complete", url=None)
        items[:] = draft_items
        self._redeem(session)
        if free:
            session["payment_status"] = "no_payment_required"
            self._emit("checkout.session.completed", session)
            self.save()
            return session
        now = self.now()
        pi_data = self.state["payment_intent_data"][sid]
        intent = objects.payment_intent(session, pi_data["metadata"], method, now)
        intent["description"] = pi_data["description"]
        charge = objects.charge(intent, email, number.rjust(4, "0"), method, now)
        shipping = (session["collected_information"] or {}).get("shipping_details")
        if shipping:
            intent["shipping"] = charge["shipping"] = {
                **shipping,
                "carrier": None,
                "phone": None,
                "tracking_number": None,
            }
        intent["latest_charge"] = charge["id"]
        self.state["payment_intents"][intent["id"]] = intent
        self.state["charges"][charge["id"]] = charge
        session["payment_intent"] = intent["id"]
        if delayed:
            # Stripe's `processing` hash describes card payments only; bank debits leave it null.
            intent["status"] = "processing"
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

    def apply_promotion_code(self, sid: str, code: str) -> dict:
        """Apply a code the shopper typed (the hosted page's Apply button)."""
        session = self.open_session(sid)
        self._apply_code(session, self.state["line_items"][sid], code)
        pricing.update_totals(session, self.state["line_items"][sid], self.state)
        self.save()
        return session

    def _apply_code(self, session: dict, items: list, code: str) -> None:
        if not session["allow_promotion_codes"]:
            raise invalid("promotion_code", "This checkout does not accept promotion codes.")
        promo = catalog.find_promotion_code(self, code.strip())
        subtotal = sum(item["amount_subtotal"] for item in items)
        problem = "This code is invalid."
        if promo is not None:
            problem = catalog.promotion_code_problem(self, promo, subtotal, session["currency"])
        if problem:
            raise invalid("promotion_code", problem)
        session["discounts"] = [
            {"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}
        ]

    def _redeem(self, session: dict) -> None:
        for discount in session["discounts"]:
            coupon = self.state["coupons"][discount["coupon"]]
            coupon["times_redeemed"] += 1
            if coupon["max_redemptions"] is not None:
                coupon["valid"] = coupon["times_redeemed"] < coupon["max_redemptions"]
            if discount["promotion_code"]:
                self.state["promotion_codes"][discount["promotion_code"]]["times_redeemed"] += 1

    @staticmethod
    def _shipping_address(session: dict, name, address) -> tuple[str, dict]:
        """A validated shipping name and address; defaults when the shopper gave none."""
        allowed = session["shipping_address_collection"]["allowed_countries"]
        if address is None:
            address = dict(DEFAULT_ADDRESS, country=allowed[0])
        if not isinstance(address, dict):
            raise invalid("shipping_address", "shipping_address must be an object.")
        reject_unknown(address, set(ADDRESS_FIELDS), "shipping_address")
        clean = {}
        for field in ADDRESS_FIELDS:
            value = as_str(address.get(field), f"shipping_address[{field}]", 200)
            clean[field] = value.strip() if value and value.strip() else None
        for field, label in (("line1", "street address"), ("city", "city"), ("country", "country")):
            if not clean[field]:
                raise invalid(
                    f"shipping_address[{field}]",
                    f"The shipping address needs a {label}.",
                    "parameter_missing",
                )
        clean["country"] = clean["country"].upper()
        if clean["country"] not in allowed:
            raise invalid(
                "shipping_address[country]",
                f"Shipping to {clean['country']} is not available (allowed: {', '.join(allowed)}).",
            )
        name = DEFAULT_SHIPPING_NAME if name is None else as_str(name, "shipping_name", 200)
        if not name.strip():
            raise invalid("shipping_name", "Please enter the name to ship to.", "parameter_missing")
        return name.strip(), clean

    @staticmethod
    def _billing_address(address) -> dict:
        if not isinstance(address, dict):
            raise invalid("billing_address", "billing_address must be an object.")
        reject_unknown(address, set(ADDRESS_FIELDS), "billing_address")
        clean = {}
        for field in ADDRESS_FIELDS:
            value = as_str(address.get(field), f"billing_address[{field}]", 200)
            clean[field] = value.strip() if value and value.strip() else None
        if not clean["country"] or not re.fullmatch(r"[A-Za-z]{2}", clean["country"]):
            raise invalid("billing_address[country]", "Please choose a country.")
        clean["country"] = clean["country"].upper()
        return clean

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
