"""Stock on hand and its ledger: the only code that writes `Product.stock_on_hand`.

Every change is one StockMovement plus an F() update of the product, in the same
transaction, under the product's row lock; nothing writes back a number read earlier.
So for every product, stock on hand equals the sum of its movements
(`manage.py check_inventory` proves it).

Goods leave the shelf at shipping, not at payment: stock on hand drops when a payment
is confirmed, while the units stay on the shelf, held by consumed reservations, until
they ship. A count compares the shelf with on hand plus those units.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from catalog.alerts import low_stock_alert_queue
from catalog.models import Product, StockMovement, StockReservation

logger = logging.getLogger(__name__)

R = StockMovement.Reason


class StockError(ValueError):
    """A stock operation that would take stock below zero; the message is for staff."""


@dataclass(frozen=True)
class StockChange:
    product_id: int
    before: int
    after: int


def _move(
    *,
    product: Product,
    delta: int,
    reason: str,
    order_id: int | None = None,
    staff: User | None = None,
    note: str = "",
    now: datetime | None = None,
) -> StockChange:
    """Record one movement and apply it. `product` must be locked (select_for_update)
    in the current transaction, so its stock_on_hand is the current one."""
    if delta == 0:
        raise StockError("A stock movement changes stock: zero is not a movement.")
    if product.stock_on_hand + delta < 0:
        raise StockError(
            f"{product.name}: {product.stock_on_hand} on hand, cannot take away {-delta}."
        )
    now = now or timezone.now()
    StockMovement.objects.create(
        product=product, delta=delta, reason=reason, order_id=order_id, staff=staff, note=note
    )
    Product.objects.filter(pk=product.pk).update(
        stock_on_hand=F("stock_on_hand") + delta, updated_at=now
    )
    before = product.stock_on_hand
    product.stock_on_hand = before + delta
    return StockChange(product_id=product.pk, before=before, after=before + delta)


def _locked(product_id: int) -> Product:
    return Product.objects.select_for_update().get(pk=product_id)


def products_lock(*, ids: Mapping[int, object] | list[int]) -> dict[int, Product]:
    """Lock products in id order (the one order in which the shop ever locks them, so
    two transactions over the same products cannot deadlock) and return them by id."""
    locked = Product.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk")
    return {p.pk: p for p in list(locked)}


# --- What the shop does ----------------------------------------------------------------


@transaction.atomic
def stock_opening_record(*, product: Product, staff: User | None = None, note: str = "") -> None:
    """A product was created with stock: write its opening balance so the ledger holds
    it. Stock on hand already is that number; nothing else changes."""
    if product.stock_on_hand and not StockMovement.objects.filter(product=product).exists():
        StockMovement.objects.create(
            product=product,
            delta=product.stock_on_hand,
            reason=R.OPENING,
            staff=staff,
            note=note or "Stock when the product was created",
        )


def stock_sell(
    *, products: Mapping[int, Product], needed: Mapping[int, int], order_id: int
) -> list[StockChange]:
    """A confirmed payment takes `needed` ({product id: units}) off stock on hand.

    Runs inside the caller's transaction, with `products` already locked in id order
    (the payment locks the order first, then its products). Staff are emailed about
    each product this sale takes to its reorder level or below: the email is queued in
    this transaction, so it goes if and only if the sale commits.
    """
    now = timezone.now()
    changes = [
        _move(product=products[pid], delta=-units, reason=R.SALE, order_id=order_id, now=now)
        for pid, units in sorted(needed.items())
    ]
    crossed = [
        change.product_id
        for change in changes
        if change.before > products[change.product_id].reorder_level >= change.after
    ]
    if crossed:
        low_stock_alert_queue(product_ids=crossed)
    return changes


def stock_restock_refund(*, lines: Mapping[int, int], order_id: int) -> None:
    """Units of a refunded order that are back on the shelf go back on hand. Runs in the
    caller's transaction (the refund's, which holds the order's row lock)."""
    products = products_lock(ids=sorted(lines))
    for pid, units in sorted(lines.items()):
        if pid in products:
            _move(
                product=products[pid],
                delta=units,
                reason=R.REFUND_RESTOCK,
                order_id=order_id,
                note="Refunded; the goods are on the shelf",
            )


