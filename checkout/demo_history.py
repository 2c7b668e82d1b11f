"""A demo history of sales (`manage.py seed_history`): months of orders made through
the shop's own services against the Stripe emulator, so that the sales page has
something to show, `reconcile_stripe` finds Stripe and the shop in agreement, and
`check_inventory` finds every product's stock equal to its ledger.

Each order is made as a shopper makes it: `checkout_start` (holds, a Checkout Session
at the emulator), the emulator's pay control (`/_emulator/sessions/{id}/pay`, what its
hosted page does), then `order_fulfil`, as the webhook would; or the shopper abandons
it (`checkout_abandon`), sometimes after a declined card. Some paid orders are
refunded days later through `order_refund_start` and `order_mark_refunded` (what the
charge.refunded webhook does), some with their units put back on hand. Stock runs low,
so deliveries arrive through `inventory.stock_receive`.

Everything happens now; afterwards the shop's own timestamps are moved to the moment
in the past the history gives them (orders' created/paid/canceled/refunded times,
their holds and their stock movements), by plain updates that change no amount and no
status. Stripe's objects keep the time they were really made: the emulator's clock
only moves forward. Reconciliation matches by id, never by date, so it still agrees.
No email goes out: notifications of the demo orders are marked as not sent.
"""

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import requests
from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import Max
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User
from catalog import inventory
from catalog.models import Product, StockMovement, StockReservation
from checkout.exceptions import CheckoutError
from checkout.models import Order
from checkout.periods import shop_time_zone, shop_today
from checkout.services.refunds import (
    order_mark_refunded,
    order_refund_request,
    order_refund_start,
)
from checkout.services.start import checkout_abandon, checkout_start
from checkout.services.transitions import order_fulfil

logger = logging.getLogger(__name__)

SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
CUSTOMERS = 60
# Where the Checkout Sessions say the shopper returns to (never visited here).
BASE_URL = "http://127.0.0.1:8000"
REFUND_REASONS = [
    "Arrived damaged; refunded at your request",
    "Returned within 30 days",
    "Ordered twice by mistake",
    "Item not as expected",
]


class HistoryError(RuntimeError):
    """The history cannot be made here (no emulator, no products); says what to do."""


@dataclass
class HistoryResult:
    days: int
    orders: int = 0
    paid: int = 0
    abandoned: int = 0
    declined: int = 0
    refunded: int = 0
    deliveries: int = 0
    customers: int = 0
    revenue: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        money = ", ".join(
            f"{amount / 100:,.2f} {cur.upper()}" for cur, amount in self.revenue.items()
        )
        return (
            f"seed_history: {self.orders} orders over {self.days} days: {self.paid} paid "
            f"({money or 'nothing'}), {self.refunded} of them refunded, {self.abandoned} "
            f"abandoned ({self.declined} after a declined card); {self.deliveries} stock "
            f"deliveries; {self.customers} demo customers"
        )


def _emulator(base: str | None) -> str:
    """The emulator's address, checked; HistoryError when Stripe itself or nothing."""
    if not base:
        raise HistoryError(
            "STRIPE_API_BASE is not set: seed_history makes its payments at the Stripe "
            "emulator only (start it with `python -m stripe_emulator`, or `make run`)."
        )
    try:
        answer = requests.get(f"{base}/_emulator/clock", timeout=5)
        answer.raise_for_status()
        answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise HistoryError(
            f"No Stripe emulator answers at {base} ({exc}); seed_history never pays at Stripe."
        ) from exc
    return base.rstrip("/")


