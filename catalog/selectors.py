"""Read-only queries about products that other apps' views need."""

from collections.abc import Iterable

from catalog.models import Product


def product_active_get(*, pk: int) -> Product | None:
    """A product that is for sale, or None (unknown or withdrawn)."""
    return Product.objects.active().filter(pk=pk).first()


def product_names(*, ids: Iterable[int]) -> dict[int, str]:
    """{id: name} of the products named by `ids` (unknown ids are left out)."""
    return dict(Product.objects.filter(pk__in=list(ids)).values_list("pk", "name"))
