"""Fulfilment, the second axis of a paid order, moved by staff:

    unfulfilled ──► packed ──► shipped (carrier, tracking) ──► delivered

Each step is a conditional change under the order's row lock, like the payment
transitions: a step taken twice, or out of turn, changes nothing. Only paid orders
move: an order that is refunding or refunded is never packed or shipped.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog import inventory
from checkout.models import Order, OrderNotification
from checkout.services.notifications import notification_queue

F = Order.Fulfilment


class FulfilmentRefused(ValueError):
    """A step this order cannot take now; the message is for staff."""


@dataclass(frozen=True)
class Tracking:
    carrier: str
    number: str
    url: str = ""


def _locked_paid(order_id: int) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    if not order.can_be_fulfilled:
        raise FulfilmentRefused(
            f"Order #{order.pk} is {order.get_status_display().lower()}: only paid orders "
            "are packed or shipped."
        )
    return order


@transaction.atomic
def order_pack(*, order_id: int, staff: User | None = None) -> Order:
    """unfulfilled -> packed. Raises FulfilmentRefused for an order not paid or already
    past packing."""
    order = _locked_paid(order_id)
    if order.fulfilment_status != F.UNFULFILLED:
        raise FulfilmentRefused(f"Order #{order.pk} is already {order.fulfilment_status}.")
    order.fulfilment_status = F.PACKED
    order.packed_at = timezone.now()
    order.save(update_fields=["fulfilment_status", "packed_at", "updated_at"])
    return order


@transaction.atomic
def order_ship(*, order_id: int, tracking: Tracking, staff: User | None = None) -> Order:
    """unfulfilled or packed -> shipped, with the carrier and tracking. The goods leave
    the shelf (their units no longer wait to ship) and the shopper is emailed, once.
    `tracking.url` must be an http or https link (the form validates it)."""
    order = _locked_paid(order_id)
    if order.fulfilment_status not in (F.UNFULFILLED, F.PACKED):
        raise FulfilmentRefused(f"Order #{order.pk} is already {order.fulfilment_status}.")
    if tracking.url and not tracking.url.lower().startswith(("http://", "https://")):
        raise FulfilmentRefused("A tracking link must start with http:// or https://.")
    now = timezone.now()
    order.fulfilment_status = F.SHIPPED
    order.packed_at = order.packed_at or now
    order.shipped_at = now
    order.carrier = tracking.carrier.strip()
    order.tracking_number = tracking.number.strip()
    order.tracking_url = tracking.url.strip()
    order.save(
        update_fields=[
            "fulfilment_status",
            "packed_at",
            "shipped_at",
            "carrier",
            "tracking_number",
            "tracking_url",
            "updated_at",
        ]
    )
    inventory.stock_ship(order_id=order.pk)
    notification_queue(order=order, kind=OrderNotification.Kind.SHIPPED)
    return order


@transaction.atomic
def order_deliver(*, order_id: int, staff: User | None = None) -> Order:
    """shipped -> delivered. A refunded order that had shipped may still be marked
    delivered (the goods did arrive); any other order must be shipped first."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.fulfilment_status != F.SHIPPED:
        raise FulfilmentRefused(f"Order #{order.pk} has not shipped.")
    order.fulfilment_status = F.DELIVERED
    order.delivered_at = timezone.now()
    order.save(update_fields=["fulfilment_status", "delivered_at", "updated_at"])
    return order
