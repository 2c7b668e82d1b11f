from django import template

register = template.Library()

# ISO 4217 currencies without a minor unit (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


@register.filter
def money(amount: int | None, currency: str = "eur") -> str:
    """Format an integer amount in minor units: money(1250, "eur") -> "€12.50"."""
    if amount is None:
        return ""
    currency = (currency or "eur").lower()
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    number = f"{amount:,}" if currency in ZERO_DECIMAL else f"{amount // 100:,}.{amount % 100:02d}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"