def stock_ship(*, order_id: int) -> int:
    """An order's goods left the shelf: its paid units no longer wait to be shipped
    (stock on hand already dropped at payment). Returns the units shipped."""
    shipped = StockReservation.objects.filter(
        order_id=order_id, status=StockReservation.Status.CONSUMED
    )
    units = shipped.aggregate(total=Sum("quantity"))["total"] or 0
    shipped.update(status=StockReservation.Status.SHIPPED)
    return units


# --- What staff do ---------------------------------------------------------------------


@transaction.atomic
def stock_receive(*, product_id: int, quantity: int, staff: User | None, note: str) -> StockChange:
    """Goods arrived: +quantity on hand."""
    if quantity < 1:
        raise StockError("Receive at least 1 unit.")
    return _move(
        product=_locked(product_id), delta=quantity, reason=R.RECEIVED, staff=staff, note=note
    )


@transaction.atomic
def stock_write_off(
    *, product_id: int, quantity: int, staff: User | None, note: str
) -> StockChange:
    """Goods lost or damaged: -quantity on hand. Refused (StockError) below zero."""
    if quantity < 1:
        raise StockError("Write off at least 1 unit.")
    return _move(
        product=_locked(product_id), delta=-quantity, reason=R.WRITE_OFF, staff=staff, note=note
    )


def units_awaiting_shipment(*, product_id: int) -> int:
    """Units paid for and not yet shipped: off stock on hand, still on the shelf."""
    return (
        StockReservation.objects.filter(
            product_id=product_id, status=StockReservation.Status.CONSUMED
        ).aggregate(total=Sum("quantity"))["total"]
        or 0
    )


@transaction.atomic
def stock_count(*, product_id: int, counted: int, staff: User, note: str) -> StockChange | None:
    """Staff counted `counted` units on the shelf. The correction is worked out now,
    under the row lock: counted - (on hand + units paid for but not yet shipped), never
    from a number shown when the form was opened. None when the count agrees."""
    if counted < 0:
        raise StockError("A count cannot be negative.")
    product = _locked(product_id)
    on_shelf = product.stock_on_hand + units_awaiting_shipment(product_id=product_id)
    delta = counted - on_shelf
    if delta == 0:
        return None
    if product.stock_on_hand + delta < 0:
        raise StockError(
            f"{product.name}: {counted} counted, but {on_shelf - product.stock_on_hand} "
            "units of paid orders are still waiting to ship; count again."
        )
    return _move(
        product=product,
        delta=delta,
        reason=R.COUNT,
        staff=staff,
        note=note or f"Counted {counted} on the shelf",
    )


# --- Proof -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryReport:
    products: int
    mismatches: list[str]
    warnings: list[str]

    def summary(self) -> str:
        verdict = "OK" if not self.mismatches else "MISMATCH"
        return (
            f"check_inventory: {verdict}: {self.products} products, "
            f"{len(self.mismatches)} mismatches, {len(self.warnings)} warnings"
        )


def inventory_check(*, now: datetime | None = None) -> InventoryReport:
    """Stock on hand against the ledger, for every product, in two queries."""
    now = now or timezone.now()
    rows = (
        Product.objects.with_availability(now=now)
        .annotate(ledger=Sum("movements__delta"))
        .order_by("pk")
        .values_list("pk", "name", "stock_on_hand", "ledger", "reserved")
    )
    mismatches, warnings, count = [], [], 0
    for pk, name, on_hand, ledger, reserved in rows:
        count += 1
        ledger = ledger or 0
        if on_hand != ledger:
            mismatches.append(
                f"product {pk} {name!r}: stock on hand {on_hand}, movements add up to {ledger}"
            )
        if on_hand < 0:
            mismatches.append(f"product {pk} {name!r}: stock on hand {on_hand} is negative")
        if reserved > on_hand:
            warnings.append(
                f"product {pk} {name!r}: {reserved} units held in open checkouts, {on_hand} on hand"
            )
    return InventoryReport(products=count, mismatches=mismatches, warnings=warnings)
