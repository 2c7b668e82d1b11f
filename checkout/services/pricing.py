"""Tax and promotion codes at checkout, from settings.

With STRIPE_TAX_ENABLED, Stripe computes tax (automatic_tax): every price is sent as
TAX_BEHAVIOR (inclusive: the shop's prices contain the tax; exclusive: tax is added),
each product with its own tax code or STRIPE_TAX_DEFAULT_CODE. With
STRIPE_ALLOW_PROMOTION_CODES, shoppers may enter a code that staff created in Stripe's
dashboard. What Stripe computed (tax, discount) is stored on the order as it reports it.
"""

from collections.abc import Iterable

from django.conf import settings

from catalog.models import Product
from checkout.sessions import TaxAndDiscounts


def checkout_pricing() -> TaxAndDiscounts:
    return TaxAndDiscounts(
        automatic_tax=settings.STRIPE_TAX_ENABLED,
        tax_behavior=settings.TAX_BEHAVIOR if settings.STRIPE_TAX_ENABLED else None,
        allow_promotion_codes=settings.STRIPE_ALLOW_PROMOTION_CODES,
    )


def product_tax_codes(*, ids: Iterable[int]) -> dict[int, str]:
    """{product id: Stripe tax code}: the product's own, or the shop's default."""
    return {
        pk: code or settings.STRIPE_TAX_DEFAULT_CODE
        for pk, code in Product.objects.filter(pk__in=list(ids)).values_list("pk", "tax_code")
    }
