"""Orders, stock holds and payments: the order lifecycle of DESIGN.md section 5.

Every transition is a conditional change made under a row lock on the order, inside a
transaction, so a late, repeated or concurrent event is a no-op:

    pending ──(paid)──────────────► paid ──(refund)──► refunding ──► refunded
       │  └─(complete, unpaid)─► processing ─(async ok)─► paid
       │                             └─(async failed)─► canceled
       ├─(expired / canceled)─────► canceled
       └─(paid, stock gone)─► refunding ─(refund confirmed)─► refunded

Stock on hand changes only in `order_mark_paid` (and when staff restock a refund).
Locks are always taken in the same order: the order row first, then products by id.
Stripe is called outside any transaction; refunds and emails run on commit.
"""

import hashlib
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from catalog.models import Product
from checkout import gateway
from checkout.models import Cart, CartItem, Order, OrderLine, StockReservation, StripeEvent

logger = logging.getLogger(__name__)

S = Order.Status
OPEN_STATUSES = (S.PENDING, S.PROCESSING)


class CheckoutError(Exception):
    """A checkout that cannot start; the message is meant for the shopper."""


class EmptyCart(CheckoutError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class InsufficientStock(CheckoutError):
    def __init__(self, problems: dict[int, str]) -> None:
        self.problems = problems
        super().__init__("Some items are no longer available in the quantity you chose.")


class PaymentUnavailable(CheckoutError):
    def __init__(self) -> None:
        super().__init__(
            "We could not reach our payment provider. Nothing was charged; please try again "
            "in a minute."
        )


class UnknownOrder(Exception):
    """A Stripe object that names no order of this shop."""


# --- Starting a checkout ---------------------------------------------------------------


def _fingerprint(items: Mapping[int, int], prices: Mapping[int, int]) -> str:
    text = ";".join(f"{pid}:{qty}:{prices.get(pid, 0)}" for pid, qty in sorted(items.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _normalise(items: Mapping[int, int]) -> dict[int, int]:
    clean = {int(pid): int(qty) for pid, qty in items.items() if int(qty) > 0}
    too_many = {pid for pid, qty in clean.items() if qty > settings.CART_MAX_QUANTITY}
    if too_many:
        raise InsufficientStock(
            {pid: f"At most {settings.CART_MAX_QUANTITY} per order." for pid in too_many}
        )
    return clean


def checkout_start(
    *, user: User, items: Mapping[int, int], base_url: str, from_cart: bool = True
) -> Order:
    """Hold the stock for `items` ({product id: quantity}) and open a Checkout Session.

    Returns the order, whose `stripe_checkout_url` the shopper is sent to. An unchanged
    cart reuses its open session; any other open checkout of the shopper is expired
    first and its hold released. Raises EmptyCart, InsufficientStock (nothing is
    created) or PaymentUnavailable (the order is canceled and its hold released).
    """
    items = _normalise(items)
    if not items:
        raise EmptyCart()
    prices = dict(Product.objects.filter(pk__in=items).values_list("pk", "unit_amount"))
    fingerprint = _fingerprint(items, prices)

    reusable = _open_checkout_for(user=user, fingerprint=fingerprint, from_cart=from_cart)
    if reusable is not None:
        return reusable
    _checkouts_abandon(user=user)

    order = _order_create_with_holds(
        user=user, items=items, fingerprint=fingerprint, from_cart=from_cart
    )
    lines = [(line.name, line.unit_amount, line.quantity) for line in order.lines.all()]
    expires_at = timezone.now() + timedelta(minutes=settings.STOCK_HOLD_MINUTES, seconds=60)
    try:
        session = gateway.session_create(
            order_id=order.pk,
            email=user.email,
            currency=order.currency,
            lines=lines,
            success_url=base_url
            + reverse("checkout:success")
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=f"{base_url}{reverse('checkout:cancel')}?order={order.pk}",
            expires_at=expires_at,
            idempotency_key=f"order-{order.pk}-session",
        )
    except gateway.GatewayError:
        logger.exception("checkout: creating the Stripe session for order %s failed", order.pk)
        order_cancel(order_id=order.pk, reason="The payment provider could not be reached")
        raise PaymentUnavailable() from None
    Order.objects.filter(pk=order.pk).update(
        stripe_session_id=session.id,
        stripe_checkout_url=session.url or "",
        checkout_expires_at=session.expires_at or expires_at,
    )
    order.refresh_from_db()
    return order


def _open_checkout_for(*, user: User, fingerprint: str, from_cart: bool) -> Order | None:
    """The shopper's open checkout for exactly these lines, if Stripe still has it open."""
    margin = timezone.now() + timedelta(minutes=2)
    order = (
        Order.objects.filter(
            user=user,
            status=S.PENDING,
            cart_fingerprint=fingerprint,
            from_cart=from_cart,
            stripe_session_id__isnull=False,
            checkout_expires_at__gt=margin,
        )
        .order_by("-created_at")
        .first()
    )
    if order is None:
        return None
    try:
        session = gateway.session_retrieve(order.stripe_session_id)
        if session.status == "open" and session.url:
            return order
        order_sync_from_session(session=session)
    except (gateway.GatewayError, UnknownOrder):
        logger.warning("checkout: could not settle the open checkout of order %s", order.pk)
    return None


def _checkouts_abandon(*, user: User) -> None:
    """Expire the shopper's other open sessions (a changed cart) and release their holds.

    A session that turns out to be paid meanwhile is fulfilled instead. If Stripe
    cannot be reached, the old order is left for its hold to lapse and the sweeper.
    """
    for order in Order.objects.filter(user=user, status=S.PENDING):
        if not order.stripe_session_id:
            continue  # still being created, or failed: the sweeper settles it
        try:
            session = gateway.session_expire(order.stripe_session_id)
            if session.status == "expired":
                order_cancel(order_id=order.pk, reason="Replaced by a newer checkout")
            else:
                order_sync_from_session(session=session)
        except (gateway.GatewayError, UnknownOrder):
            logger.warning("checkout: could not close the earlier checkout %s", order.pk)


@transaction.atomic
def _order_create_with_holds(
    *, user: User, items: dict[int, int], fingerprint: str, from_cart: bool
) -> Order:
    """Lock the products in id order, check availability, create the order and its holds.

    On PostgreSQL the row locks serialize checkouts of the same products; on SQLite the
    IMMEDIATE transaction serializes all writers. Either way no two checkouts can both
    see the last unit as available.
    """
    now = timezone.now()
    products = {
        p.pk: p
        for p in list(Product.objects.select_for_update().filter(pk__in=items).order_by("pk"))
    }
    held = StockReservation.objects.active(now=now).filter(product_id__in=items).held_by_product()
    # One Checkout Session has one currency: the first product's decides.
    currency = products[min(products)].currency if products else settings.SHOP_CURRENCY
    problems: dict[int, str] = {}
    for pid, quantity in items.items():
        product = products.get(pid)
        if product is None or not product.is_active:
            problems[pid] = "This product is no longer sold."
            continue
        if product.currency != currency:
            problems[pid] = "This product is priced in another currency; buy it separately."
            continue
        available = max(product.stock_on_hand - held.get(pid, 0), 0)
        if quantity > available:
            problems[pid] = f"Only {available} available." if available else "Sold out."
    if problems:
        raise InsufficientStock(problems)

    order = Order.objects.create(
        user=user,
        email=user.email,
        currency=currency,
        amount_total=sum(products[pid].unit_amount * qty for pid, qty in items.items()),
        cart_fingerprint=fingerprint,
        from_cart=from_cart,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=products[pid],
            name=products[pid].name,
            unit_amount=products[pid].unit_amount,
            quantity=qty,
        )
        for pid, qty in sorted(items.items())
    )
    hold_until = now + timedelta(
        minutes=settings.STOCK_HOLD_MINUTES + settings.STOCK_HOLD_GRACE_MINUTES, seconds=60
    )
    StockReservation.objects.bulk_create(
        StockReservation(product_id=pid, order=order, quantity=qty, expires_at=hold_until)
        for pid, qty in sorted(items.items())
    )
    return order


def checkout_abandon(*, order: Order) -> Order:
    """The shopper came back through cancel_url: expire the session, release the hold.

    If Stripe says the session was paid after all, the order is fulfilled instead.
    """
    if order.status != S.PENDING:
        return order
    if order.stripe_session_id:
        try:
            session = gateway.session_expire(order.stripe_session_id)
            if session.status != "expired":
                return order_sync_from_session(session=session)
        except (gateway.GatewayError, UnknownOrder):
            # The hold is released now; should Stripe still take a payment on this
            # session, the webhook finds the canceled order and fulfils or refunds it.
            logger.warning("checkout: could not expire session of order %s", order.pk)
    return order_cancel(order_id=order.pk, reason="Canceled by the shopper")


# --- Confirming a payment --------------------------------------------------------------


def order_fulfil(*, session_id: str) -> Order:
    """Bring the order of a Checkout Session in line with what Stripe says of it.

    Called by the webhook, the success page and the sweeper; safe to run any number of
    times, concurrently: the order is fulfilled at most once. Raises GatewayError when
    Stripe cannot be reached and UnknownOrder when the session names no order here.
    """
    return order_sync_from_session(session=gateway.session_retrieve(session_id))


def order_sync_from_session(*, session: gateway.CheckoutSession) -> Order:
    order = Order.objects.filter(pk=session.order_id).first() if session.order_id else None
    if order is None:
        raise UnknownOrder(f"session {session.id} names no order of this shop")
    if order.stripe_session_id and order.stripe_session_id != session.id:
        raise UnknownOrder(f"session {session.id} is not the session of order {order.pk}")
    if session.status == "complete":
        if session.payment_status != "unpaid":
            return order_mark_paid(order_id=order.pk, session=session)
        status = (
            gateway.payment_intent_status(session.payment_intent)
            if session.payment_intent
            else "processing"
        )
        if status in ("requires_payment_method", "canceled"):
            return order_cancel(order_id=order.pk, reason="The delayed payment failed")
        return order_mark_processing(order_id=order.pk, session=session)
    if session.status == "expired":
        return order_cancel(order_id=order.pk, reason="The checkout expired")
    return order


def _record_stripe_fields(order: Order, session: gateway.CheckoutSession) -> None:
    order.stripe_session_id = order.stripe_session_id or session.id
    order.stripe_payment_intent_id = session.payment_intent or order.stripe_payment_intent_id
    order.stripe_amount_total = session.amount_total
    order.stripe_currency = session.currency


@transaction.atomic
def order_mark_paid(*, order_id: int, session: gateway.CheckoutSession) -> Order:
    """Fulfil a paid order exactly once: decrement stock, consume holds, clear the cart.

    Locks the order, then its products in id order. An order already paid, refunding or
    refunded is returned unchanged. An amount or currency that differs from the order's
    flags it for review and fulfils nothing. If the hold lapsed and the stock went to
    someone else, the order moves to refunding and a full refund is requested on commit.
    A canceled order that Stripe reports paid is fulfilled the same way: paid money is
    never kept without goods.
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status in (S.PAID, S.REFUNDING, S.REFUNDED):
        return order
    _record_stripe_fields(order, session)
    if session.amount_total != order.amount_total or session.currency != order.currency:
        order.needs_review = True
        order.review_reason = (
            f"Stripe reported {session.amount_total} {session.currency.upper()} for an order "
            f"of {order.amount_total} {order.currency.upper()}; not fulfilled."
        )
        order.save()
        logger.error("order %s: amount mismatch: %s", order.pk, order.review_reason)
        return order

    now = timezone.now()
    lines = list(order.lines.all())
    needed: Counter[int] = Counter()
    for line in lines:
        needed[line.product_id or 0] += line.quantity
    products = {
        p.pk: p
        for p in list(Product.objects.select_for_update().filter(pk__in=needed).order_by("pk"))
    }
    held_by_others = (
        StockReservation.objects.active(now=now)
        .filter(product_id__in=needed)
        .exclude(order=order)
        .held_by_product()
    )
    short = [
        line.name
        for line in lines
        if line.product_id not in products
        or products[line.product_id].stock_on_hand - held_by_others.get(line.product_id, 0)
        < needed[line.product_id]
    ]
    if short:
        order.status = S.REFUNDING
        order.refunding_at = now
        order.refund_reason = "Sold out before the payment was confirmed: " + ", ".join(short)
        order.save()
        order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
            status=StockReservation.Status.RELEASED
        )
        logger.warning("order %s: paid after its stock was gone; refunding", order.pk)
        transaction.on_commit(lambda: order_refund_request(order_id=order.pk))
        return order

    for pid, quantity in sorted(needed.items()):
        # The CHECK constraint (stock_on_hand >= 0) backs this up at the database.
        Product.objects.filter(pk=pid).update(
            stock_on_hand=F("stock_on_hand") - quantity, updated_at=now
        )
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        status=StockReservation.Status.CONSUMED
    )
    order.status = S.PAID
    order.paid_at = now
    order.save()
    if order.from_cart:
        _cart_remove_bought(user_id=order.user_id, needed=needed)
    transaction.on_commit(lambda: order_confirmation_send(order_id=order.pk))
    return order


def _cart_remove_bought(*, user_id: int, needed: Mapping[int, int]) -> None:
    for item in CartItem.objects.filter(cart__user_id=user_id, product_id__in=needed):
        if item.quantity <= needed[item.product_id]:
            item.delete()
        else:
            CartItem.objects.filter(pk=item.pk).update(
                quantity=F("quantity") - needed[item.product_id]
            )


@transaction.atomic
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


@transaction.atomic
def order_cancel(*, order_id: int, reason: str) -> Order:
    """Cancel a pending or processing order and release its hold; otherwise a no-op."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in OPEN_STATUSES:
        return order
    order.status = S.CANCELED
    order.canceled_at = timezone.now()
    order.cancel_reason = reason
    order.save()
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        status=StockReservation.Status.RELEASED
    )
    return order


# --- Refunds ---------------------------------------------------------------------------


@transaction.atomic
def order_refund_start(*, order_id: int, restock: bool, reason: str) -> bool:
    """Staff refund of a paid order in full. The order becomes refunded when Stripe
    confirms (charge.refunded). Returns False when the order is not paid."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != S.PAID:
        return False
    order.status = S.REFUNDING
    order.refunding_at = timezone.now()
    order.refund_reason = reason
    order.restock_on_refund = restock
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


def _metadata_order_id(obj: Mapping) -> int | None:
    raw = str((obj.get("metadata") or {}).get("order_id", ""))
    return int(raw) if raw.isdigit() else None


def _order_for_payment(*, payment_intent_id: str, order_id: int | None) -> Q | None:
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
    query = _order_for_payment(payment_intent_id=payment_intent_id, order_id=order_id)
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
    order.reservations.filter(status=StockReservation.Status.ACTIVE).update(
        status=StockReservation.Status.RELEASED
    )
    # Only a paid order took units off the shelf; only then can they go back.
    if order.paid_at is not None and order.restock_on_refund and not order.stock_restored:
        for line in order.lines.exclude(product=None).order_by("product_id"):
            Product.objects.filter(pk=line.product_id).update(
                stock_on_hand=F("stock_on_hand") + line.quantity, updated_at=now
            )
        order.stock_restored = True
    order.save()
    return order


# --- Webhook events --------------------------------------------------------------------

SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)


def stripe_event_process(*, event: gateway.WebhookEvent) -> StripeEvent:
    """Record a verified event by its id and apply it.

    A second delivery of a processed event changes nothing. An event that fails is kept
    with its error and the exception propagates (the webhook answers 5xx, Stripe
    retries, and the retry is processed again). Unknown types are recorded only.
    """
    record, _ = StripeEvent.objects.get_or_create(
        stripe_id=event.id, defaults={"type": event.type, "payload": event.payload}
    )
    if record.processed_at is not None:
        return record
    StripeEvent.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
    try:
        note = _event_apply(event)
    except UnknownOrder as exc:
        note = f"ignored: {exc}"
    except Exception as exc:
        StripeEvent.objects.filter(pk=record.pk).update(error=f"{type(exc).__name__}: {exc}")
        raise
    StripeEvent.objects.filter(pk=record.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), error=note
    )
    record.refresh_from_db()
    return record


def _event_apply(event: gateway.WebhookEvent) -> str:
    obj = event.object
    if event.type in SESSION_EVENTS:
        # Stripe's current view of the session, not the event's snapshot: events come
        # late and out of order, the session's state does not go backwards.
        order_fulfil(session_id=obj["id"])
        return ""
    if event.type == "charge.refunded":
        order_mark_refunded(
            payment_intent_id=obj.get("payment_intent") or "",
            order_id=_metadata_order_id(obj),
            fully=bool(obj.get("refunded")),
        )
        return ""
    if event.type in ("refund.updated", "refund.failed") and obj.get("status") == "failed":
        query = _order_for_payment(
            payment_intent_id=obj.get("payment_intent") or "", order_id=_metadata_order_id(obj)
        )
        updated = (
            Order.objects.filter(query).update(
                needs_review=True, review_reason=f"Refund {obj.get('id')} failed in Stripe."
            )
            if query
            else 0
        )
        return "" if updated else "ignored: no order for this refund"
    return "recorded only: not a type this shop acts on"


def stripe_event_reprocess(*, event: StripeEvent) -> StripeEvent:
    """Staff action: apply a recorded event again (everything it does is idempotent)."""
    StripeEvent.objects.filter(pk=event.pk).update(processed_at=None)
    obj = (event.payload.get("data") or {}).get("object") or {}
    return stripe_event_process(
        event=gateway.WebhookEvent(
            id=event.stripe_id, type=event.type, object=obj, payload=event.payload
        )
    )


# --- Email -----------------------------------------------------------------------------


def order_confirmation_send(*, order_id: int) -> None:
    """Email the shopper their receipt. Runs on commit of the payment; a mail failure is
    logged and never undoes the payment."""
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    context = {"order": order, "shop_name": settings.SHOP_NAME}
    try:
        send_mail(
            subject=f"[{settings.SHOP_NAME}] Order #{order.pk} is confirmed",
            message=render_to_string("checkout/email/order_paid.txt", context),
            from_email=None,
            recipient_list=[order.email],
        )
    except Exception:
        logger.exception("order %s: confirmation email failed", order.pk)


# --- Sweeper ---------------------------------------------------------------------------


@dataclass
class SweepSummary:
    expired: int = 0
    reconciled: int = 0
    refunds_retried: int = 0
    holds_released: int = 0
    carts_deleted: int = 0
    errors: int = 0

    def __str__(self) -> str:
        return (
            f"sweep_checkouts: {self.expired} lapsed checkouts closed, {self.reconciled} "
            f"orders reconciled, {self.refunds_retried} refunds retried, "
            f"{self.holds_released} stale holds released, {self.carts_deleted} old carts "
            f"deleted, {self.errors} errors"
        )


def _lease(order_id: int, now) -> bool:
    """Claim an order for two minutes with a conditional update: on any database, only
    one sweeper process wins it, without holding a lock while Stripe is called."""
    return bool(
        Order.objects.filter(pk=order_id)
        .filter(Q(sweep_lease_until__isnull=True) | Q(sweep_lease_until__lt=now))
        .update(sweep_lease_until=now + timedelta(minutes=2))
    )


def checkouts_sweep(*, now=None) -> SweepSummary:
    """Settle what webhooks and shoppers left open. Idempotent; safe on several hosts.

    1. Pending orders whose hold lapsed: expire the session (or fulfil it if it was paid).
    2. Pending and processing orders older than a few minutes: reconcile through Stripe,
       in case a webhook never came.
    3. Refunding orders whose refund request failed: ask again (same idempotency key).
    4. Active holds past their expiry: mark them released (they already count for nothing).
    5. Anonymous carts untouched for 30 days: delete.
    """
    now = now or timezone.now()
    summary = SweepSummary()
    reconcile_before = now - timedelta(minutes=settings.SWEEP_RECONCILE_AFTER_MINUTES)
    candidates = Order.objects.filter(
        Q(status=S.PENDING, checkout_expires_at__lt=now)
        | Q(status__in=OPEN_STATUSES, created_at__lt=reconcile_before)
        | Q(status=S.REFUNDING, stripe_refund_id="", refunding_at__lt=now - timedelta(minutes=1))
    ).values_list("pk", "status", "stripe_session_id", "checkout_expires_at")
    for order_id, status, session_id, expires_at in list(candidates[:500]):
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
                order_sync_from_session(session=gateway.session_expire(session_id))
                summary.expired += 1
            else:
                order_fulfil(session_id=session_id)
                summary.reconciled += 1
        except (gateway.GatewayError, UnknownOrder):
            logger.exception("sweep: order %s could not be settled", order_id)
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
