"""Changing stock in tests the way the shop does: through the ledger."""

from catalog import inventory
from catalog.models import Product


def stock_set(product: Product, on_hand: int) -> None:
    """Bring `product` to `on_hand` units by a receipt or a write-off, so the ledger
    (and `check_inventory`) still agree; `product` is updated too."""
    current = Product.objects.get(pk=product.pk).stock_on_hand
    if on_hand > current:
        inventory.stock_receive(
            product_id=product.pk, quantity=on_hand - current, staff=None, note="test"
        )
    elif on_hand < current:
        inventory.stock_write_off(
            product_id=product.pk, quantity=current - on_hand, staff=None, note="test"
        )
    product.stock_on_hand = on_hand
