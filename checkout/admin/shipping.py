"""Shipping rates: the delivery options checkouts offer."""

from django.contrib import admin

from checkout.admin.forms import ShippingRateForm
from checkout.models import ShippingRate
from theme.templatetags.shop import money


@admin.register(ShippingRate)
class ShippingRateAdmin(admin.ModelAdmin):
    """Delivery options: the active ones in the shop's currency go to Stripe with each
    checkout (at most five, cheapest first), priced for the cart."""

    form = ShippingRateForm
    list_display = ["name", "price", "estimate", "free_over", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]
    fields = [
        "name",
        "amount",
        "min_days",
        "max_days",
        "free_over_amount",
        "is_active",
        "sort_order",
        "tax_behavior",
        "tax_code",
    ]

    @admin.display(description="Price", ordering="amount")
    def price(self, rate: ShippingRate) -> str:
        return money(rate.amount, rate.currency)

    @admin.display(description="Delivery")
    def estimate(self, rate: ShippingRate) -> str:
        if rate.min_days is None and rate.max_days is None:
            return "—"
        if rate.min_days == rate.max_days or rate.max_days is None:
            return f"{rate.min_days} business days"
        if rate.min_days is None:
            return f"up to {rate.max_days} business days"
        return f"{rate.min_days}–{rate.max_days} business days"

    @admin.display(description="Free from")
    def free_over(self, rate: ShippingRate) -> str:
        return "—" if rate.free_over_amount is None else money(rate.free_over_amount, rate.currency)
