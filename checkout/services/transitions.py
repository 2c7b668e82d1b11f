"""Bringing an order in line with its Checkout Session: paid, processing or canceled.

Every transition is a conditional change made under a row lock on the order, inside a
transaction, so a late, repeated or concurrent event is a no-op. Locks are taken in
one order everywhere: the order row first, then its products by id.

A transition called inside a transaction joins it without a savepoint (the webhook
records its event as processed in the transaction that applies it): an error inside
the transition rolls that whole transaction back. Outside one it commits on its own.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog import inventory
from catalog.models import Product, StockReservation
from checkout import gateway
from checkout.exceptions import UnknownOrder
from checkout.models import Order, OrderLine, OrderNotification, ShippingRate
from checkout.services.cart import cart_remove_bought
from checkout.services.notifications import notification_queue, notifications_queue_once
from checkout.services.refunds import order_refund_request

logger = logging.getLogger(__name__)

S = Order.Status
OPEN_STATUSES = (S.PENDING, S.PROCESSING)


def order_fulfil(*, session_id: str) -> Order:
    """Bring the order of a Checkout Session in line with what Stripe says of it.

    Called by the webhook, the success page and the sweeper; safe to run any number of
    times, concurrently: the order is fulfilled at most once. Raises GatewayError when
    Stripe cannot be reached and UnknownOrder when the session names no order here.
    """
    return order_sync_from_session(session=gateway.session_retrieve(session_id=session_id))


def order_sync_from_session(*, session: gateway.CheckoutSession) -> Order:
    """Apply what `session` says to its order, and return the order.

    - complete and paid (or needing no payment): the order is fulfilled
      (`order_mark_paid`);
    - complete but unpaid (a delayed method): processing, or canceled when Stripe
      reports the payment intent failed;
    - expired: canceled, holds released;
    - open: nothing changes.

    Each step is idempotent and never goes backwards, so a stale session read later
    than a newer one changes nothing. Raises UnknownOrder when the session names no
    order of this shop, or an order whose own session is another one (a forged or
    crossed reference); GatewayError when Stripe must be asked and cannot be reached.
    """
    order_id = session.order_id
    if not order_id:
        raise UnknownOrder(f"session {session.id} names no order of this shop")
    if session.status == "complete" and session.payment_status != "unpaid":
        # The webhook storm's path: order_mark_paid checks the order against the session
        # under the order's row lock, so no read comes before the lock.
        return order_mark_paid(order_id=order_id, session=session)
    # Checked before Stripe is asked anything about it (the delayed payment below).
    _order_check(order_id=order_id, session=session)
    if session.status == "complete":
        status = (
            gateway.payment_intent_status(payment_intent_id=session.payment_intent)
            if session.payment_intent
            else "processing"
        )
        if status in ("requires_payment_method", "canceled"):
            return order_cancel(
                order_id=order_id, reason="The delayed payment failed", payment_failed=True
            )
        return order_mark_processing(order_id=order_id, session=session)
    if session.status == "expired":
        return order_cancel(order_id=order_id, reason="The checkout expired")
    return Order.objects.get(pk=order_id)


def _order_check(*, order_id: int, session: gateway.CheckoutSession) -> None:
    """UnknownOrder unless `order_id` is an order whose session `session` may be: the
    check order_mark_paid makes under the lock, made here without one."""
    found = Order.objects.filter(pk=order_id).values_list("pk", "stripe_session_id").first()
    problem = _session_problem(session, found)
    if problem is not None:
        raise UnknownOrder(problem)


def _session_problem(
    session: gateway.CheckoutSession, found: tuple[int, str | None] | None
) -> str | None:
    """Why `session` is not the session of the order `found` (its id and stored session
    id; None: no such order), or None when it is. An order whose session id is not
    stored yet takes this one; another stored id means a forged or crossed reference."""
    if found is None:
        return f"session {session.id} names no order of this shop"
    order_id, order_session_id = found
    if order_session_id and order_session_id != session.id:
        return f"session {session.id} is not the session of order {order_id}"
    return None


# Every field _record_stripe_fields may set: a transition that records them saves these.
_STRIPE_FIELDS = (
    "stripe_session_id",
    "stripe_payment_intent_id",
    "stripe_amount_total",
    "stripe_currency",
    "shipping_name",
    "shipping_address",
    "shipping_amount",
    "shipping_rate",
    "shipping_rate_name",
    "amount_tax",
    "amount_discount",
)


def _record_stripe_fields(order: Order, session: gateway.CheckoutSession) -> None:
    """Keep what Stripe reports of the payment: amounts, shipping, tax, discount (the
    fields of _STRIPE_FIELDS)."""
    order.stripe_session_id = order.stripe_session_id or session.id
    order.stripe_payment_intent_id = session.payment_intent or order.stripe_payment_intent_id
    order.stripe_amount_total = session.amount_total
    order.stripe_currency = session.currency
    if session.shipping_address and not order.shipping_address_corrected_at:
        order.shipping_name = session.shipping_name
        order.shipping_address = session.shipping_address
    order.shipping_amount = session.shipping_amount
    offer = _chosen_offer(order=order, session=session)
    if offer is not None:
        order.shipping_rate_id = (
            ShippingRate.objects.filter(pk=offer["rate_id"]).values_list("pk", flat=True).first()
        )
        order.shipping_rate_name = offer["name"]
    order.amount_tax = session.amount_tax
    order.amount_discount = session.amount_discount


def _chosen_offer(*, order: Order, session: gateway.CheckoutSession) -> dict | None:
    """The offered rate the shopper chose at Stripe (by its place among the options)."""
    index = session.chosen_option_index
    if index is None or index >= len(order.shipping_offered):
        return None
    return order.shipping_offered[index]


def order_mark_paid(*, order_id: int, session: gateway.CheckoutSession) -> Order:
    """Fulfil a paid order exactly once: decrement stock, consume holds, clear the cart.

    Locks the order, then its products in id order. Raises UnknownOrder, having changed
    nothing, when there is no such order or its own session is another one than
    `session` (checked under the lock: no read before it). An order already paid,
    refunding or refunded is returned unchanged. Three steps:

    1. the amount check: an amount or currency that differs from the order's flags it
       for review and fulfils nothing;
    2. stock gone: if the hold lapsed and the stock went to someone else, the order
       moves to refunding and a full refund is requested on commit;
    3. otherwise stock is decremented and the holds consumed.

    A canceled order that Stripe reports paid is fulfilled the same way: paid money is
    never kept without goods.

    Inside a transaction it joins it without a savepoint; UnknownOrder is raised after
    its block, so a caller's transaction that catches it carries on.
    """
    with transaction.atomic(savepoint=False):
        try:
            order: Order | None = Order.objects.select_for_update().get(pk=order_id)
        except Order.DoesNotExist:
            order = None
        problem = _session_problem(
            session, (order.pk, order.stripe_session_id) if order is not None else None
        )
        if order is not None and problem is None:
            _order_pay(order=order, session=session)
    if order is None or problem is not None:
        raise UnknownOrder(problem)
    return order


def _order_pay(*, order: Order, session: gateway.CheckoutSession) -> None:
    """order_mark_paid's steps, on the order locked in the current transaction."""
    if order.status in (S.PAID, S.REFUNDING, S.REFUNDED):
        return
    _record_stripe_fields(order, session)
    if not _amount_matches(order=order, session=session):
        return

    now = timezone.now()
    lines = list(order.lines.all())
    needed: Counter[int] = Counter()
    for line in lines:
        needed[line.product_id or 0] += line.quantity
    products = inventory.products_lock(ids=needed)
    short = _lines_short_of_stock(
        order=order, lines=lines, needed=needed, products=products, now=now
    )
    if short:
        _order_refund_for_stock_gone(order=order, short=short, now=now)
        return

    inventory.stock_sell(products=products, needed=needed, order_id=order.pk)
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        status=StockReservation.Status.CONSUMED
    )
    order.status = S.PAID
    order.paid_at = now
    order.save(update_fields=[*_STRIPE_FIELDS, "status", "paid_at", "updated_at"])
    if order.from_cart:
        cart_remove_bought(user_id=order.user_id, needed=needed)
    # Queued in this transaction: the emails go if and only if the payment commits. This
    # runs once per order (it is paid once, under its row lock, and never leaves paid
    # for a status that leads here again), so they are written without looking first.
    notifications_queue_once(
        order=order,
        kinds=[OrderNotification.Kind.CONFIRMED, OrderNotification.Kind.STAFF_NEW_ORDER],
    )


