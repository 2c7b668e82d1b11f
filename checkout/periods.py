"""Periods of whole days in the shop's time zone, as staff reports count them."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

DEFAULT_DAYS = 30
MAX_DAYS = 366


def shop_time_zone() -> ZoneInfo:
    """The zone whose calendar days the reports count in."""
    return ZoneInfo(getattr(settings, "SHOP_TIME_ZONE", None) or settings.TIME_ZONE)


@dataclass(frozen=True)
class Period:
    """Whole days, `first` to `last` included, in `tz`."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.tz)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()} ({self.tz.key})"


def shop_today(*, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), shop_time_zone()).date()


def period_default(*, now: datetime | None = None) -> Period:
    """The last DEFAULT_DAYS days, today included."""
    today = shop_today(now=now)
    return Period(first=today - timedelta(days=DEFAULT_DAYS - 1), last=today, tz=shop_time_zone())


def period_of(first: date, last: date) -> Period:
    return Period(first=first, last=last, tz=shop_time_zone())
