from django import template

from theme.money import STRIPE_CURRENCIES, format_money, shop_currency

register = template.Library()

# Currencies whose amount is whole units (kept for older imports; theme.money.amount_decimal
# gives any currency's amount as a Decimal of units, KWD's three decimals included).
ZERO_DECIMAL = {code for code, currency in STRIPE_CURRENCIES.items() if currency.exponent == 0}


@register.filter
def money(amount: int | None, currency: str = "") -> str:
    """An integer amount in minor units, formatted by Babel for settings.SHOP_LOCALE:
    money(1250, "eur") -> "€12.50", money(1250, "jpy") -> "¥1,250" (en_US), or
    "12,50 €" and "1.250 ¥" (de_DE). Without a currency, the shop's.

    theme/money.py knows each currency's minor unit as Stripe counts it.
    """
    if amount is None or amount == "":
        return ""
    return format_money(amount, currency or shop_currency())
