"""Money: the currencies Stripe charges in, and prices as people type and read them.

Amounts are integers in the currency's minor unit as Stripe counts it ("amount" in
Stripe's API): cents for EUR, yen for JPY, fils for KWD, and hundredths for ISK and UGX
although those are charged in whole units only. Never floats: every conversion here goes
through Decimal.

The shop sells in one currency, settings.SHOP_CURRENCY; a product keeps the currency its
price was entered in (catalog's system check refuses to start while the two disagree,
and `manage.py convert_prices` fixes that). Prices are shown by Babel for
settings.SHOP_LOCALE, and read back in that locale's way of writing numbers.

This module imports no app of the shop, so that every app may use it.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
    parse_decimal,
)
from django.conf import settings

# Stripe's currency rules, from https://docs.stripe.com/currencies ("Supported presentment
# currencies", "Zero-decimal", "Three-decimal", "Special cases", "Minimum and maximum charge
# amounts"), as of late 2026. Stripe adds and retires currencies (HRK went with the euro,
# SLL became SLE, XCG replaces ANG): update these lists with its page.
_TWO_DECIMAL = """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd
    bwp byn bzd cad cdf chf cny cop crc cve czk dkk dop dzd egp etb eur fjd fkp gbp
    gel gip gmd gtq gyd hkd hnl htg idr ils inr jmd kes kgs khr kyd kzt lak lbp lkr
    lrd lsl mad mdl mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd
    pab pen pgk php pkr pln qar ron rsd rub sar sbd scr sek sgd shp sle sos srd std
    szl thb tjs top try ttd tzs uah uyu uzs wst xcd xcg yer zar zmw
""".split()  # noqa: SIM905 (a table to read, one code per word)
# The amount is the number of whole units: 500 charges 500 JPY.
_ZERO_DECIMAL = "bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf".split()  # noqa: SIM905
# Three decimals, but Stripe's payment partners need the last digit to be 0: 5.124 KWD
# cannot be charged, 5.120 can (amount 5120).
_THREE_DECIMAL = "bhd jod kwd omr tnd".split()  # noqa: SIM905
# Stripe's special cases: sent as two-decimal amounts, charged in whole units. ISK and UGX
# "became zero-decimal, but backwards compatibility requires a two-decimal value whose
# decimals are always 00" (5 ISK is amount 500; Stripe refuses 550). Stripe accepts
# fractional HUF and TWD charges but pays them out in whole units only; the shop prices
# them in whole units too, so every charge can be paid out in full.
_WHOLE_UNITS = "huf isk twd ugx".split()  # noqa: SIM905
# Stripe's minimum charge per presentment currency, in minor units. Stripe also requires
# the amount to be worth at least the minimum of the account's settlement currency (0.50
# USD for a US account), which this table cannot know: SHOP_MINIMUM_CHARGE raises the
# floor where needed, and names one for currencies that are not listed here.
_MINIMUMS = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}
# Stripe's largest amount for one charge: eight digits (999,999.99 USD).
MAX_AMOUNT = 99_999_999


class MoneyError(ValueError):
    """An amount or a currency the shop refuses; the message is meant for people."""


class UnknownCurrency(MoneyError):
    pass


@dataclass(frozen=True)
class Currency:
    code: str  # lower case, as Stripe's API takes it
    exponent: int = 2  # one unit is 10 ** exponent minor units, as Stripe counts them
    step: int = 1  # Stripe charges only multiples of this many minor units
    minimum: int | None = None  # Stripe's minimum charge in minor units, where it gives one

    @property
    def label(self) -> str:
        return self.code.upper()

    @property
    def scale(self) -> int:
        return 10**self.exponent

    @property
    def decimals(self) -> int:
        """Decimals a price is written with: none for JPY, ISK and UGX, three for KWD."""
        return 0 if self.step == self.scale else self.exponent


def _table() -> dict[str, Currency]:
    table = {}
    for codes, exponent, step in [
        (_TWO_DECIMAL, 2, 1),
        (_ZERO_DECIMAL, 0, 1),
        (_THREE_DECIMAL, 3, 10),
        (_WHOLE_UNITS, 2, 100),
    ]:
        for code in codes:
            table[code] = Currency(code, exponent, step, _MINIMUMS.get(code))
    return table


STRIPE_CURRENCIES: dict[str, Currency] = _table()


def currency_get(code: str | Currency) -> Currency:
    """The Stripe currency `code` names (any case); raises UnknownCurrency otherwise."""
    if isinstance(code, Currency):
        return code
    currency = STRIPE_CURRENCIES.get((code or "").strip().lower())
    if currency is None:
        raise UnknownCurrency(f"Stripe does not charge in {code!r}.")
    return currency


def currency_any(code: str) -> Currency:
    """Like currency_get, but also a currency Stripe does not take (an old order's, a price
    stored before a currency was retired), with ISO 4217's minor unit as Babel knows it."""
    try:
        return currency_get(code)
    except UnknownCurrency:
        label = (code or "").strip().upper()
        if label not in list_currencies():
            raise
        return Currency(label.lower(), get_currency_precision(label))


