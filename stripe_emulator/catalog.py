"""Objects a session refers to: shipping rates, products, prices, coupons and promotion codes.

Each ``*_create`` validates Stripe's form parameters (400 in Stripe's envelope otherwise),
stores the object in ``store.state`` and returns it. Callers hold ``store.lock``.
"""

import re

from . import objects
from .validation import (
    MAX_AMOUNT,
    StripeError,
    as_bool,
    as_currency,
    as_hash,
    as_int,
    as_metadata,
    as_str,
    invalid,
    missing,
    reject_unknown,
)

TAX_BEHAVIORS = ("inclusive", "exclusive", "unspecified")
ESTIMATE_UNITS = ("hour", "day", "business_day", "week", "month")
COUPON_DURATIONS = ("once", "repeating", "forever")
MAX_SHIPPING_OPTIONS = 5


def _tax_behavior(value, param: str) -> str | None:
    behavior = as_str(value, param, 20)
    if behavior is not None and behavior not in TAX_BEHAVIORS:
        raise invalid(param, f"Invalid {param}: must be one of {', '.join(TAX_BEHAVIORS)}")
    return behavior


def lookup(store, collection: str, ident, kind: str, param: str) -> dict:
    """An object named by a parameter: 400 (not 404) when it does not exist, as Stripe does."""
    ident = as_str(ident, param, 255, required=True)
    obj = store.state[collection].get(ident)
    if obj is None:
        raise StripeError(400, f"No such {kind}: '{ident}'", code="resource_missing", param=param)
    return obj


# -- shipping rates -----------------------------------------------------------------------


def shipping_rate_data(params, p: str) -> dict:
    """Validated ``shipping_rate_data`` (also the body of ``POST /v1/shipping_rates``)."""
    data = as_hash(params, p) if p else params
    name = f"{p}[%s]" if p else "%s"
    reject_unknown(
        data,
        {
            "type",
            "fixed_amount",
            "display_name",
            "delivery_estimate",
            "metadata",
            "tax_behavior",
            "tax_code",
            "expand",
        },
        p,
    )
    kind = as_str(data.get("type"), name % "type", 20) or "fixed_amount"
    if kind != "fixed_amount":
        raise invalid(name % "type", f"Invalid type: {kind}. Only fixed_amount is supported.")
    display_name = as_str(data.get("display_name"), name % "display_name", 100, required=True)
    fixed_param = name % "fixed_amount"
    if data.get("fixed_amount") in (None, ""):
        raise missing(fixed_param)
    fixed = as_hash(data["fixed_amount"], fixed_param)
    reject_unknown(fixed, {"amount", "currency"}, fixed_param)
    if fixed.get("amount") in (None, ""):
        raise missing(f"{fixed_param}[amount]")
    amount = as_int(fixed["amount"], f"{fixed_param}[amount]", 0, MAX_AMOUNT)
    currency = as_currency(fixed.get("currency"), f"{fixed_param}[currency]")
    estimate = None
    if data.get("delivery_estimate") not in (None, ""):
        ep = name % "delivery_estimate"
        raw = as_hash(data["delivery_estimate"], ep)
        reject_unknown(raw, {"minimum", "maximum"}, ep)
        estimate = {"minimum": None, "maximum": None}
        for bound in ("minimum", "maximum"):
            if raw.get(bound) in (None, ""):
                continue
            bp = f"{ep}[{bound}]"
            value = as_hash(raw[bound], bp)
            reject_unknown(value, {"unit", "value"}, bp)
            unit = as_str(value.get("unit"), f"{bp}[unit]", 20, required=True)
            if unit not in ESTIMATE_UNITS:
                raise invalid(f"{bp}[unit]", f"Invalid unit: must be one of {ESTIMATE_UNITS}")
            if value.get("value") in (None, ""):
                raise missing(f"{bp}[value]")
            estimate[bound] = {"unit": unit, "value": as_int(value["value"], f"{bp}[value]", 1)}
    return {
        "display_name": display_name,
        "amount": amount,
        "currency": currency,
        "delivery_estimate": estimate,
        "metadata": as_metadata(data.get("metadata"), name % "metadata"),
        "tax_behavior": _tax_behavior(data.get("tax_behavior"), name % "tax_behavior"),
        "tax_code": as_str(data.get("tax_code"), name % "tax_code", 100),
    }


