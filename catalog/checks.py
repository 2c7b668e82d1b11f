"""The shop refuses to start while stored prices disagree with SHOP_CURRENCY.

A price is kept with the currency it was entered in; changing the setting never
relabels it (12.50 EUR is not 1,250 JPY). Until `manage.py convert_prices` has
converted (or relabelled) the products, this check fails `manage.py check`, runserver,
migrate (so `make run` and docker compose stop before serving) and every management
command that runs checks; convert_prices itself does not.

It reads the database, which Django's own checks leave to the `database` tag; it is
untagged on purpose, so that `manage.py check` and runserver run it too. Where there is
no product table yet (a fresh database before migrate) or no database at all, it has
nothing to say.
"""

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError
from django.db.models import Count

from theme.money import STRIPE_CURRENCIES, shop_currency


@register()
def stored_prices_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    if app_configs is not None and not any(c.label == "catalog" for c in app_configs):
        return []
    shop = shop_currency()
    if shop not in STRIPE_CURRENCIES:
        return []  # theme.E001 says so; nothing can be converted to it
    from catalog.models import Product

    try:
        others = list(
            Product.objects.exclude(currency=shop)
            .order_by("currency")
            .values_list("currency")
            .annotate(products=Count("pk"))
        )
    except DatabaseError:
        return []
    if not others:
        return []
    found = ", ".join(f"{n} product(s) in {code.upper() or '(none)'}" for code, n in others)
    source = others[0][0] or "?"
    target = shop.upper()
    rate_hint = f"<{target} per 1 {source.upper()}>" if len(others) == 1 else "<rate>"
    from_hint = "" if len(others) == 1 else f" --from {source}"
    return [
        Error(
            f"Stored prices disagree with SHOP_CURRENCY={shop}: {found}. The shop does not "
            "relabel a price (12.50 EUR is not 1,250 JPY), so it will not start.",
            hint=(
                f"Convert them: `python manage.py convert_prices --to {shop}{from_hint} "
                f"--rate {rate_hint}`; if they were entered in {target} already, "
                f"`python manage.py convert_prices --to {shop} --relabel`. Or set "
                f"SHOP_CURRENCY back to {source}."
            ),
            id="catalog.E001",
        )
    ]
