"""Shipping: which delivery options a checkout offers, and staff correcting an address.

Stripe has no conditional rates and takes at most five options, so the shop decides
for each cart: its active rates in the order's currency, each priced for the cart (a
rate can be free above an amount), cheapest first when there are more than five.
"""

import logging
from dataclasses import asdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from checkout.models import Order, ShippingRate
from checkout.sessions import ADDRESS_FIELDS, ShippingOption

logger = logging.getLogger(__name__)

STRIPE_MAX_SHIPPING_OPTIONS = 5


def shipping_options_for(*, currency: str, items_amount: int) -> list[ShippingOption]:
    """The delivery options to offer for items worth `items_amount`, at most five."""
    rates = ShippingRate.objects.filter(is_active=True, currency=currency).order_by(
        "sort_order", "amount", "id"
    )
    options = [
        ShippingOption(
            rate_id=rate.pk,
            name=rate.name,
            amount=rate.amount_for(items_amount=items_amount),
            min_days=rate.min_days,
            max_days=rate.max_days,
            tax_behavior=_tax_behavior(rate),
            tax_code=rate.tax_code,
        )
        for rate in rates
    ]
    if len(options) > STRIPE_MAX_SHIPPING_OPTIONS:
        logger.warning("shipping: %s active rates; offering the 5 cheapest", len(options))
        options = sorted(options, key=lambda o: o.amount)[:STRIPE_MAX_SHIPPING_OPTIONS]
    return options


def _tax_behavior(rate: ShippingRate) -> str:
    """A rate's own tax behaviour; with Stripe Tax on, an unspecified one follows the
    shop's prices (Stripe needs one for every rate it taxes)."""
    if rate.tax_behavior != ShippingRate.TaxBehavior.UNSPECIFIED:
        return rate.tax_behavior
    return settings.TAX_BEHAVIOR if settings.STRIPE_TAX_ENABLED else rate.tax_behavior


def shipping_offered_record(options: list[ShippingOption]) -> list[dict]:
    """What an order keeps of its offer: sent to Stripe from it, and the chosen rate is
    checked against it when the payment is confirmed."""
    return [asdict(option) for option in options]


def shipping_countries() -> list[str]:
    return list(settings.SHIPPING_COUNTRIES)


class AddressCorrectionRefused(ValueError):
    """The address can no longer be corrected (the order has shipped, or is not paid)."""


@transaction.atomic
def order_shipping_address_correct(
    *, order_id: int, name: str, address: dict[str, str], staff: User
) -> Order:
    """Staff correct the address of a paid order before it ships; who and when are kept.

    Raises AddressCorrectionRefused once the order is shipped (or not paid).
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Order.Status.PAID or order.fulfilment_status in (
        Order.Fulfilment.SHIPPED,
        Order.Fulfilment.DELIVERED,
    ):
        raise AddressCorrectionRefused("Only a paid order that has not shipped can be changed.")
    order.shipping_name = name.strip()
    order.shipping_address = {
        key: address[key].strip() for key in ADDRESS_FIELDS if address.get(key, "").strip()
    }
    order.shipping_address_corrected_by = staff
    order.shipping_address_corrected_at = timezone.now()
    order.save(
        update_fields=[
            "shipping_name",
            "shipping_address",
            "shipping_address_corrected_by",
            "shipping_address_corrected_at",
            "updated_at",
        ]
    )
    return order