def amount_problem(*, order: Order, session: gateway.CheckoutSession) -> str | None:
    """The one amount check (DESIGN.md): what is wrong with what Stripe took, or None.

    Stripe's amount_total must equal the order's items + shipping + exclusive tax -
    discount, each as Stripe reports it, in the order's currency; and the shipping
    must be the price of the rate the shop offered that the shopper chose (no offer:
    no shipping charged).
    """
    if session.currency != order.currency:
        return (
            f"Stripe took {session.currency.upper() or 'no currency'} for an order in "
            f"{order.currency.upper()}"
        )
    if order.shipping_offered:
        offer = _chosen_offer(order=order, session=session)
        if offer is None:
            return f"the shipping rate Stripe reports ({session.shipping_rate}) was not offered"
        if session.shipping_amount != offer["amount"]:
            return (
                f"shipping of {session.shipping_amount} for the rate {offer['name']!r} "
                f"offered at {offer['amount']}"
            )
    elif session.shipping_amount:
        return f"shipping of {session.shipping_amount} charged where none was offered"
    exclusive_tax = session.amount_tax if _tax_is_exclusive() else 0
    expected = (
        order.items_amount + session.shipping_amount + exclusive_tax - session.amount_discount
    )
    if session.amount_total != expected:
        return (
            f"Stripe took {session.amount_total} where items {order.items_amount} + shipping "
            f"{session.shipping_amount} + tax {exclusive_tax} - discount "
            f"{session.amount_discount} make {expected}"
        )
    return None


