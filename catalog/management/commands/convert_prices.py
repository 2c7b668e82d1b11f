"""manage.py convert_prices: bring every stored price into the shop's currency.

    python manage.py convert_prices --to jpy --rate 161.2      12.50 EUR -> 2,015 JPY
    python manage.py convert_prices --to jpy --relabel         1250 (stored) -> 1,250 JPY
    python manage.py convert_prices --to eur --from usd --rate 0.92 --dry-run

The fix that the stored prices check (catalog.E001) names after SHOP_CURRENCY changed.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from theme.money import (
    MAX_AMOUNT,
    Currency,
    MoneyError,
    amount_convert,
    amount_problem,
    currency_any,
    currency_get,
    format_money,
)

_RATE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")


class Command(BaseCommand):
    help = (
        "Convert the prices of every product not priced in --to (default SHOP_CURRENCY): "
        "--rate R multiplies each price by R (units of --to per unit of its currency), "
        "with each currency's minor unit and rounded half up to an amount Stripe can "
        "charge; --relabel keeps each stored amount and changes only its currency, for "
        "prices that were entered in --to already. All or nothing, in one transaction; "
        "prints each change."
    )
    # The stored prices check refuses to start the shop until this command has run: it
    # must run without it. It reads and writes only the price columns, so it works on a
    # database whose other migrations are still to come.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", dest="target", help="the new currency (default SHOP_CURRENCY)")
        parser.add_argument(
            "--from",
            dest="source",
            help="convert only the products priced in this currency (needed with --rate "
            "when products are priced in several)",
        )
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument("--rate", help="units of --to per one unit of the old currency")
        how.add_argument(
            "--relabel",
            action="store_true",
            help="keep the stored amounts (minor units), change only their currency",
        )
        parser.add_argument("--dry-run", action="store_true", help="print, change nothing")

    def handle(self, *args, **options) -> None:
        try:
            target = currency_get(options["target"] or settings.SHOP_CURRENCY)
        except MoneyError as error:
            raise CommandError(f"--to: {error}") from None
        rate = self._rate(options["rate"]) if options["rate"] is not None else None

        products = Product.objects.exclude(currency=target.code)
        if options["source"]:
            products = products.filter(currency=options["source"].strip().lower())
        rows = list(products.order_by("pk").values_list("pk", "name", "unit_amount", "currency"))
        if not rows:
            self.stdout.write(f"Nothing to convert: every product is priced in {target.label}.")
            self._remind(target)
            return
        sources = sorted({currency for *_rest, currency in rows})
        if rate is not None and len(sources) > 1:
            raise CommandError(
                f"Products are priced in {', '.join(c.upper() or '(none)' for c in sources)}: "
                "one rate cannot fit them all. Convert one currency at a time with --from."
            )

        changes, refused = [], []
        for pk, name, amount, code in rows:
            new, problem = self._converted(amount, code, target, rate)
            if problem:
                refused.append(f"{name} (#{pk}): {problem}")
            else:
                changes.append((pk, name, amount, code, new))
        if refused:
            raise CommandError(
                "Nothing was changed; these prices cannot be "
                + ("relabelled" if rate is None else "converted")
                + ":\n  "
                + "\n  ".join(refused)
            )

        for _pk, name, amount, code, new in changes:
            self.stdout.write(
                f"{name}: {format_money(amount, code)} -> {format_money(new, target.code)}"
            )
        verb = "relabelled" if rate is None else f"converted at {rate}"
        summary = (
            f"{len(changes)} product(s) {verb} from {', '.join(s.upper() for s in sources)} "
            f"to {target.label}"
        )
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {summary} would be; nothing was changed.")
            return
        self._apply(changes, target)
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))
        self._remind(target)

    def _rate(self, raw: str) -> Decimal:
        text = raw.strip()
        if not _RATE.fullmatch(text) or Decimal(text) <= 0:
            raise CommandError(f"--rate must be a positive number such as 161.2, got {raw!r}")
        return Decimal(text)

    @staticmethod
    def _converted(
        amount: int, code: str, target: Currency, rate: Decimal | None
    ) -> tuple[int, str | None]:
        """The new amount, or a reason it cannot be had."""
        if rate is None:
            new = amount  # --relabel: the stored minor units are right, only the label is not
            problem = amount_problem(new, target)
            if problem:
                return new, f"{new} is not an amount of {target.label} Stripe charges. {problem}"
        else:
            try:
                source = currency_any(code)
            except MoneyError:
                return 0, f"its currency {code!r} is unknown, so its minor unit is too"
            new = amount_convert(amount, source=source, target=target, rate=rate)
        if new > MAX_AMOUNT:
            return new, f"{format_money(new, target.code)} is more than Stripe charges at once"
        return new, None

    @staticmethod
    @transaction.atomic
    def _apply(changes: list[tuple[int, str, int, str, int]], target: Currency) -> None:
        now = timezone.now()
        for pk, name, amount, code, new in changes:
            # Conditional: a price changed since it was read is not overwritten.
            updated = Product.objects.filter(pk=pk, unit_amount=amount, currency=code).update(
                unit_amount=new, currency=target.code, updated_at=now
            )
            if not updated:
                raise CommandError(
                    f"{name} (#{pk}) changed while converting; nothing was changed. Run again."
                )

    def _remind(self, target: Currency) -> None:
        if target.code != settings.SHOP_CURRENCY:
            self.stdout.write(
                self.style.WARNING(
                    f"SHOP_CURRENCY is still {settings.SHOP_CURRENCY}: set it to {target.code} "
                    "before starting the shop."
                )
            )
