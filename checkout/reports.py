"""The business at a glance: the figures of the staff sales page (selectors).

Every figure is one ORM aggregate over a period of whole days in the shop's time zone
(SHOP_TIME_ZONE if set, else TIME_ZONE), for one currency at a time (amounts in
different currencies are never added up):

- revenue per day: orders paid that day (by `paid_at`), less the refunds of paid orders
  made that day (by `refunded_at`), so a refund lowers the day it happens, not the day
  of the sale;
- orders by status: the orders placed (checkouts started) in the period;
- conversion: of the checkouts started in the period, how many were paid (at any time);
- top products by units and by revenue: the lines of the orders paid in the period
  (gross: a later refund does not take them out);
- units on hand and held in open checkouts (now), and units sold in the period.

Seven queries, whatever the number of orders; the indexes on `created_at`,
`paid_at` and `refunded_at` (checkout.Order.Meta) keep each to the period's rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from catalog.models import Product, StockReservation
from checkout.models import Order, OrderLine
from checkout.periods import Period
from checkout.revenue import CHARGED, REVENUE_PARTS, RevenuePart

S = Order.Status

TOP_PRODUCTS = 10


# --- Figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders_paid: int
    # what was charged (CHARGED) for the orders paid that day
    gross: int
    # {"items": n, "shipping": n, ...}: what gross is made of (discount taken off)
    parts: dict[str, int]
    refunds: int
    refunded: int

    @property
    def net(self) -> int:
        return self.gross - self.refunded

    @property
    def items(self) -> int:
        return self.parts.get("items", self.gross)

    @property
    def breakdown(self) -> list[int]:
        """The parts other than items, in REVENUE_PARTS order (for tables)."""
        return [value for key, value in self.parts.items() if key != "items"]


@dataclass(frozen=True)
class StatusFigures:
    status: str
    label: str
    orders: int
    amount: int


@dataclass(frozen=True)
class ProductFigures:
    product_id: int | None
    name: str
    units: int
    revenue: int
    # Now, with the view-product permission only
    on_hand: int | None = None
    held: int | None = None


@dataclass(frozen=True)
class StockFigures:
    on_hand: int  # every product's stock on hand, now
    held: int  # units in active, unexpired holds (open checkouts), now
    products: int


@dataclass(frozen=True)
class SalesReport:
    period: Period
    currency: str
    days: list[DayFigures]
    parts: list[RevenuePart]
    statuses: list[StatusFigures]
    checkouts_started: int
    checkouts_paid: int
    top_by_units: list[ProductFigures]
    top_by_revenue: list[ProductFigures]
    units_sold: int
    stock: StockFigures | None = None

    @property
    def gross(self) -> int:
        return sum(day.gross for day in self.days)

    @property
    def refunded(self) -> int:
        return sum(day.refunded for day in self.days)

    @property
    def net(self) -> int:
        return self.gross - self.refunded

    @property
    def orders_paid(self) -> int:
        return sum(day.orders_paid for day in self.days)

    @property
    def refunds(self) -> int:
        return sum(day.refunds for day in self.days)

    @property
    def conversion(self) -> float | None:
        """Share of the checkouts started in the period that were paid; None if none."""
        if not self.checkouts_started:
            return None
        return self.checkouts_paid / self.checkouts_started

    @property
    def part_totals(self) -> dict[str, int]:
        keys = ["items", *(part.key for part in self.parts)]
        return {key: sum(day.parts.get(key, 0) for day in self.days) for key in keys}


def _in(period: Period, name: str) -> Q:
    return Q(**{f"{name}__gte": period.start, f"{name}__lt": period.end})


def _sum(expression: Any) -> Coalesce:
    return Coalesce(Sum(expression), Value(0), output_field=IntegerField())


def _paid_by_day(period: Period, currency: str, parts: list[RevenuePart]) -> dict[date, dict]:
    sums = {f"part_{part.key}": _sum(part.field) for part in parts}
    rows = (
        Order.objects.filter(_in(period, "paid_at"), currency=currency)
        .annotate(day=TruncDate("paid_at", tzinfo=period.tz))
        .order_by()
        .values("day")
        .annotate(orders=Count("id"), gross=_sum(CHARGED), **sums)
    )
    return {row["day"]: row for row in rows}


def _refunded_by_day(period: Period, currency: str) -> dict[date, dict]:
    # Only orders that were paid: an order refunded because its stock was gone before
    # the payment was confirmed never counted as revenue, so it is not taken off.
    rows = (
        Order.objects.filter(_in(period, "refunded_at"), currency=currency, paid_at__isnull=False)
        .annotate(day=TruncDate("refunded_at", tzinfo=period.tz))
        .order_by()
        .values("day")
        .annotate(refunds=Count("id"), refunded=_sum(CHARGED))
    )
    return {row["day"]: row for row in rows}


def _days(period: Period, currency: str, parts: list[RevenuePart]) -> list[DayFigures]:
    paid = _paid_by_day(period, currency, parts)
    refunded = _refunded_by_day(period, currency)
    days = []
    for day in period.days:
        row = paid.get(day, {})
        gross = row.get("gross", 0)
        breakdown = {part.key: row.get(f"part_{part.key}", 0) for part in parts}
        items = gross - sum(part.sign * breakdown[part.key] for part in parts)
        days.append(
            DayFigures(
                day=day,
                orders_paid=row.get("orders", 0),
                gross=gross,
                parts={"items": items, **breakdown},
                refunds=refunded.get(day, {}).get("refunds", 0),
                refunded=refunded.get(day, {}).get("refunded", 0),
            )
        )
    return days


def _statuses(period: Period, currency: str) -> tuple[list[StatusFigures], int, int]:
    """Orders placed in the period by status, and (started, paid) for the conversion."""
    rows = {
        row["status"]: row
        for row in Order.objects.filter(_in(period, "created_at"), currency=currency)
        .order_by()
        .values("status")
        .annotate(
            orders=Count("id"),
            amount=_sum(CHARGED),
            paid=Count("id", filter=Q(paid_at__isnull=False)),
        )
    }
    statuses = [
        StatusFigures(
            status=value,
            label=str(label),
            orders=rows.get(value, {}).get("orders", 0),
            amount=rows.get(value, {}).get("amount", 0),
        )
        for value, label in S.choices
    ]
    started = sum(row["orders"] for row in rows.values())
    paid = sum(row["paid"] for row in rows.values())
    return statuses, started, paid


class _EqualsAnyOf(Func):
    """`expression = ANY(ARRAY(subquery))` (PostgreSQL)."""

    arg_joiner = " = ANY(ARRAY"
    template = "(%(expressions)s))"
    output_field = BooleanField()


def _lines_sold(period: Period, currency: str) -> QuerySet[OrderLine]:
    """The lines of the orders paid in the period."""
    paid = Order.objects.filter(_in(period, "paid_at"), currency=currency).values("pk")
    if connection.vendor == "postgresql":
        # As `order_id = ANY(ARRAY(...))` PostgreSQL fetches just these orders' lines by
        # the order_id index; as a join it hashed every line ever sold (6x slower with
        # 100,000 orders: bench/dashboard.py, BENCHMARKS.md).
        return OrderLine.objects.filter(_EqualsAnyOf(F("order_id"), Subquery(paid))).order_by()
    return OrderLine.objects.filter(order_id__in=Subquery(paid)).order_by()


def _products_sold(period: Period, currency: str) -> list[ProductFigures]:
    """Units and revenue by product, in one query (one row per product sold)."""
    rows = (
        _lines_sold(period, currency)
        .values("product_id")
        .annotate(
            name=Max("name"),
            units=_sum("quantity"),
            revenue=_sum(F("unit_amount") * F("quantity")),
        )
        .order_by("product_id")
    )
    return [
        ProductFigures(
            product_id=row["product_id"],
            name=row["name"] if row["product_id"] is not None else "(deleted products)",
            units=row["units"],
            revenue=row["revenue"],
        )
        for row in rows
    ]


def _top(products: list[ProductFigures], key: str) -> list[ProductFigures]:
    return sorted(products, key=lambda p: (-getattr(p, key), p.product_id or 0))[:TOP_PRODUCTS]


def _with_stock(
    products: Iterable[ProductFigures], stock: dict[int, tuple[int, int]]
) -> list[ProductFigures]:
    return [
        ProductFigures(
            product_id=p.product_id,
            name=p.name,
            units=p.units,
            revenue=p.revenue,
            on_hand=stock.get(p.product_id, (None, None))[0] if p.product_id else None,
            held=stock.get(p.product_id, (None, None))[1] if p.product_id else None,
        )
        for p in products
    ]


def stock_figures(*, now: datetime | None = None) -> StockFigures:
    now = now or timezone.now()
    products = Product.objects.aggregate(on_hand=_sum("stock_on_hand"), products=Count("id"))
    held = StockReservation.objects.active(now=now).aggregate(held=_sum("quantity"))["held"]
    return StockFigures(on_hand=products["on_hand"], held=held, products=products["products"])


def sales_report(
    *, period: Period, currency: str, with_stock: bool, now: datetime | None = None
) -> SalesReport:
    """The sales page's figures. `with_stock` adds units on hand and held (the staff
    member may view products)."""
    now = now or timezone.now()
    currency = currency.lower()
    parts = list(REVENUE_PARTS)
    days = _days(period, currency, parts)
    statuses, started, paid = _statuses(period, currency)
    sold = _products_sold(period, currency)
    by_units, by_revenue = _top(sold, "units"), _top(sold, "revenue")
    units_sold = sum(p.units for p in sold)
    stock = None
    if with_stock:
        stock = stock_figures(now=now)
        ids = {p.product_id for p in [*by_units, *by_revenue] if p.product_id is not None}
        on_hand = {
            pk: (on, held)
            for pk, on, held in Product.objects.with_availability(now=now)
            .filter(pk__in=ids)
            .values_list("pk", "stock_on_hand", "reserved")
        }
        by_units = _with_stock(by_units, on_hand)
        by_revenue = _with_stock(by_revenue, on_hand)
    return SalesReport(
        period=period,
        currency=currency,
        days=days,
        parts=parts,
        statuses=statuses,
        checkouts_started=started,
        checkouts_paid=paid,
        top_by_units=by_units,
        top_by_revenue=by_revenue,
        units_sold=units_sold,
        stock=stock,
    )


def report_currencies() -> list[str]:
    """Currencies the page offers: the shop's, then any other a product is priced in
    (the product table is small; the order table is never scanned for this)."""
    shop = settings.SHOP_CURRENCY.lower()
    others = set(Product.objects.order_by().values_list("currency", flat=True).distinct())
    return [shop, *sorted(c.lower() for c in others if c.lower() != shop)]
