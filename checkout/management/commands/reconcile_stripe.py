from datetime import UTC, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from checkout.periods import shop_time_zone
from checkout.services.reconciliation import DEFAULT_PERIOD
from checkout.services.reconciliation_runs import (
    discrepancies_of,
    reconciliation_queue_work,
    reconciliation_run,
)

USAGE_ERROR = 2  # bad options or Stripe unreachable; 1 means discrepancies


def _moment(text: str, *, end_of_day: bool) -> datetime:
    """A date (the start of that day in the shop's time zone, or the start of the next
    day with `end_of_day`) or an ISO date-time (UTC when it names no zone)."""
    try:
        day = parse_date(text)
        moment = None if day else parse_datetime(text)
    except ValueError:
        day = moment = None
    if day is not None:
        day = day + timedelta(days=1) if end_of_day else day
        return datetime.combine(day, time.min, tzinfo=shop_time_zone())
    if moment is None:
        raise CommandError(
            f"{text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM)",
            returncode=USAGE_ERROR,
        )
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = (
        "Compare what Stripe has (Checkout Sessions, payments, refunds) with the shop's "
        "orders for a period (default: the last 2 days). Prints one summary line, then "
        "each discrepancy with its Stripe id and amount; exits 1 when there is any, 0 "
        "otherwise (2: bad options, or Stripe could not be listed). Every run is stored "
        "and shown on the staff sales page. Run it daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            metavar="DATE",
            help="start of the period: YYYY-MM-DD (that day, in the shop's time zone) or an "
            "ISO date-time; default: 2 days ago",
        )
        parser.add_argument(
            "--until",
            metavar="DATE",
            help="end of the period: YYYY-MM-DD (that day included) or an ISO date-time; "
            "default: now",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="worker mode: run the reconciliations staff requested from the sales page, "
            "then exit 0 (run it every minute)",
        )
        parser.add_argument(
            "--daily",
            action="store_true",
            help="with --queue: also run one of the last 2 days when none was scheduled in "
            "the last 24 hours",
        )

    def handle(self, *args, since, until, queue, daily, **options) -> None:
        if queue:
            if since or until:
                raise CommandError("--queue takes no --since/--until", returncode=USAGE_ERROR)
            for run in reconciliation_queue_work(daily=daily):
                self.stdout.write(f"run #{run.pk} ({run.get_trigger_display()}): {run.summary}")
                for discrepancy in discrepancies_of(run):
                    self.stdout.write(self.style.ERROR(discrepancy.line()))
            return
        if daily:
            raise CommandError("--daily goes with --queue", returncode=USAGE_ERROR)
        now = timezone.now()
        start = _moment(since, end_of_day=False) if since else now - DEFAULT_PERIOD
        end = _moment(until, end_of_day=True) if until else now
        if end <= start:
            raise CommandError("--until must be after --since", returncode=USAGE_ERROR)
        run, result = reconciliation_run(since=start, until=end, now=now)
        self.stdout.write(run.summary)
        if result is None:
            raise CommandError(run.error or "Stripe could not be listed", returncode=USAGE_ERROR)
        for discrepancy in result.discrepancies:
            self.stdout.write(self.style.ERROR(discrepancy.line()))
        if not result.ok:
            raise CommandError(
                f"{len(result.discrepancies)} discrepancies between Stripe and the shop "
                f"(run #{run.pk})"
            )
