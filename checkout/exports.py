"""CSV exports for staff: orders with their lines, and the stock ledger, for a period.

Rows are produced as the database hands them over (server-side cursors on PostgreSQL)
and streamed, so an export of a year takes no more memory than one of a day.

Text that a spreadsheet would run as a formula (a cell starting with =, +, -, @, a tab
or a carriage return) is written with a leading single quote (OWASP "CSV injection"):
names, emails and notes come from shoppers and staff. Numbers the shop writes itself
(amounts, quantities, a negative stock delta) are left as numbers.
"""

import csv
from collections.abc import AsyncIterator, Iterable, Iterator
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from catalog.models import StockMovement
from checkout.models import Order
from checkout.periods import Period, shop_time_zone
from checkout.revenue import REVENUE_PARTS, RevenuePart
from theme.templatetags.shop import ZERO_DECIMAL

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500


def cell(value: Any) -> Any:
    """A value as a CSV cell: text that would start a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def major_units(amount: int | None, currency: str) -> Decimal | str:
    """12.50 for 1250 EUR cents; 1250 for 1250 JPY (no minor unit)."""
    if amount is None:
        return ""
    if currency.lower() in ZERO_DECIMAL:
        return Decimal(amount)
    return Decimal(amount).scaleb(-2)


def _when(value) -> str:
    """An ISO date-time in the shop's time zone (the days the sales page counts in)."""
    return timezone.localtime(value, shop_time_zone()).isoformat() if value else ""


class _Line:
    """A file-like object whose write() hands back the line csv.writer made."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def _chunks(lines: Iterator[str]) -> Iterator[str]:
    """Lines joined CHUNK_ROWS at a time: fewer, larger writes to the client."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= CHUNK_ROWS:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


async def as_async(chunks: Iterator[str]) -> AsyncIterator[str]:
    """The same chunks for an ASGI server: each is read (its queries run) in the
    request's sync thread, instead of Django buffering a sync iterator whole."""
    done = object()
    step = sync_to_async(lambda: next(chunks, done), thread_sensitive=True)
    while (chunk := await step()) is not done:
        yield chunk  # type: ignore[misc]


ORDER_HEADER = [
    "order_id",
    "created_at",
    "paid_at",
    "refunded_at",
    "canceled_at",
    "status",
    "email",
    "currency",
    "order_total",
    "stripe_amount",
    "stripe_session_id",
    "stripe_payment_intent_id",
    "stripe_refund_id",
    "needs_review",
    "line",
    "product_id",
    "product",
    "unit_price",
    "quantity",
    "line_total",
]


def _order_rows(period: Period, parts: list[RevenuePart]) -> Iterator[list[Any]]:
    orders = (
        Order.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .order_by("created_at", "id")
        .prefetch_related("lines")
    )
    for order in orders.iterator(chunk_size=CHUNK_ROWS):
        head = [
            order.pk,
            _when(order.created_at),
            _when(order.paid_at),
            _when(order.refunded_at),
            _when(order.canceled_at),
            order.status,
            order.email,
            order.currency.upper(),
            major_units(order.amount_total, order.currency),
            major_units(order.stripe_amount_total, order.stripe_currency or order.currency),
            *(major_units(getattr(order, part.field), order.currency) for part in parts),
            order.stripe_session_id or "",
            order.stripe_payment_intent_id,
            order.stripe_refund_id,
            "yes" if order.needs_review else "",
        ]
        lines = list(order.lines.all())
        if not lines:
            yield [*head, "", "", "", "", "", ""]
        for number, line in enumerate(lines, start=1):
            yield [
                *head,
                number,
                line.product_id or "",
                line.name,
                major_units(line.unit_amount, order.currency),
                line.quantity,
                major_units(line.line_total, order.currency),
            ]


def orders_csv(*, period: Period) -> Iterator[str]:
    """Orders placed in the period, one row per line, oldest first. The order's
    shipping, tax and discount get columns once Order records them."""
    parts = list(REVENUE_PARTS)
    at = ORDER_HEADER.index("stripe_amount") + 1
    header = [*ORDER_HEADER[:at], *(part.key for part in parts), *ORDER_HEADER[at:]]
    return _chunks(csv_lines(header, _order_rows(period, parts)))


LEDGER_HEADER = [
    "movement_id",
    "created_at",
    "product_id",
    "product",
    "delta",
    "reason",
    "order_id",
    "staff",
    "note",
]


def _ledger_rows(period: Period) -> Iterator[list[Any]]:
    movements = (
        StockMovement.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .select_related("product", "staff")
        .order_by("created_at", "id")
    )
    for movement in movements.iterator(chunk_size=CHUNK_ROWS):
        yield [
            movement.pk,
            _when(movement.created_at),
            movement.product_id,
            movement.product.name,
            movement.delta,
            movement.reason,
            movement.order_id or "",
            movement.staff.email if movement.staff else "",
            movement.note,
        ]


def stock_ledger_csv(*, period: Period) -> Iterator[str]:
    """Stock movements made in the period, oldest first."""
    return _chunks(csv_lines(LEDGER_HEADER, _ledger_rows(period)))
