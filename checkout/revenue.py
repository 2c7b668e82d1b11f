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
    field: str  # an integer field of Order (minor units), as Stripe reported it
    sign: int  # +1: part of the total (shipping, tax); -1: taken off it (discount)


# The breakdown Stripe reports for each payment, each part a series of its own; "items"
# is what was charged less them (discounts added back), so the parts of a day always add
# up to what was charged that day.
REVENUE_PARTS: tuple[RevenuePart, ...] = (
    RevenuePart("shipping", "Shipping", "shipping_amount", +1),
    RevenuePart("tax", "Tax", "amount_tax", +1),
    RevenuePart("discount", "Discounts", "amount_discount", -1),
)