def _customers(count: int) -> list[User]:
    emails = [f"customer{i:03d}@example.com" for i in range(1, count + 1)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    unusable = make_password(None)
    User.objects.bulk_create(
        User(email=email, password=unusable) for email in emails if email not in existing
    )
    return list(User.objects.filter(email__in=emails).order_by("email"))


def _orders_that_day(rng: random.Random, day: date, first: date, days: int, per_day: float) -> int:
    """A shop that grows over the period, busier at weekends, noisy day to day."""
    growth = 0.6 + 0.8 * ((day - first).days / max(days - 1, 1))
    weekend = 1.35 if day.weekday() >= 5 else 1.0
    rate = per_day * growth * weekend * rng.uniform(0.6, 1.4)
    return int(rate) + (1 if rng.random() < rate - int(rate) else 0)


def _basket(rng: random.Random, products: list[Product]) -> dict[int, int]:
    # Cheaper things sell more often.
    weights = [1 / (p.unit_amount**0.5) for p in products]
    count = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
    chosen = set(rng.choices(products, weights=weights, k=count))
    return {p.pk: rng.choices([1, 2, 3], weights=[8, 3, 1])[0] for p in chosen}


class _History:
    def __init__(self, *, base: str, rng: random.Random, staff: User | None, now: datetime):
        self.base = base
        self.rng = rng
        self.staff = staff
        self.now = now
        self.http = requests.Session()
        self.hold = timedelta(minutes=settings.STOCK_HOLD_MINUTES, seconds=60)
        self.grace = timedelta(minutes=settings.STOCK_HOLD_GRACE_MINUTES)

    def pay(self, session_id: str, card: str) -> bool:
        answer = self.http.post(
            f"{self.base}/_emulator/sessions/{session_id}/pay", json={"card": card}, timeout=30
        )
        if answer.status_code not in (200, 402):
            raise HistoryError(f"the emulator refused to pay {session_id}: {answer.text[:200]}")
        return answer.status_code == 200

    def restock(self, items: dict[int, int], when: datetime, result: HistoryResult) -> None:
        """A delivery arrives in the morning when a basket would not find its units."""
        held = StockReservation.objects.active().filter(product_id__in=items).held_by_product()
        on_hand = dict(Product.objects.filter(pk__in=items).values_list("pk", "stock_on_hand"))
        for pid, quantity in items.items():
            if on_hand.get(pid, 0) - held.get(pid, 0) >= quantity + 1:
                continue
            inventory.stock_receive(
                product_id=pid,
                quantity=self.rng.randrange(12, 36),
                staff=self.staff,
                note=f"Delivery DEMO-{self.rng.randrange(1000, 9999)}",
            )
            latest = StockMovement.objects.filter(product_id=pid).latest("id")
            delivered = datetime.combine(when.date(), time(7, 30), tzinfo=when.tzinfo)
            StockMovement.objects.filter(pk=latest.pk).update(created_at=delivered)
            result.deliveries += 1

    def backdate(self, order: Order, created: datetime, **moments: datetime | None) -> None:
        expires = created + self.hold
        Order.objects.filter(pk=order.pk).update(
            created_at=created,
            updated_at=max([created, *(m for m in moments.values() if m)]),
            checkout_expires_at=expires,
            **moments,
        )
        StockReservation.objects.filter(order=order).update(
            created_at=created, updated_at=created, expires_at=expires + self.grace
        )
        if moments.get("paid_at"):
            StockMovement.objects.filter(order=order, delta__lt=0).update(
                created_at=moments["paid_at"]
            )

    def order(self, user: User, items: dict[int, int], when: datetime, result: HistoryResult):
        self.restock(items, when, result)
        try:
            order = checkout_start(user=user, items=items, base_url=BASE_URL, from_cart=False)
        except CheckoutError as exc:
            raise HistoryError(f"a checkout failed: {exc!r}") from exc
        session_id = order.stripe_session_id or ""
        result.orders += 1
        roll = self.rng.random()
        if roll < 0.80:
            if not self.pay(session_id, SUCCESS_CARD):
                raise HistoryError(f"the emulator declined the test card for {session_id}")
            order = order_fulfil(session_id=session_id)
            if order.status != Order.Status.PAID:
                raise HistoryError(f"order {order.pk} is {order.status} after paying: {order}")
            paid_at = when + timedelta(minutes=self.rng.randrange(1, 9))
            self.backdate(order, when, paid_at=paid_at)
            result.paid += 1
            result.revenue[order.currency] += order.stripe_amount_total or order.amount_total
            return order, paid_at
        if roll > 0.95:
            self.pay(session_id, DECLINED_CARD)  # 402: the session stays open
            result.declined += 1
        checkout_abandon(order=order)
        self.backdate(order, when, canceled_at=when + timedelta(minutes=self.rng.randrange(2, 25)))
        result.abandoned += 1
        return None, None

    def refund(self, order_id: int, when: datetime, result: HistoryResult) -> None:
        restock = self.rng.random() < 0.5
        if not order_refund_start(
            order_id=order_id,
            restock=restock,
            reason=self.rng.choice(REFUND_REASONS),
            staff=self.staff,
        ):
            return
        # order_refund_start asks Stripe on commit; asking again is a no-op (one key per
        # order), and makes sure inside an outer transaction too. The charge.refunded
        # webhook would then confirm it, which is what order_mark_refunded does.
        order_refund_request(order_id=order_id)
        order = Order.objects.get(pk=order_id)
        if not order.stripe_refund_id:
            raise HistoryError(f"the emulator did not refund order {order_id}")
        order_mark_refunded(payment_intent_id=order.stripe_payment_intent_id, fully=True)
        refunded_at = when + timedelta(minutes=self.rng.randrange(1, 30))
        Order.objects.filter(pk=order_id).update(
            refunding_at=when, refunded_at=refunded_at, updated_at=refunded_at
        )
        StockMovement.objects.filter(order_id=order_id, delta__gt=0).update(created_at=refunded_at)
        result.refunded += 1


def _notifications_not_sent(*, after_order_id: int) -> None:
    """The demo's customers are invented: the emails about the orders just made are
    marked as never sent, so that no worker sends them."""
    try:
        model = apps.get_model("checkout", "OrderNotification")
    except LookupError:
        return
    model.objects.filter(order_id__gt=after_order_id, status="pending").update(
        status="failed", last_error="Demo history (seed_history): not sent."
    )


def history_seed(
    *,
    days: int,
    per_day: float = 4.0,
    seed: int = 2026,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> HistoryResult:
    """Make `days` days of orders, ending an hour ago, at the emulator STRIPE_API_BASE
    names. Adds to what the shop has (run it on a fresh demo shop). Raises HistoryError
    when there is no emulator or no product."""
    base = _emulator(settings.STRIPE_API_BASE)
    now = now or timezone.now()
    tz = shop_time_zone()
    products = list(
        Product.objects.filter(is_active=True, currency=settings.SHOP_CURRENCY.lower())
        .exclude(unit_amount=0)
        .order_by("pk")
    )
    if not products:
        raise HistoryError("No active products to sell: run `python manage.py seed_catalog`.")
    rng = random.Random(seed)  # noqa: S311  (a demo, made again the same with the same seed)
    staff = User.objects.filter(is_superuser=True).order_by("pk").first()
    customers = _customers(CUSTOMERS)
    result = HistoryResult(days=days, customers=len(customers))
    history = _History(base=base, rng=rng, staff=staff, now=now)
    last = shop_today(now=now)
    first = last - timedelta(days=days - 1)
    latest = now - timedelta(hours=1)  # every checkout of the history is long settled
    refunds: dict[date, list[int]] = {}
    before = Order.objects.aggregate(last=Max("pk"))["last"] or 0
    # No email leaves: low-stock alerts go nowhere, and order emails are marked unsent.
    with override_settings(
        STOCK_ALERT_EMAILS=[], EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"
    ):
        for offset in range(days):
            day = first + timedelta(days=offset)
            for order_id in refunds.pop(day, []):
                when = datetime.combine(day, time(10), tzinfo=tz) + timedelta(
                    minutes=rng.randrange(0, 480)
                )
                if when < latest:
                    history.refund(order_id, when, result)
            moments = sorted(
                datetime.combine(day, time(8), tzinfo=tz)
                + timedelta(minutes=rng.randrange(0, 14 * 60))
                for _ in range(_orders_that_day(rng, day, first, days, per_day))
            )
            for when in moments:
                if when >= latest:
                    continue
                user = rng.choice(customers)
                order, paid_at = history.order(user, _basket(rng, products), when, result)
                if order is None:
                    continue
                if rng.random() < 0.06:
                    refund_day = paid_at.date() + timedelta(days=rng.randrange(1, 12))
                    refunds.setdefault(refund_day, []).append(order.pk)
            if progress and (offset + 1) % 10 == 0:
                progress(f"  {offset + 1} of {days} days: {result.orders} orders")
    _notifications_not_sent(after_order_id=before)
    return result