def shop_currency() -> str:
    """settings.SHOP_CURRENCY, lower case (Product.currency's default)."""
    return str(settings.SHOP_CURRENCY).strip().lower()


def shop_locale() -> str:
    return str(settings.SHOP_LOCALE)


def locale_problem(locale: str) -> str | None:
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        return f"Babel knows no locale {locale!r} (examples: en_US, en_IE, de_DE, fr_FR, ja_JP)."
    return None


# --- showing amounts -------------------------------------------------------------------


def _units(amount: int, currency: Currency) -> Decimal:
    """Minor units as a Decimal of units, with the decimals the currency is written with
    (all of them if the amount is not a whole number of steps: never rounded away)."""
    value = Decimal(amount).scaleb(-currency.exponent)
    if amount % currency.step == 0:
        value = value.quantize(Decimal(1).scaleb(-currency.decimals))
    return value


def amount_decimal(amount: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal of units (for exports and reports): 1250 EUR ->
    12.50, 1250 JPY -> 1250, 12340 KWD -> 12.340, 50000 ISK -> 500."""
    return _units(int(amount), currency_any(currency))


@lru_cache(maxsize=8192)
def _format(amount: int, code: str, locale: str) -> str:
    try:
        currency = currency_any(code)
    except UnknownCurrency:
        return f"{amount} {code.upper()}"  # not a currency at all: say what is stored
    # decimal_quantization=False: Babel never rounds an amount to fewer decimals than it has.
    return format_currency(
        _units(amount, currency), currency.label, locale=locale, decimal_quantization=False
    )


def format_money(amount: int, currency: str, *, locale: str | None = None) -> str:
    """An amount in minor units as people read it: 1250 EUR -> "€12.50" (en_US),
    "12,50 €" (de_DE); 1250 JPY -> "¥1,250"; 12340 KWD -> "KWD 12.340".

    Babel takes ~60 µs per call and a catalog page shows the same few prices over and
    over, so results are cached per (amount, currency, locale).
    """
    return _format(int(amount), (currency or "").strip().lower(), locale or shop_locale())


def amount_text(amount: int, currency: str | Currency, *, locale: str | None = None) -> str:
    """An amount as a staff member would type it back: 1250 EUR -> "12.50" ("12,50" in
    de_DE), without grouping or symbol, so that price_parse reads it back unchanged."""
    value = _units(int(amount), currency_any(currency) if isinstance(currency, str) else currency)
    return str(value).replace(".", get_decimal_symbol(locale or shop_locale()))


# --- reading prices --------------------------------------------------------------------

_SPACES = {" ", "\u00a0", "\u202f", "\u2009"}


def price_example(currency: str | Currency, *, locale: str | None = None) -> str:
    """A price written the way price_parse reads it: "12.50" EUR, "1200" JPY, "1.250" KWD."""
    currency = currency_get(currency)
    return amount_text(1250 if currency.decimals else 1200, currency, locale=locale)


def price_parse(text: str, *, currency: str | Currency, locale: str | None = None) -> int:
    """A price typed by a person, in minor units: "12.50" EUR -> 1250, "1,250" JPY -> 1250,
    "12.340" KWD -> 12340.

    Read the way `locale` (default SHOP_LOCALE) writes numbers: its decimal symbol, and
    its grouping if used at all (en_US "1,250.00"; de_DE "1.250,00", so "12,50" there).
    Only ASCII digits and those two symbols are accepted: no sign, exponent or "NaN".
    Raises MoneyError, with a message for the person typing, for anything else, for more
    decimals than the currency has, for zero, for more than Stripe can charge, and for an
    amount Stripe cannot charge (3.125 KWD, 12.50 ISK).
    """
    currency = currency_get(currency)
    locale = locale or shop_locale()
    decimal_symbol, group_symbol = get_decimal_symbol(locale), get_group_symbol(locale)
    example = price_example(currency, locale=locale)
    raw = (text or "").strip()
    if not raw:
        raise MoneyError("Enter a price.")
    if raw.startswith("-"):
        raise MoneyError("A price cannot be negative.")
    if group_symbol in _SPACES:  # people type a plain space where the locale has a narrow one
        raw = "".join(group_symbol if char in _SPACES else char for char in raw)
    allowed = set("0123456789") | {decimal_symbol, group_symbol}
    if len(raw) > 32 or not set(raw) <= allowed:
        raise MoneyError(f"Enter a price such as {example}.")
    try:
        value = parse_decimal(raw, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation):
        raise MoneyError(f"Enter a price such as {example}.") from None
    minor = value.scaleb(currency.exponent)
    if minor != minor.to_integral_value():
        if currency.decimals == 0:
            raise MoneyError(f"{currency.label} prices are whole numbers, such as {example}.")
        raise MoneyError(
            f"{currency.label} prices have at most {currency.decimals} decimals, such as {example}."
        )
    amount = int(minor)
    if amount <= 0:
        raise MoneyError("Enter a price above zero.")
    if amount > MAX_AMOUNT:
        most = format_money(MAX_AMOUNT - MAX_AMOUNT % currency.step, currency.code, locale=locale)
        raise MoneyError(f"Stripe charges at most {most} at a time.")
    problem = amount_problem(amount, currency)
    if problem:
        raise MoneyError(problem)
    return amount


def amount_problem(amount: int, currency: str | Currency) -> str | None:
    """Why Stripe cannot charge `amount` (minor units) of `currency`, or None if it can."""
    currency = currency_get(currency)
    if amount % currency.step == 0:
        return None
    lower = amount - amount % currency.step
    upper = lower + currency.step
    choices = " or ".join(amount_text(choice, currency) for choice in (lower, upper) if choice > 0)
    if currency.step == currency.scale:
        return f"Stripe charges {currency.label} in whole units only: enter {choices}."
    step = amount_text(currency.step, Currency(currency.code, currency.exponent))
    return f"Stripe charges {currency.label} in steps of {step}: enter {choices}."


def amount_round(amount: int | Decimal, currency: str | Currency) -> int:
    """`amount` (minor units, maybe a fraction of one) rounded half up to the nearest
    amount Stripe can charge, never to 0: 3844.5 KWD fils -> 3840, 3845 -> 3850."""
    currency = currency_get(currency)
    steps = (Decimal(amount) / currency.step).to_integral_value(rounding=ROUND_HALF_UP)
    return max(int(steps) * currency.step, currency.step)


def amount_convert(amount: int, *, source: Currency, target: Currency, rate: Decimal) -> int:
    """`amount` of `source` at `rate` units of `target` per unit of `source`, in `target`'s
    minor units, rounded half up to an amount Stripe can charge: 1250 EUR at 161.2 is 2015
    JPY (12.50 × 161.2 = 2015.00)."""
    units = Decimal(amount).scaleb(-source.exponent) * rate
    return amount_round(units.scaleb(target.exponent), target)  # rounded once, to a step


# --- the smallest charge ---------------------------------------------------------------


def minimum_charge(currency: str | None = None) -> int | None:
    """The smallest order total the shop takes, in minor units: Stripe's minimum for the
    currency, raised to SHOP_MINIMUM_CHARGE when that is higher; None when neither is known.
    """
    currency_ = currency_get(currency or shop_currency())
    floors = [currency_.minimum] if currency_.minimum else []
    configured = str(getattr(settings, "SHOP_MINIMUM_CHARGE", "") or "").strip()
    if configured:
        # Written in the environment with a "." decimal point, whatever the shop's locale.
        floors.append(price_parse(configured, currency=currency_, locale="en_US"))
    return max(floors) if floors else None


def minimum_problem(total: int, currency: str | None = None) -> str | None:
    """Why an order of `total` (minor units) cannot be paid for, being under the minimum
    charge, or None. Meant for the shopper: shown on the cart and by a refused checkout."""
    code = currency or shop_currency()
    try:
        minimum = minimum_charge(code)
    except UnknownCurrency:
        return None  # not a currency Stripe takes: the checkout refuses it anyway
    if minimum is None or total <= 0 or total >= minimum:
        return None
    return (
        f"The smallest payment we can take is {format_money(minimum, code)}; your order "
        f"comes to {format_money(total, code)}. Add a little more to check out."
    )
