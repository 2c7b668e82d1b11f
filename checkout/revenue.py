"""What a shopper was charged, and its parts (shipping, tax, discounts), as the staff
reports, charts and exports count them."""

from dataclasses import dataclass

from django.db.models import IntegerField
from django.db.models.functions import Coalesce

from checkout.models import Order

# What a shopper was charged: Stripe's total as recorded at payment, or the shop's own
# total for an order Stripe never confirmed (and in fixtures without Stripe).
CHARGED = Coalesce("stripe_amount_total", "amount_total", output_field=IntegerField())


def charged(order: Order) -> int:
    """CHARGED, for one order in memory."""
    return (
        order.stripe_amount_total if order.stripe_amount_total is not None else order.amount_total
    )


@dataclass(frozen=True)
class RevenuePart:
    key: str
    label: str
    fields: tuple[str, ...]  # integer fields of Order (minor units), the first found is used
    sign: int  # +1: part of the total (shipping, tax); -1: taken off it (discount)


# The seam for DESIGN.md 4 "Shipping": when Order records the breakdown Stripe reports
# (shipping cost, tax, discount), each part whose field exists appears as a series of
# its own, and "items" is what was charged less them (discounts added back), so the
# parts of a day always add up to what was charged that day. Orders with no such
# fields show one series, items.
REVENUE_PARTS: tuple[RevenuePart, ...] = (
    RevenuePart("shipping", "Shipping", ("shipping_amount", "amount_shipping"), +1),
    RevenuePart("tax", "Tax", ("amount_tax", "tax_amount"), +1),
    RevenuePart("discount", "Discounts", ("amount_discount", "discount_amount"), -1),
)


@dataclass(frozen=True)
class PresentPart:
    key: str
    label: str
    field: str
    sign: int


def revenue_parts_present() -> list[PresentPart]:
    """The parts of REVENUE_PARTS that Order has a field for."""
    fields = {f.name for f in Order._meta.concrete_fields}
    present = []
    for part in REVENUE_PARTS:
        name = next((f for f in part.fields if f in fields), None)
        if name:
            present.append(PresentPart(part.key, part.label, name, part.sign))
    return present
