"""The /v1/ routes: which handler answers a method and path, and the handlers themselves.

Handlers take the store and the decoded parameters (plus the id from the path) and return
the JSON answer; they run under ``store.lock``. Lists are newest first, paged with
``limit`` / ``starting_after`` / ``ending_before`` and filtered by ``created`` (an exact
time, or ``created[gt|gte|lt|lte]``), as Stripe's are.
"""

import functools
import re

from . import catalog
from .store import Store, paginate
from .validation import StripeError, as_bool, as_expand, as_int, as_str, invalid, reject_unknown

SID = r"(?P<sid>[A-Za-z0-9_-]+)"
PAGING = {"limit", "starting_after", "ending_before", "expand", "created"}


def route(store: Store, method: str, path: str):
    """(handler taking params, endpoint name such as ``GET /v1/prices/{id}``); 404 if none."""
    path = path.rstrip("/")
    for route_method, pattern, func in ROUTES:
        match = re.fullmatch(pattern, path)
        if match and route_method == method:
            endpoint = f"{method} {pattern.replace(SID, '{id}')}"
            kwargs = match.groupdict()
            return functools.partial(func, store, **kwargs), endpoint
    raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")


def created_filter(params: dict):
    """A predicate on ``created`` from ``created=T`` or ``created[gt|gte|lt|lte]=T``."""
    value = params.get("created")
    if value in (None, ""):
        return lambda created: True
    if not isinstance(value, dict):
        exact = as_int(value, "created")
        return lambda created: created == exact
    reject_unknown(value, {"gt", "gte", "lt", "lte"}, "created")
    bounds = {op: as_int(v, f"created[{op}]") for op, v in value.items()}
    checks = {
        "gt": lambda c, t: c > t,
        "gte": lambda c, t: c >= t,
        "lt": lambda c, t: c < t,
        "lte": lambda c, t: c <= t,
    }
    return lambda created: all(checks[op](created, t) for op, t in bounds.items())


def listing(store: Store, params: dict, objects: list, url: str, kind: str) -> dict:
    """``objects`` (oldest first) as a Stripe list: newest first, filtered by created, paged."""
    keep = created_filter(params)
    newest_first = [obj for obj in reversed(objects) if keep(obj["created"])]
    return paginate(newest_first, params, url, kind)


def get(store: Store, params: dict, obj: dict) -> dict:
    reject_unknown(params, {"expand"})
    return store.expand(obj, as_expand(params))


def _plain(params: dict, obj: dict) -> dict:
    reject_unknown(params, {"expand"})
    if as_expand(params):
        raise invalid("expand", f"This property cannot be expanded ({as_expand(params)[0]}).")
    return obj


def _lookup(collection: str, kind: str):
    def handler(store: Store, params: dict, sid: str) -> dict:
        return _plain(params, store._get(collection, sid, kind))

    return handler


# -- checkout sessions --------------------------------------------------------------------


def create_session(store: Store, params: dict) -> dict:
    session = store.create_session(params)
    return store.expand(session, as_expand(params))


def get_session(store: Store, params: dict, sid: str) -> dict:
    return get(store, params, store.session(sid))


def expire_session(store: Store, params: dict, sid: str) -> dict:
    reject_unknown(params, {"expand"})
    expand = store.check_expand("checkout.session", as_expand(params))
    return store.expand(store.expire_session(sid), expand)


def list_line_items(store: Store, params: dict, sid: str) -> dict:
    reject_unknown(params, {"limit", "starting_after", "ending_before", "expand"})
    items = store.line_items(sid)
    return paginate(items, params, f"/v1/checkout/sessions/{sid}/line_items", "item")


def list_sessions(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"status", "payment_intent"})
    expand = as_expand(params)
    store.check_expand("checkout.session", expand, "data.")
    sessions = list(store.state["sessions"].values())
    status = params.get("status")
    if status is not None:
        if status not in ("open", "complete", "expired"):
            raise StripeError(400, f"Invalid status: {status}", param="status")
        sessions = [s for s in sessions if s["status"] == status]
    if params.get("payment_intent"):
        sessions = [s for s in sessions if s["payment_intent"] == params["payment_intent"]]
    result = listing(store, params, sessions, "/v1/checkout/sessions", "checkout.session")
    result["data"] = [store.expand(s, expand, "data.") for s in result["data"]]
    return result


# -- payments -----------------------------------------------------------------------------


def list_payment_intents(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING)
    store.check_expand("payment_intent", as_expand(params), "data.")
    intents = list(store.state["payment_intents"].values())
    result = listing(store, params, intents, "/v1/payment_intents", "payment_intent")
    result["data"] = [store.expand(pi, as_expand(params), "data.") for pi in result["data"]]
    return result


def list_refunds(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"payment_intent", "charge"})
    store.check_expand("refund", as_expand(params), "data.")
    refunds = list(store.state["refunds"].values())
    for field in ("payment_intent", "charge"):
        wanted = as_str(params.get(field), field, 255)
        if wanted:
            refunds = [r for r in refunds if r[field] == wanted]
    result = listing(store, params, refunds, "/v1/refunds", "refund")
    result["data"] = [store.expand(r, as_expand(params), "data.") for r in result["data"]]
    return result