def shipping_rate_create(store, params: dict, p: str = "") -> dict:
    rate = objects.shipping_rate(shipping_rate_data(params, p), store.now())
    store.state["shipping_rates"][rate["id"]] = rate
    return rate


def shipping_options(store, value, currency: str) -> list[dict]:
    """The rates of a session's ``shipping_options`` (created from inline data or looked up)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise invalid("shipping_options", "shipping_options must be an array.")
    if len(value) > MAX_SHIPPING_OPTIONS:
        raise invalid(
            "shipping_options",
            f"You can specify at most {MAX_SHIPPING_OPTIONS} shipping options.",
        )
    rates = []
    for i, option in enumerate(value):
        p = f"shipping_options[{i}]"
        option = as_hash(option, p)
        reject_unknown(option, {"shipping_rate", "shipping_rate_data"}, p)
        if ("shipping_rate" in option) == ("shipping_rate_data" in option):
            raise invalid(p, f"Specify exactly one of shipping_rate or shipping_rate_data in {p}.")
        if "shipping_rate" in option:
            rate = lookup(
                store,
                "shipping_rates",
                option["shipping_rate"],
                "shipping_rate",
                f"{p}[shipping_rate]",
            )
            currency_param = f"{p}[shipping_rate]"
        else:
            rate = shipping_rate_create(
                store, option["shipping_rate_data"], f"{p}[shipping_rate_data]"
            )
            currency_param = f"{p}[shipping_rate_data][fixed_amount][currency]"
        if rate["fixed_amount"]["currency"] != currency:
            raise invalid(
                currency_param,
                f"The shipping rate's currency ({rate['fixed_amount']['currency']}) must match "
                f"the session's currency ({currency}).",
            )
        rates.append(rate)
    return rates


def address_collection(value) -> dict | None:
    if value in (None, ""):
        return None
    p = "shipping_address_collection"
    data = as_hash(value, p)
    reject_unknown(data, {"allowed_countries"}, p)
    countries = data.get("allowed_countries")
    if countries in (None, ""):
        raise missing(f"{p}[allowed_countries]")
    if isinstance(countries, str):
        countries = [countries]
    if not isinstance(countries, list) or not countries:
        raise invalid(f"{p}[allowed_countries]", "allowed_countries must be a non-empty array.")
    for i, country in enumerate(countries):
        if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
            raise invalid(f"{p}[allowed_countries][{i}]", f"Invalid country code: {country!r}")
    return {"allowed_countries": list(countries)}


# -- products and prices ------------------------------------------------------------------


def product_data(params: dict, p: str) -> dict:
    data = as_hash(params, p) if p else params
    name = f"{p}[%s]" if p else "%s"
    reject_unknown(
        data,
        {"name", "description", "images", "metadata", "tax_code", "active", "expand"},
        p,
    )
    images = data.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise invalid(name % "images", "images must be an array of URLs.")
    return {
        "name": as_str(data.get("name"), name % "name", 250, required=True),
        "description": as_str(data.get("description"), name % "description", 40000),
        "images": images,
        "metadata": as_metadata(data.get("metadata"), name % "metadata"),
        "tax_code": as_str(data.get("tax_code"), name % "tax_code", 100),
        "active": as_bool(data.get("active"), name % "active", True),
    }


def product_create(store, params: dict, p: str = "") -> dict:
    product = objects.product(product_data(params, p), store.now())
    store.state["products"][product["id"]] = product
    return product


def price_data(params: dict, p: str, inline: bool) -> dict:
    """Validated price fields; ``inline`` for a session's ``price_data`` (fewer fields)."""
    data = as_hash(params, p) if p else params
    name = f"{p}[%s]" if p else "%s"
    allowed = {"currency", "unit_amount", "product", "product_data", "tax_behavior"}
    if not inline:
        allowed |= {"metadata", "nickname", "lookup_key", "active", "expand"}
    reject_unknown(data, allowed, p)
    if data.get("unit_amount") in (None, ""):
        raise missing(name % "unit_amount")
    minimum = 1 if inline else 0
    return {
        "currency": as_currency(data.get("currency"), name % "currency"),
        "unit_amount": as_int(data["unit_amount"], name % "unit_amount", minimum, MAX_AMOUNT),
        "tax_behavior": _tax_behavior(data.get("tax_behavior"), name % "tax_behavior"),
        "metadata": as_metadata(data.get("metadata"), name % "metadata"),
        "nickname": as_str(data.get("nickname"), name % "nickname", 250),
        "lookup_key": as_str(data.get("lookup_key"), name % "lookup_key", 200),
        "active": as_bool(data.get("active"), name % "active", True),
    }


