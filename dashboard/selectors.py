"""Read-only queries and derived views of a shopper's orders."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from checkout.models import Order

Status = Order.Status

# The history holds orders, not attempts: statuses a shopper always sees. Pending
# orders show only while their checkout is open; a canceled one only when a payment was
# attempted (a delayed payment that failed). A checkout backed out of before paying
# stays for staff in the admin.
LISTED_STATUSES = (
    Status.PROCESSING,
    Status.PAID,
    Status.REFUNDING,
    Status.REFUNDED,
)


def payment_attempted_q() -> Q:
    """Canceled after a payment was attempted: the delayed payment failed."""
    return Q(status=Status.CANCELED, payment_failed_at__isnull=False)


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
        .filter(Q(status__in=LISTED_STATUSES) | payment_attempted_q() | checkout_open_q(now=now))
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
        .annotate(amount=Sum(Coalesce("stripe_amount_total", "amount_total")), orders=Count("id"))
    )
    return [SpentTotal(row["currency"], row["amount"], row["orders"]) for row in rows]


@dataclass(frozen=True)
class TimelineStep:
    key: str
    label: str
    at: datetime
    note: str = ""


def order_timeline(*, order: Order) -> list[TimelineStep]:
    """The steps the order went through, payment and fulfilment, oldest first, with the
    reason for a refund or a cancellation and the tracking of a shipment. Steps that did
    not happen are left out. No query."""
    refund_note_on = "refunding" if order.refunding_at else "refunded"
    tracking = " ".join(part for part in (order.carrier, order.tracking_number) if part)
    candidates = [
        ("created", "Order placed", order.created_at, ""),
        ("processing", "Payment processing", order.processing_at, ""),
        ("paid", "Paid", order.paid_at, ""),
        ("packed", "Packed", order.packed_at, ""),
        ("shipped", "Shipped", order.shipped_at, tracking),
        ("delivered", "Delivered", order.delivered_at, ""),
        ("refunding", "Refund requested", order.refunding_at, ""),
        ("refunded", "Refunded", order.refunded_at, ""),
        ("canceled", "Canceled", order.canceled_at, order.cancel_reason),
    ]
    steps = [
        (
            at,
            index,
            TimelineStep(
                key, label, at, note or (order.refund_reason if key == refund_note_on else "")
            ),
        )
        for index, (key, label, at, note) in enumerate(candidates)
        if at is not None
    ]
    # Two axes (payment, fulfilment) interleave, so the steps after "placed" are ordered
    # by time; the lifecycle's own order settles steps that share an instant.
    first, rest = steps[0], sorted(steps[1:], key=lambda item: (item[0], item[1]))
    return [step for _, _, step in [first, *rest]]
