"""A session's amounts: line items, discount, shipping and tax, computed as Checkout does.

``update_totals`` recomputes everything from the line items' prices, the session's chosen
shipping rate (``shipping_cost.shipping_rate``), its discount (``discounts``) and the tax
country, so it can run again whenever the shopper changes one of them.

Automatic tax (``automatic_tax[enabled]=true``) uses one flat rate per country (TAX_RATES;
a country not listed has no tax). The country is the shipping address's when the session
collects one, else the billing address's. ``tax_behavior`` of each price and shipping rate:
``exclusive`` adds the tax on top, ``inclusive`` finds it inside the amount (the total does
not change); ``unspecified`` follows Stripe's default setting, "by currency": exclusive for
USD and CAD, inclusive for every other currency. Tax is computed per line on the amount
after discount and rounded half up to the minor unit.
"""

from decimal import ROUND_HALF_UP, Decimal

# percent of standard VAT / sales tax by country (ISO 3166-1 alpha-2); others: 0
TAX_RATES = {
    "AT": 20,
    "BE": 21,
    "CH": 8.1,
    "DE": 19,
    "ES": 21,
    "FR": 20,
    "GB": 20,
    "IE": 23,
    "IT": 22,
    "NL": 21,
    "PL": 23,
    "SE": 25,
    "US": 0,
}
EXCLUSIVE_CURRENCIES = ("usd", "cad")
# the billing country assumed when paying through the control endpoint without one
DEFAULT_COUNTRY = {"eur": "DE", "gbp": "GB", "usd": "US", "chf": "CH", "sek": "SE", "pln": "PL"}


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_for(amount: int, percent, behavior: str, currency: str) -> tuple[int, bool]:
    """(tax, exclusive?) for ``amount`` at ``percent`` under ``behavior``."""
    exclusive = behavior == "exclusive" or (
        behavior == "unspecified" and currency in EXCLUSIVE_CURRENCIES
    )
    rate = Decimal(str(percent))
    if not rate or amount <= 0:
        return 0, exclusive
    if exclusive:
        return _round(amount * rate / 100), True
    return _round(amount * rate / (100 + rate)), False


def split(total: int, weights: list[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``; the last share takes the rounding."""
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights[:-1]]
    return [*shares, total - sum(shares)]


def tax_country(session: dict) -> str | None:
    shipping = (session.get("collected_information") or {}).get("shipping_details")
    if session["shipping_address_collection"]:
        return shipping["address"]["country"] if shipping else None
    details = session.get("customer_details") or {}
    return (details.get("address") or {}).get("country")


def discount_amount(coupon: dict | None, subtotal: int) -> int:
    if coupon is None:
        return 0
    if coupon["percent_off"] is not None:
        return min(subtotal, _round(Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100))
    return min(subtotal, coupon["amount_off"])


def update_totals(session: dict, items: list, state: dict) -> None:
    """Recompute amounts on ``session`` and its line ``items`` in place."""
    currency = session["currency"]
    subtotal = sum(item["amount_subtotal"] for item in items)
    coupon = None
    if session["discounts"]:
        coupon = state["coupons"][session["discounts"][0]["coupon"]]
    discount = discount_amount(coupon, subtotal)
    shares = split(discount, [item["amount_subtotal"] for item in items])

    automatic = session["automatic_tax"]["enabled"]
    country = tax_country(session) if automatic else None
    percent = TAX_RATES.get(country or "", 0)
    total_tax = added_tax = 0
    for item, share in zip(items, shares, strict=True):
        taxable = item["amount_subtotal"] - share
        tax, exclusive = tax_for(taxable, percent, item["price"]["tax_behavior"], currency)
        item.update(
            amount_discount=share,
            amount_tax=tax,
            amount_total=taxable + (tax if exclusive else 0),
        )
        total_tax += tax
        added_tax += tax if exclusive else 0

    shipping = 0
    if session["shipping_cost"] is not None:
        rate = state["shipping_rates"][session["shipping_cost"]["shipping_rate"]]
        shipping = rate["fixed_amount"]["amount"]
        tax, exclusive = tax_for(shipping, percent, rate["tax_behavior"], currency)
        session["shipping_cost"].update(
            amount_subtotal=shipping,
            amount_tax=tax,
            amount_total=shipping + (tax if exclusive else 0),
        )
        total_tax += tax
        added_tax += tax if exclusive else 0

    if automatic:
        located = country is not None
        session["automatic_tax"].update(
            status="complete" if located else "requires_location_inputs",
            liability={"type": "self"},
            provider="stripe",
        )
    session.update(
        amount_subtotal=subtotal,
        amount_total=subtotal - discount + shipping + added_tax,
        total_details={
            "amount_discount": discount,
            "amount_shipping": shipping,
            "amount_tax": total_tax,
        },
    )
