"""Read-only queries and derived views of a shopper's orders."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from checkout.models import Order

Status = Order.Status

# Statuses a shopper always sees. Pending orders show only while their checkout is
# open: an abandoned checkout is noise until the sweeper cancels it.
LISTED_STATUSES = (
    Status.PROCESSING,
    Status.PAID,
    Status.REFUNDING,
    Status.REFUNDED,
    Status.CANCELED,
)


def checkout_open_q(*, now: datetime | None = None) -> Q:
    """`Order.checkout_is_open` as a filter: pending, with a checkout URL, unexpired."""
    return Q(status=Status.PENDING, checkout_expires_at__gt=now or timezone.now()) & ~Q(
        stripe_checkout_url=""
    )


def order_list(*, user: User, now: datetime | None = None) -> QuerySet[Order]:
    """The shopper's orders for the dashboard, newest first, lines prefetched.

    Two queries when evaluated (orders, then all their lines), whatever their number.
    """
    return (
        Order.objects.filter(user=user)
        .filter(Q(status__in=LISTED_STATUSES) | checkout_open_q(now=now))
        .prefetch_related("lines")
        .order_by("-created_at", "-id")
    )


def order_get(*, user: User, pk: int) -> Order | None:
    """One of the shopper's own orders with its lines, or None (never another's)."""
    return Order.objects.filter(user=user, pk=pk).prefetch_related("lines").first()


@dataclass(frozen=True)
class SpentTotal:
    currency: str
    amount: int  # minor units
    orders: int


def paid_totals(*, user: User) -> list[SpentTotal]:
    """What the shopper has spent on paid orders, one entry per currency. One query."""
    rows = (
        Order.objects.filter(user=user, status=Status.PAID)
        .order_by("currency")
        .values("currency")
        .annotate(amount=Sum("amount_total"), orders=Count("id"))
    )
    return [SpentTotal(row["currency"], row["amount"], row["orders"]) for row in rows]


@dataclass(frozen=True)
class TimelineStep:
    key: str
    label: str
    at: datetime
    note: str = ""


def order_timeline(*, order: Order) -> list[TimelineStep]:
    """The steps the order went through, in lifecycle order, with the reason for a
    refund or a cancellation. Steps that did not happen are left out. No query."""
    refund_note_on = "refunding" if order.refunding_at else "refunded"
    candidates = [
        ("created", "Order placed", order.created_at, ""),
        ("processing", "Payment processing", order.processing_at, ""),
        ("paid", "Paid", order.paid_at, ""),
        ("refunding", "Refund requested", order.refunding_at, ""),
        ("refunded", "Refunded", order.refunded_at, ""),
        ("canceled", "Canceled", order.canceled_at, order.cancel_reason),
    ]
    # The lifecycle only moves forward, so its order is the chronological one; keeping
    # it (rather than sorting by time) stays right when two steps share an instant.
    return [
        TimelineStep(key, label, at, note or (order.refund_reason if key == refund_note_on else ""))
        for key, label, at, note in candidates
        if at is not None
    ]
