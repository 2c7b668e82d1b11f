"""A shop with known sales figures: constants and helpers for the sales page's tests."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from catalog.models import Product
from checkout.factories import OrderFactory, OrderLineFactory
from checkout.models import Order

BERLIN = ZoneInfo("Europe/Berlin")
S = Order.Status
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def make_order(
    lines: list[tuple[Product, int]], *, status, created, paid=None, refunded=None, currency="eur"
):
    order = OrderFactory(
        status=status, currency=currency, amount_total=sum(p.unit_amount * q for p, q in lines)
    )
    for product, quantity in lines:
        OrderLineFactory(order=order, product=product, quantity=quantity)
    # created_at is auto_now_add: the history is written afterwards, as seed_history does.
    Order.objects.filter(pk=order.pk).update(
        created_at=created,
        paid_at=paid,
        refunded_at=refunded,
        stripe_amount_total=order.amount_total if paid else None,
    )
    order.refresh_from_db()
    return order