def price_create(store, params: dict, p: str = "", inline: bool = False) -> tuple[dict, dict]:
    """A new price and its product (made from ``product_data``, or looked up by ``product``)."""
    data = price_data(params, p, inline)
    raw = params if not p else as_hash(params, p)
    name = f"{p}[%s]" if p else "%s"
    if ("product" in raw) == ("product_data" in raw):
        if "product" not in raw:
            raise missing(name % "product_data" if inline else name % "product")
        raise invalid(name % "product", "Specify only one of product or product_data.")
    if "product" in raw:
        product = lookup(store, "products", raw["product"], "product", name % "product")
    else:
        product = product_create(store, raw["product_data"], name % "product_data")
    price = objects.price(data, product["id"], store.now(), active=not inline and data["active"])
    if not inline:
        store.state["prices"][price["id"]] = price
    return price, product


def price_for_line(store, price_id, param: str) -> tuple[dict, dict]:
    price = lookup(store, "prices", price_id, "price", param)
    if not price["active"]:
        raise invalid(param, f"The price specified ({price['id']}) is inactive.")
    return price, store.state["products"][price["product"]]


# -- coupons and promotion codes ----------------------------------------------------------


def coupon_create(store, params: dict) -> dict:
    reject_unknown(
        params,
        {
            "id",
            "percent_off",
            "amount_off",
            "currency",
            "duration",
            "duration_in_months",
            "name",
            "redeem_by",
            "max_redemptions",
            "metadata",
            "expand",
        },
    )
    data: dict = {"metadata": as_metadata(params.get("metadata"), "metadata")}
    ident = as_str(params.get("id"), "id", 200)
    if ident is not None:
        if ident in store.state["coupons"]:
            raise invalid("id", "Coupon already exists.", "resource_already_exists")
        data["id"] = ident
    has_percent = params.get("percent_off") not in (None, "")
    has_amount = params.get("amount_off") not in (None, "")
    if has_percent == has_amount:
        raise invalid("percent_off", "Specify exactly one of percent_off or amount_off.")
    if has_percent:
        raw = params["percent_off"]
        try:
            percent = float(raw) if re.fullmatch(r"\d{1,3}(\.\d{1,2})?", str(raw)) else None
        except ValueError:
            percent = None
        if percent is None or not 0 < percent <= 100:
            raise invalid("percent_off", "percent_off must be a number above 0 and at most 100.")
        data["percent_off"] = int(percent) if percent == int(percent) else percent
    else:
        data["amount_off"] = as_int(params["amount_off"], "amount_off", 1, MAX_AMOUNT)
        if params.get("currency") in (None, ""):
            raise missing("currency")
        data["currency"] = as_currency(params["currency"], "currency")
    duration = as_str(params.get("duration"), "duration", 20) or "once"
    if duration not in COUPON_DURATIONS:
        raise invalid("duration", f"Invalid duration: must be one of {COUPON_DURATIONS}")
    data["duration"] = duration
    if duration == "repeating":
        if params.get("duration_in_months") in (None, ""):
            raise missing("duration_in_months")
        data["duration_in_months"] = as_int(params["duration_in_months"], "duration_in_months", 1)
    data["name"] = as_str(params.get("name"), "name", 40)
    if params.get("redeem_by") not in (None, ""):
        data["redeem_by"] = as_int(params["redeem_by"], "redeem_by", store.now() + 1)
    if params.get("max_redemptions") not in (None, ""):
        data["max_redemptions"] = as_int(params["max_redemptions"], "max_redemptions", 1)
    coupon = objects.coupon(data, store.now())
    store.state["coupons"][coupon["id"]] = coupon
    return coupon


