"""Delivery options staff offer at checkout."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ShippingRate(models.Model):
    """A delivery option staff offer. Up to five active rates go to Stripe with each
    checkout, as inline shipping_rate_data carrying this rate's id in its metadata."""

    class TaxBehavior(models.TextChoices):
        UNSPECIFIED = "unspecified", "Unspecified"
        INCLUSIVE = "inclusive", "Inclusive"
        EXCLUSIVE = "exclusive", "Exclusive"

    name = models.CharField(max_length=100, help_text="Shown to shoppers, e.g. 'Standard'")
    amount = models.PositiveIntegerField(help_text="Price in minor units, e.g. 490 = 4.90")
    currency = models.CharField(max_length=3, default=settings.SHOP_CURRENCY)
    min_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Business days, at the soonest"
    )
    max_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Business days, at the latest"
    )
    free_over_amount = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Free when the items cost at least this (minor units); empty: never free",
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    tax_behavior = models.CharField(
        max_length=12, choices=TaxBehavior.choices, default=TaxBehavior.UNSPECIFIED
    )
    tax_code = models.CharField(
        max_length=40, blank=True, help_text="Stripe tax code, e.g. txcd_92010001"
    )

    class Meta:
        ordering = ["sort_order", "amount", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_days__isnull=True)
                | Q(max_days__isnull=True)
                | Q(min_days__lte=F("max_days")),
                name="shipping_rate_days_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def amount_for(self, *, items_amount: int) -> int:
        """What this rate costs for items worth `items_amount` (free above its threshold)."""
        if self.free_over_amount is not None and items_amount >= self.free_over_amount:
            return 0
        return self.amount
