"""The sweeper (`manage.py sweep_checkouts`): settles what webhooks and shoppers left
open. Idempotent, and safe to run on several hosts at once."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from catalog.models import StockReservation
from checkout import gateway, resilience
from checkout.exceptions import UnknownOrder
from checkout.models import Cart, Order
from checkout.services.refunds import order_refund_request
from checkout.services.transitions import (
    OPEN_STATUSES,
    order_cancel,
    order_fulfil,
    order_sync_from_session,
)

logger = logging.getLogger(__name__)

S = Order.Status


@dataclass
class SweepSummary:
    expired: int = 0
    reconciled: int = 0
    refunds_retried: int = 0
    holds_released: int = 0
    carts_deleted: int = 0
    errors: int = 0
    deferred: int = 0  # left for a later run: Stripe's breaker was open

    def __str__(self) -> str:
        return (
            f"sweep_checkouts: {self.expired} lapsed checkouts closed, {self.reconciled} "
            f"orders reconciled, {self.refunds_retried} refunds retried, "
            f"{self.holds_released} stale holds released, {self.carts_deleted} old carts "
            f"deleted, {self.errors} errors"
            + (f", {self.deferred} left while Stripe is unavailable" if self.deferred else "")
        )


def _lease(order_id: int, now: datetime) -> bool:
    """Claim an order for two minutes with a conditional update: on any database, only
    one sweeper process wins it, without holding a lock while Stripe is called."""
    return bool(
        Order.objects.filter(pk=order_id)
        .filter(Q(sweep_lease_until__isnull=True) | Q(sweep_lease_until__lt=now))
        .update(sweep_lease_until=now + timedelta(minutes=2))
    )


def checkouts_sweep(*, now: datetime | None = None) -> SweepSummary:
    """Settle what webhooks and shoppers left open. Idempotent; safe on several hosts.

    1. Pending orders whose hold lapsed: expire the session (or fulfil it if it was paid).
    2. Pending and processing orders older than a few minutes: reconcile through Stripe,
       in case a webhook never came.
    3. Refunding orders whose refund request failed: ask again (same idempotency key).
    4. Active holds past their expiry: mark them released (they already count for nothing).
    5. Anonymous carts untouched for 30 days: delete.

    While Stripe's breaker is open, the orders that need Stripe (1-3) are neither leased
    nor tried: they are counted as deferred and the next run takes them.
    """
    now = now or timezone.now()
    summary = SweepSummary()
    reconcile_before = now - timedelta(minutes=settings.SWEEP_RECONCILE_AFTER_MINUTES)
    candidates = Order.objects.filter(
        Q(status=S.PENDING, checkout_expires_at__lt=now)
        | Q(status__in=OPEN_STATUSES, created_at__lt=reconcile_before)
        | Q(status=S.REFUNDING, stripe_refund_id="", refunding_at__lt=now - timedelta(minutes=1))
    ).values_list(
        "pk", "status", "stripe_session_id", "checkout_expires_at", "stripe_payment_intent_id"
    )
    for order_id, status, session_id, expires_at, payment_intent in list(
        candidates.order_by("pk")[:500]
    ):
        # A refund of an order with no payment (a 100 % discount) asks Stripe nothing.
        asks_stripe = bool(payment_intent) if status == S.REFUNDING else bool(session_id)
        if asks_stripe and not resilience.available():
            summary.deferred += 1
            continue
        if not _lease(order_id, now):
            continue
        try:
            if status == S.REFUNDING:
                order_refund_request(order_id=order_id)
                summary.refunds_retried += 1
            elif not session_id:
                # The session was never stored: if Stripe made one and it gets paid, the
                # webhook still finds this order through client_reference_id.
                order_cancel(order_id=order_id, reason="The checkout could not be opened")
                summary.expired += 1
            elif status == S.PENDING and expires_at and expires_at < now:
                order_sync_from_session(session=gateway.session_expire(session_id=session_id))
                summary.expired += 1
            else:
                order_fulfil(session_id=session_id)
                summary.reconciled += 1
        except (gateway.GatewayError, UnknownOrder):
            logger.exception("sweep: order %s could not be settled", order_id)
            summary.errors += 1
        except Exception:
            # One order that cannot be settled must not keep the others, the holds and
            # the carts waiting: it is logged, counted, and tried again next run.
            logger.exception("sweep: order %s failed unexpectedly", order_id)
            summary.errors += 1
    summary.holds_released = (
        StockReservation.objects.filter(status=StockReservation.Status.ACTIVE, expires_at__lt=now)
        .exclude(order__status=S.PROCESSING)
        .update(status=StockReservation.Status.RELEASED)
    )
    _, deleted = Cart.objects.filter(
        user__isnull=True, updated_at__lt=now - timedelta(days=30)
    ).delete()
    summary.carts_deleted = deleted.get("checkout.Cart", 0)
    return summary
