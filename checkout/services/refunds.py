"""Refunds: staff ask for one, Stripe confirms it (charge.refunded).

A refund is requested with one idempotency key per order, so asking again (the
sweeper after a failure) never refunds twice.
"""

import logging
from collections import Counter

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog import inventory
from catalog.models import StockReservation
from checkout import gateway
from checkout.exceptions import UnknownOrder
from checkout.models import Order, OrderNotification
from checkout.services.notifications import notification_queue

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
    if not order.stripe_payment_intent_id and order.total_charged == 0:
        order_refund_without_payment(order_id=order.pk)  # nothing was charged
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


@transaction.atomic
def order_mark_refunded(*, payment_intent_id: str, fully: bool) -> Order:
    """Stripe confirmed a refund (charge.refunded, as read back from Stripe). A full
    refund ends the order as refunded; staff may have asked for the units to go back on
    hand, which happens once.

    The order is found by its payment intent only, never by an order id in metadata: a
    refund of one payment can never refund another order. Raises UnknownOrder when no
    order has this payment.
    """
    order = (
        Order.objects.select_for_update()
        .filter(stripe_payment_intent_id=payment_intent_id)
        .order_by("pk")
        .first()
        if payment_intent_id
        else None
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
    order.stripe_payment_intent_id = order.stripe_payment_intent_id or payment_intent_id
    _order_refunded(order)
    return order


def _order_refunded(order: Order) -> None:
    """The order (locked) is refunded: release its units, restock what staff said is on
    the shelf (once), tell the shopper (once)."""
    order.status = S.REFUNDED
    order.refunded_at = timezone.now()
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
    notification_queue(order=order, kind=OrderNotification.Kind.REFUNDED)


@transaction.atomic
def order_refund_without_payment(*, order_id: int) -> Order:
    """Refund an order that took no money (a 100 % discount: no payment intent): there
    is nothing to return at Stripe, so it is refunded at once. Idempotent."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status == S.REFUNDING and order.total_charged == 0:
        _order_refunded(order)
    return order
