"""checkout's admin, one module per concept; Django's autodiscovery imports this
package, which registers them all."""

from checkout.admin import carts, events, orders, reconciliation, shipping

__all__ = ["carts", "events", "orders", "reconciliation", "shipping"]
