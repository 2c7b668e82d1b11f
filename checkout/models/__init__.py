"""checkout's models, one module per concept; Django finds them all here."""

from checkout.models.cart import Cart, CartItem
from checkout.models.notifications import OrderNotification
from checkout.models.order import Order, OrderLine
from checkout.models.shipping import ShippingRate
from checkout.models.stripe import ReconciliationRun, StripeEvent

__all__ = [
    "Cart",
    "CartItem",
    "Order",
    "OrderLine",
    "OrderNotification",
    "ReconciliationRun",
    "ShippingRate",
    "StripeEvent",
]