def list_events(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"type", "types"})
    events = list(store.state["events"].values())
    wanted = as_str(params.get("type"), "type", 200)
    if wanted:
        if wanted.endswith(".*"):
            events = [e for e in events if e["type"].startswith(wanted[:-1])]
        else:
            events = [e for e in events if e["type"] == wanted]
    types = params.get("types")
    if types not in (None, ""):
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise invalid("types", "types must be an array of event types.")
        events = [e for e in events if e["type"] in types]
    return listing(store, params, events, "/v1/events", "event")


# -- catalog: shipping rates, products, prices, coupons, promotion codes ------------------


def _create(func):
    def handler(store: Store, params: dict) -> dict:
        if as_expand(params):
            raise invalid("expand", f"This property cannot be expanded ({as_expand(params)[0]}).")
        obj = func(store, params)
        if isinstance(obj, tuple):  # a price and its product
            obj = obj[0]
        store.save()
        return obj

    return handler


def _active_filter(params: dict, objs: list) -> list:
    if params.get("active") in (None, ""):
        return objs
    active = as_bool(params["active"], "active", True)
    return [obj for obj in objs if obj["active"] == active]


def list_shipping_rates(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"active", "currency"})
    rates = _active_filter(params, list(store.state["shipping_rates"].values()))
    if params.get("currency"):
        rates = [r for r in rates if r["fixed_amount"]["currency"] == params["currency"].lower()]
    return listing(store, params, rates, "/v1/shipping_rates", "shipping_rate")


def list_products(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"active"})
    products = _active_filter(params, list(store.state["products"].values()))
    return listing(store, params, products, "/v1/products", "product")


def list_prices(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"active", "currency", "product", "lookup_keys"})
    prices = _active_filter(params, list(store.state["prices"].values()))
    if params.get("currency"):
        prices = [p for p in prices if p["currency"] == str(params["currency"]).lower()]
    if params.get("product"):
        prices = [p for p in prices if p["product"] == params["product"]]
    keys = params.get("lookup_keys")
    if keys not in (None, ""):
        keys = keys if isinstance(keys, list) else [keys]
        prices = [p for p in prices if p["lookup_key"] in keys]
    return listing(store, params, prices, "/v1/prices", "price")


def list_coupons(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING)
    return listing(store, params, list(store.state["coupons"].values()), "/v1/coupons", "coupon")


def list_promotion_codes(store: Store, params: dict) -> dict:
    reject_unknown(params, PAGING | {"active", "code", "coupon"})
    promos = _active_filter(params, list(store.state["promotion_codes"].values()))
    if params.get("code"):
        promos = [p for p in promos if p["code"].lower() == str(params["code"]).lower()]
    if params.get("coupon"):
        promos = [p for p in promos if p["promotion"]["coupon"] == params["coupon"]]
    return listing(store, params, promos, "/v1/promotion_codes", "promotion_code")


ROUTES = [
    ("POST", r"/v1/checkout/sessions", create_session),
    ("GET", r"/v1/checkout/sessions", list_sessions),
    ("GET", rf"/v1/checkout/sessions/{SID}", get_session),
    ("GET", rf"/v1/checkout/sessions/{SID}/line_items", list_line_items),
    ("POST", rf"/v1/checkout/sessions/{SID}/expire", expire_session),
    ("POST", r"/v1/refunds", lambda store, params: store.create_refund(params)),
    ("GET", r"/v1/refunds", list_refunds),
    ("GET", rf"/v1/refunds/{SID}", lambda store, p, sid: get(store, p, store.refund(sid))),
    ("GET", r"/v1/payment_intents", list_payment_intents),
    (
        "GET",
        rf"/v1/payment_intents/{SID}",
        lambda store, p, sid: get(store, p, store.payment_intent(sid)),
    ),
    (
        "GET",
        rf"/v1/charges/{SID}",
        lambda store, p, sid: get(store, p, store._get("charges", sid, "charge")),
    ),
    ("GET", r"/v1/events", list_events),
    ("GET", rf"/v1/events/{SID}", lambda store, p, sid: get(store, p, store.event(sid))),
    ("POST", r"/v1/shipping_rates", _create(catalog.shipping_rate_create)),
    ("GET", r"/v1/shipping_rates", list_shipping_rates),
    ("GET", rf"/v1/shipping_rates/{SID}", _lookup("shipping_rates", "shipping_rate")),
    ("POST", r"/v1/products", _create(catalog.product_create)),
    ("GET", r"/v1/products", list_products),
    ("GET", rf"/v1/products/{SID}", _lookup("products", "product")),
    ("POST", r"/v1/prices", _create(catalog.price_create)),
    ("GET", r"/v1/prices", list_prices),
    ("GET", rf"/v1/prices/{SID}", _lookup("prices", "price")),
    ("POST", r"/v1/coupons", _create(catalog.coupon_create)),
    ("GET", r"/v1/coupons", list_coupons),
    ("GET", rf"/v1/coupons/{SID}", _lookup("coupons", "coupon")),
    ("POST", r"/v1/promotion_codes", _create(catalog.promotion_code_create)),
    ("GET", r"/v1/promotion_codes", list_promotion_codes),
    ("GET", rf"/v1/promotion_codes/{SID}", _lookup("promotion_codes", "promotion_code")),
]