def promotion_code_create(store, params: dict) -> dict:
    """``promotion[type]=coupon&promotion[coupon]=ID`` (this API version) or ``coupon=ID``."""
    reject_unknown(
        params,
        {
            "code",
            "coupon",
            "promotion",
            "active",
            "expires_at",
            "max_redemptions",
            "restrictions",
            "metadata",
            "expand",
        },
    )
    if "promotion" in params:
        promotion = as_hash(params["promotion"], "promotion")
        reject_unknown(promotion, {"type", "coupon"}, "promotion")
        if (as_str(promotion.get("type"), "promotion[type]", 20) or "coupon") != "coupon":
            raise invalid("promotion[type]", "promotion[type] must be coupon.")
        coupon_param = "promotion[coupon]"
        coupon_id = promotion.get("coupon")
    else:
        coupon_param, coupon_id = "coupon", params.get("coupon")
    if coupon_id in (None, ""):
        raise missing(coupon_param)
    coupon = lookup(store, "coupons", coupon_id, "coupon", coupon_param)
    code = as_str(params.get("code"), "code", 500) or objects.new_id("", 8).upper()
    if not re.fullmatch(r"[A-Za-z0-9-]+", code):
        raise invalid("code", "A promotion code may contain only letters, digits and dashes.")
    taken = any(
        pc["active"] and pc["code"].lower() == code.lower()
        for pc in store.state["promotion_codes"].values()
    )
    if taken:
        raise invalid("code", f"An active promotion code with the code {code} already exists.")
    data = {
        "code": code,
        "coupon": coupon["id"],
        "active": as_bool(params.get("active"), "active", True),
        "metadata": as_metadata(params.get("metadata"), "metadata"),
    }
    if params.get("expires_at") not in (None, ""):
        data["expires_at"] = as_int(params["expires_at"], "expires_at", store.now() + 1)
    if params.get("max_redemptions") not in (None, ""):
        data["max_redemptions"] = as_int(params["max_redemptions"], "max_redemptions", 1)
    restrictions = as_hash(params.get("restrictions"), "restrictions")
    reject_unknown(
        restrictions,
        {"minimum_amount", "minimum_amount_currency", "first_time_transaction"},
        "restrictions",
    )
    if restrictions.get("minimum_amount") not in (None, ""):
        minimum = as_int(restrictions["minimum_amount"], "restrictions[minimum_amount]", 1)
        currency_param = "restrictions[minimum_amount_currency]"
        if restrictions.get("minimum_amount_currency") in (None, ""):
            raise missing(currency_param)
        data["restrictions"] = {
            "minimum_amount": minimum,
            "minimum_amount_currency": as_currency(
                restrictions["minimum_amount_currency"], currency_param
            ),
        }
    promo = objects.promotion_code(data, store.now())
    store.state["promotion_codes"][promo["id"]] = promo
    return promo


def coupon_problem(store, coupon: dict, currency: str) -> str | None:
    """Why ``coupon`` cannot be applied now to a session in ``currency`` (None if it can)."""
    if not coupon["valid"]:
        return "This coupon is no longer valid."
    if coupon["redeem_by"] is not None and coupon["redeem_by"] <= store.now():
        return "This coupon has expired."
    if (
        coupon["max_redemptions"] is not None
        and coupon["times_redeemed"] >= coupon["max_redemptions"]
    ):
        return "This coupon has been fully redeemed."
    if coupon["amount_off"] is not None and coupon["currency"] != currency:
        return f"This coupon applies to {coupon['currency'].upper()} payments only."
    return None


def promotion_code_problem(store, promo: dict, subtotal: int, currency: str) -> str | None:
    """Why ``promo`` cannot be applied to a session (None if it can)."""
    if not promo["active"]:
        return "This promotion code is not active."
    if promo["expires_at"] is not None and promo["expires_at"] <= store.now():
        return "This promotion code has expired."
    if promo["max_redemptions"] is not None and promo["times_redeemed"] >= promo["max_redemptions"]:
        return "This promotion code has been fully redeemed."
    minimum = promo["restrictions"]["minimum_amount"]
    wrong_currency = promo["restrictions"]["minimum_amount_currency"] != currency
    if minimum is not None and (wrong_currency or subtotal < minimum):
        return "This promotion code requires a larger order."
    return coupon_problem(store, store.state["coupons"][promo["promotion"]["coupon"]], currency)


def find_promotion_code(store, code: str) -> dict | None:
    """The active promotion code a shopper typed (case-insensitive), else any with that code."""
    matches = [
        pc for pc in store.state["promotion_codes"].values() if pc["code"].lower() == code.lower()
    ]
    active = [pc for pc in matches if pc["active"]]
    return (active or matches or [None])[0]
