"""Refunds: staff ask for one, Stripe confirms it (charge.refunded).

A refund is requested with one idempotency key per order, so asking again (the
sweeper after a failure) never refunds twice.
"""

import logging
from collections import Counter
from collections.abc import Mapping

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from catalog import inventory
from catalog.models import StockReservation
from checkout import gateway
from checkout.exceptions import UnknownOrder
from checkout.models import Order

logger = logging.getLogger(__name__)

S = Order.Status


@transaction.atomic
def order_refund_start(
    *, order_id: int, restock: bool, reason: str, staff: User | None = None
) -> bool:
    """Staff refund of a paid order in full. The order becomes refunded when Stripe
    confirms (charge.refunded). `reason` is written for the shopper; `staff` is kept
    for staff only. Returns False when the order is not paid."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != S.PAID:
        return False
    order.status = S.REFUNDING
    order.refunding_at = timezone.now()
    order.refund_reason = reason
    order.restock_on_refund = restock
    order.refund_requested_by = staff
    order.save()
    transaction.on_commit(lambda: order_refund_request(order_id=order.pk))
    return True


def order_refund_request(*, order_id: int) -> None:
    """Ask Stripe to refund a refunding order. Idempotent (one key per order): running
    it again, from the sweeper after a failure, never refunds twice."""
    order = Order.objects.get(pk=order_id)
    if order.status != S.REFUNDING or order.stripe_refund_id:
        return
    if not order.stripe_payment_intent_id:
        Order.objects.filter(pk=order.pk).update(
            needs_review=True, review_reason="Refund needed but no payment reference is known."
        )
        return
    try:
        refund_id = gateway.refund_create(
            payment_intent=order.stripe_payment_intent_id,
            order_id=order.pk,
            idempotency_key=f"order-{order.pk}-refund",
        )
    except gateway.GatewayError:
        logger.exception("order %s: refund request failed; the sweeper retries", order.pk)
        return
    Order.objects.filter(pk=order.pk, stripe_refund_id="").update(stripe_refund_id=refund_id)


def metadata_order_id(obj: Mapping) -> int | None:
    """The order id a Stripe object carries in its metadata, if it is one."""
    raw = str((obj.get("metadata") or {}).get("order_id", ""))
    return int(raw) if raw.isdigit() else None


def order_for_payment(*, payment_intent_id: str, order_id: int | None) -> Q | None:
    """The condition that finds the order of a payment, or None when nothing names one."""
    query = None
    if payment_intent_id:
        query = Q(stripe_payment_intent_id=payment_intent_id)
    if order_id is not None:
        query = Q(pk=order_id) if query is None else query | Q(pk=order_id)
    return query


@transaction.atomic
def order_mark_refunded(*, payment_intent_id: str, order_id: int | None, fully: bool) -> Order:
    """Stripe confirmed a refund (charge.refunded). A full refund ends the order as
    refunded; staff may have asked for the units to go back on hand, which happens once."""
    query = order_for_payment(payment_intent_id=payment_intent_id, order_id=order_id)
    order = (
        Order.objects.select_for_update().filter(query).order_by("pk").first() if query else None
    )
    if order is None:
        raise UnknownOrder(f"no order for payment {payment_intent_id!r}")
    if not fully:
        if not order.needs_review:
            order.needs_review = True
            order.review_reason = "Partially refunded in Stripe."
            order.save()
        return order
    if order.status == S.REFUNDED:
        return order
    now = timezone.now()
    order.status = S.REFUNDED
    order.refunded_at = now
    order.stripe_payment_intent_id = order.stripe_payment_intent_id or payment_intent_id
    # Held units go back to the shop; paid units no longer wait to be shipped.
    order.reservations.filter(
        status__in=[StockReservation.Status.ACTIVE, StockReservation.Status.CONSUMED]
    ).update(status=StockReservation.Status.RELEASED)
    # Only a paid order took units off stock on hand; only then can they go back.
    if order.paid_at is not None and order.restock_on_refund and not order.stock_restored:
        restock: Counter[int] = Counter()
        for product_id, quantity in order.lines.exclude(product=None).values_list(
            "product_id", "quantity"
        ):
            restock[product_id] += quantity
        inventory.stock_restock_refund(lines=restock, order_id=order.pk)
        order.stock_restored = True
    order.save()
    return order
