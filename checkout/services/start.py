"""Starting a checkout: hold the stock under row locks, then open a Checkout Session.

Holds are taken in one short transaction; Stripe is called after it commits, outside
any lock, with an idempotency key per order. The shopper's way back out (cancel_url)
lives here too.
"""

import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from catalog.models import Product, StockReservation
from checkout import gateway, resilience
from checkout.exceptions import (
    BelowMinimumCharge,
    EmptyCart,
    InsufficientStock,
    PaymentRefused,
    PaymentUnavailable,
    UnknownOrder,
)
from checkout.models import Order, OrderLine
from checkout.selectors import own_holds
from checkout.services.pricing import checkout_pricing, product_tax_codes
from checkout.services.shipping import (
    shipping_countries,
    shipping_offered_record,
    shipping_options_for,
)
from checkout.services.transitions import order_cancel, order_sync_from_session
from checkout.sessions import LineItem, ShippingOption
from theme import money

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
    first and its hold released. Raises EmptyCart, BelowMinimumCharge (an order under
    Stripe's minimum charge), InsufficientStock (nothing is created by these three),
    PaymentUnavailable (Stripe is slow or failing, or the breaker is open)
    or PaymentRefused (Stripe refused the session); after the order was created, it is
    canceled and its hold released before either is raised.

    Stripe is called outside any transaction, and within the caller's time budget
    (checkout.resilience). A create that timed out may still have made a session at
    Stripe: its URL never reached the shopper, it expires by itself, and should it
    ever be paid, the webhook finds the (canceled) order through client_reference_id
    and fulfils or refunds it (order_mark_paid).
    """
    items = _normalise(items)
    if not items:
        raise EmptyCart()
    sold_out_refuse(items=items)  # sold out is the answer, whether Stripe is up or not
    if not resilience.available():
        raise PaymentUnavailable()  # the breaker is open: nothing is created
    products = _products_unlocked(user=user, items=items)
    prices = {pid: product.unit_amount for pid, product in products.items()}
    if prices.keys() == items.keys():  # an unknown product gets its own message later
        below = money.minimum_problem(sum(prices[pid] * qty for pid, qty in items.items()))
        if below:
            raise BelowMinimumCharge(below)  # before anything changes: Stripe would refuse it
    # A sale's late buyers are refused here, without waiting for the row locks that the
    # first buyers hold: what is refused now would be refused under the lock too (the
    # check under lock below stays the one that grants).
    problems = _availability_problems(items=items, products=products)
    if problems:
        raise _refusal(problems, products)
    fingerprint = _fingerprint(items, prices)

    reusable = _open_checkout_for(user=user, fingerprint=fingerprint, from_cart=from_cart)
    if reusable is not None:
        return reusable
    _checkouts_abandon(user=user)

    order = _order_create_with_holds(
        user=user,
        items=items,
        fingerprint=fingerprint,
        from_cart=from_cart,
        priced=_shipping_priced(items=items, prices=prices),
    )
    tax_codes = product_tax_codes(ids=items) if settings.STRIPE_TAX_ENABLED else {}
    lines = [
        LineItem(
            name=line.name,
            unit_amount=line.unit_amount,
            quantity=line.quantity,
            tax_code=tax_codes.get(line.product_id or 0, ""),
        )
        for line in order.lines.all()
    ]
    expires_at = timezone.now() + timedelta(minutes=settings.STOCK_HOLD_MINUTES, seconds=60)
    try:
        session = gateway.session_create(
            shipping_countries=shipping_countries(),
            pricing=checkout_pricing(),
            shipping_options=[ShippingOption(**offer) for offer in order.shipping_offered],
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
    except gateway.StripeUnavailable:
        logger.warning("checkout: no Stripe session for order %s in time", order.pk)
        order_cancel(order_id=order.pk, reason="The payment provider did not answer in time")
        raise PaymentUnavailable() from None
    except gateway.StripeRefused:
        logger.exception("checkout: Stripe refused the session of order %s", order.pk)
        order_cancel(order_id=order.pk, reason="The payment provider refused the checkout")
        raise PaymentRefused() from None
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
    except gateway.StripeUnavailable:
        raise PaymentUnavailable() from None  # nothing new is created
    except (gateway.GatewayError, UnknownOrder):
        logger.warning("checkout: could not settle the open checkout of order %s", order.pk)
    return None


def _checkouts_abandon(*, user: User) -> None:
    """Expire the shopper's other open sessions (a changed cart) and release their holds.

    A session that turns out to be paid meanwhile is fulfilled instead. If Stripe is
    slow or failing, PaymentUnavailable is raised before anything new is created (the
    old order keeps its hold until it lapses, or the sweeper settles it).
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
        except gateway.StripeUnavailable:
            raise PaymentUnavailable() from None
        except (gateway.GatewayError, UnknownOrder):
            logger.warning("checkout: could not close the earlier checkout %s", order.pk)


# Products this process found sold out: id -> (time.monotonic(), name). For
# CHECKOUT_SOLD_OUT_MEMO_SECONDS a checkout asking for one is refused from here, with no
# query at all: a flash sale's late buyers, by the hundred, cost the database nothing
# beyond their session. Only ever a refusal, never a hold, so it cannot oversell; a unit
# that comes back (a lapsed or released hold) is offered again that much later, as the
# catalog's kept page and its 5 s badge poller show it.
_sold_out: dict[int, tuple[float, str]] = {}
SOLD_OUT = "Sold out."


def sold_out_refuse(*, items: Mapping[int, int]) -> None:
    """Raise InsufficientStock for the items this process found sold out just now.

    From memory alone: no query, no lock, no call to Stripe or the cache. The checkout
    views ask it before counting a start against the shopper's rate limit."""
    keep = settings.CHECKOUT_SOLD_OUT_MEMO_SECONDS
    if keep <= 0:
        return
    now = time.monotonic()
    known = {pid: _sold_out.get(pid) for pid in items}
    gone = {pid: seen[1] for pid, seen in known.items() if seen and now - seen[0] < keep}
    if gone:
        raise InsufficientStock(dict.fromkeys(gone, SOLD_OUT), names=gone)


def _refusal(problems: dict[int, str], products: Mapping[int, Product]) -> InsufficientStock:
    """The refusal for `problems`, with the products' names; the sold-out ones are
    remembered (_sold_out)."""
    names = {pid: products[pid].name for pid in problems if pid in products}
    if settings.CHECKOUT_SOLD_OUT_MEMO_SECONDS > 0:
        _sold_out_remember(
            {pid: names[pid] for pid, problem in problems.items() if problem == SOLD_OUT}
        )
    return InsufficientStock(problems, names=names)


def _sold_out_remember(names: Mapping[int, str]) -> None:
    now = time.monotonic()
    for pid, name in names.items():
        _sold_out[pid] = (now, name)


def _products_unlocked(*, user: User, items: Mapping[int, int]) -> dict[int, Product]:
    """The products of `items`, read without a lock, with their availability: other
    shoppers' live holds counted, the shopper's own awaiting-payment ones not (this
    checkout releases those first). One query."""
    return {
        product.pk: product
        for product in Product.objects.filter(pk__in=items).with_availability(
            ignore_holds=own_holds(user_id=user.pk)
        )
    }


def _availability_problems(
    *, items: Mapping[int, int], products: Mapping[int, Product]
) -> dict[int, str]:
    """What keeps each product of `items` out of a checkout, by product id: no longer
    sold, priced in another currency than the shop's (one Checkout Session has one
    currency), or fewer units available than asked. `products` carry `available`."""
    currency = money.shop_currency()
    problems: dict[int, str] = {}
    for pid, quantity in items.items():
        product = products.get(pid)
        if product is None or not product.is_active:
            problems[pid] = "This product is no longer sold."
            continue
        if product.currency != currency:
            problems[pid] = "This product is not priced in the shop's currency."
            continue
        if quantity > product.available:
            available = product.available
            problems[pid] = f"Only {available} available." if available else SOLD_OUT
    return problems


def _shipping_priced(
    *, items: Mapping[int, int], prices: Mapping[int, int]
) -> tuple[int, list[dict]] | None:
    """The delivery options for the items at the prices read before the lock, and that
    items amount: worked out before the row locks are taken, so that they are held for
    less. None when a price is unknown."""
    if not prices.keys() >= items.keys():
        return None
    amount = sum(prices[pid] * qty for pid, qty in items.items())
    options = shipping_options_for(currency=money.shop_currency(), items_amount=amount)
    return amount, shipping_offered_record(options)


@transaction.atomic
def _order_create_with_holds(
    *,
    user: User,
    items: dict[int, int],
    fingerprint: str,
    from_cart: bool,
    priced: tuple[int, list[dict]] | None = None,
) -> Order:
    """Lock the products in id order, check availability, create the order and its holds.

    On PostgreSQL the row locks serialize checkouts of the same products; on SQLite the
    IMMEDIATE transaction serializes all writers. Either way no two checkouts can both
    see the last unit as available. `priced` (_shipping_priced) is used when the items
    still cost what it was worked out for.
    """
    now = timezone.now()
    products = {
        p.pk: p
        for p in list(Product.objects.select_for_update().filter(pk__in=items).order_by("pk"))
    }
    held = StockReservation.objects.active(now=now).filter(product_id__in=items).held_by_product()
    for pid, product in products.items():
        product.available = max(product.stock_on_hand - held.get(pid, 0), 0)
    problems = _availability_problems(items=items, products=products)
    if problems:
        raise _refusal(problems, products)
    taken_last = {
        pid: products[pid].name for pid, qty in items.items() if products[pid].available == qty
    }
    if taken_last and settings.CHECKOUT_SOLD_OUT_MEMO_SECONDS > 0:
        # This checkout takes the last units: the next ones are refused from memory
        # once it commits, without waiting for a query to find it out.
        transaction.on_commit(lambda: _sold_out_remember(taken_last))
    currency = money.shop_currency()

    items_amount = sum(products[pid].unit_amount * qty for pid, qty in items.items())
    if priced is not None and priced[0] == items_amount:
        offered = priced[1]
    else:  # a price changed since: the options are priced again
        offered = shipping_offered_record(
            shipping_options_for(currency=currency, items_amount=items_amount)
        )
    order = Order.objects.create(
        user=user,
        email=user.email,
        currency=currency,
        amount_total=items_amount,
        cart_fingerprint=fingerprint,
        from_cart=from_cart,
        shipping_offered=offered,
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


def order_mark_retry(*, order: Order, retry_of: Order) -> None:
    """`order` is a new checkout of the lines of `retry_of`, whose payment failed."""
    Order.objects.filter(pk=order.pk, retry_of__isnull=True).update(retry_of=retry_of)