def _tax_is_exclusive() -> bool:
    """Tax Stripe adds on top of prices (exclusive) is part of what it takes; inclusive
    tax is inside the prices already."""
    return settings.STRIPE_TAX_ENABLED and settings.TAX_BEHAVIOR == "exclusive"


def _amount_matches(*, order: Order, session: gateway.CheckoutSession) -> bool:
    """True when the amount check passes; otherwise the order is saved flagged for
    review (a person looks before anything ships or is refunded) and not fulfilled."""
    problem = amount_problem(order=order, session=session)
    if problem is None:
        return True
    order.needs_review = True
    order.review_reason = f"{problem}; not fulfilled."
    order.save()
    logger.error("order %s: amount mismatch: %s", order.pk, order.review_reason)
    return False


def _lines_short_of_stock(
    *,
    order: Order,
    lines: list[OrderLine],
    needed: Counter[int],
    products: dict[int, Product],
    now: datetime,
) -> list[str]:
    """Names of the lines whose stock, less other shoppers' live holds, no longer covers
    them. `products` are locked (the order row is locked before them)."""
    held_by_others = (
        StockReservation.objects.active(now=now)
        .filter(product_id__in=needed)
        .exclude(order=order)
        .held_by_product()
    )
    return [
        line.name
        for line in lines
        if line.product_id is None
        or line.product_id not in products
        or products[line.product_id].stock_on_hand - held_by_others.get(line.product_id, 0)
        < needed[line.product_id]
    ]


def _order_refund_for_stock_gone(*, order: Order, short: list[str], now: datetime) -> None:
    order.status = S.REFUNDING
    order.refunding_at = now
    order.refund_reason = "Sold out before the payment was confirmed: " + ", ".join(short)
    order.save()
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        status=StockReservation.Status.RELEASED
    )
    logger.warning("order %s: paid after its stock was gone; refunding", order.pk)
    transaction.on_commit(lambda: order_refund_request(order_id=order.pk))


@transaction.atomic(savepoint=False)
def order_mark_processing(*, order_id: int, session: gateway.CheckoutSession) -> Order:
    """A delayed payment method was accepted but not yet confirmed: keep the hold longer."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != S.PENDING:
        return order
    now = timezone.now()
    _record_stripe_fields(order, session)
    order.status = S.PROCESSING
    order.processing_at = now
    order.save()
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        expires_at=now + timedelta(hours=settings.STOCK_HOLD_ASYNC_HOURS)
    )
    return order


@transaction.atomic(savepoint=False)
def order_cancel(*, order_id: int, reason: str, payment_failed: bool = False) -> Order:
    """Cancel a pending or processing order and release its hold; otherwise a no-op.
    `payment_failed`: a payment was attempted and failed (a delayed method): the order
    stays in the shopper's history, marked so, and they are emailed (they left Stripe's
    page believing they had paid; a card declined there is shown there, and tells the
    shop nothing)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in OPEN_STATUSES:
        return order
    order.status = S.CANCELED
    order.canceled_at = timezone.now()
    order.cancel_reason = reason
    if payment_failed:
        order.payment_failed_at = order.canceled_at
    order.save()
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        status=StockReservation.Status.RELEASED
    )
    if payment_failed:
        notification_queue(order=order, kind=OrderNotification.Kind.PAYMENT_FAILED)
    return order
