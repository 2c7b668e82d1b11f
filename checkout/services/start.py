"""Starting a checkout: hold the stock under row locks, then open a Checkout Session.

Holds are taken in one short transaction; Stripe is called after it commits, outside
any lock, with an idempotency key per order. The shopper's way back out (cancel_url)
lives here too.
"""

import hashlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from catalog.models import Product, StockReservation
from checkout import gateway
from checkout.exceptions import EmptyCart, InsufficientStock, PaymentUnavailable, UnknownOrder
from checkout.models import Order, OrderLine
from checkout.services.transitions import order_cancel, order_sync_from_session

logger = logging.getLogger(__name__)

S = Order.Status


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
    if order is None or order.stripe_session_id is None:  # (filtered out: never None)
        return None
    try:
        session = gateway.session_retrieve(session_id=order.stripe_session_id)
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
            session = gateway.session_expire(session_id=order.stripe_session_id)
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
            session = gateway.session_expire(session_id=order.stripe_session_id)
            if session.status != "expired":
                return order_sync_from_session(session=session)
        except (gateway.GatewayError, UnknownOrder):
            # The hold is released now; should Stripe still take a payment on this
            # session, the webhook finds the canceled order and fulfils or refunds it.
            logger.warning("checkout: could not expire session of order %s", order.pk)
    return order_cancel(order_id=order.pk, reason="Canceled by the shopper")
