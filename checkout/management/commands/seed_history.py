from django.core.management.base import BaseCommand, CommandError

from checkout.demo_history import HistoryError, history_seed


class Command(BaseCommand):
    help = (
        "Add a demo history of sales: about --per-day orders a day for --days days, each "
        "made through the shop's checkout and paid (or abandoned, some refunded later) at "
        "the Stripe emulator that STRIPE_API_BASE names, then dated back to its day. "
        "Afterwards reconcile_stripe and check_inventory agree. Never runs against Stripe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="days of history (90)")
        parser.add_argument(
            "--per-day", type=float, default=4.0, help="orders a day on average (4)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")

    def handle(self, *args, days: int, per_day: float, seed: int, **options) -> None:
        if not 1 <= days <= 1000:
            raise CommandError("--days must be between 1 and 1000")
        if not 0 < per_day <= 100:
            raise CommandError("--per-day must be above 0 and at most 100")
        try:
            result = history_seed(days=days, per_day=per_day, seed=seed, progress=self.stdout.write)
        except HistoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(str(result)))
