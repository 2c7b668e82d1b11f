"""System checks of the money settings: run by `manage.py check`, runserver, migrate and
every management command, so a shop set up with a currency Stripe does not take, or a
locale Babel does not know, refuses to start instead of failing at its first sale."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from theme.money import STRIPE_CURRENCIES, MoneyError, locale_problem, minimum_charge


@register()
def money_settings_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    currency = str(settings.SHOP_CURRENCY).strip().lower()
    if currency not in STRIPE_CURRENCIES:
        errors.append(
            Error(
                f"SHOP_CURRENCY is {settings.SHOP_CURRENCY!r}, a currency Stripe does not "
                "charge in.",
                hint="Set SHOP_CURRENCY to one of Stripe's currencies (eur, usd, gbp, jpy, "
                "...; theme/money.py lists them).",
                id="theme.E001",
            )
        )
    problem = locale_problem(str(settings.SHOP_LOCALE))
    if problem:
        errors.append(
            Error(
                f"SHOP_LOCALE: {problem}",
                hint="Set SHOP_LOCALE to a Babel locale.",
                id="theme.E002",
            )
        )
    if currency in STRIPE_CURRENCIES and not problem:
        try:
            minimum_charge(currency)
        except MoneyError as error:
            errors.append(
                Error(
                    f"SHOP_MINIMUM_CHARGE is {settings.SHOP_MINIMUM_CHARGE!r}: {error}",
                    hint='Write it as an amount of the shop currency with a "." decimal '
                    'point, e.g. "2.00", or leave it empty for Stripe\'s minimum.',
                    id="theme.E003",
                )
            )
    return errors
