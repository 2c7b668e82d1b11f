"""Staff forms of the checkout admin."""

from django import forms
from django.conf import settings

from checkout.models import ShippingRate
from theme.forms import PriceField
from theme.money import shop_currency


class ShippingRateForm(forms.ModelForm):
    """Prices typed as people write them, in the shop's currency (a rate in another one
    would never be offered)."""

    amount = PriceField(label="Price", allow_zero=True, help_text="0.00 for free delivery")
    free_over_amount = PriceField(
        label="Free from",
        required=False,
        help_text="Free when the items cost at least this; empty: never free",
    )

    class Meta:
        model = ShippingRate
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        currency = shop_currency()
        for name in ("amount", "free_over_amount"):
            field = self.fields[name]
            assert isinstance(field, PriceField)
            field.currency = currency
            field.label = f"{field.label} ({currency.upper()})"

    def clean(self) -> dict:
        data = super().clean() or {}
        low, high = data.get("min_days"), data.get("max_days")
        if low is not None and high is not None and low > high:
            self.add_error("max_days", "The latest day cannot come before the soonest.")
        return data

    def save(self, commit: bool = True) -> ShippingRate:
        self.instance.currency = settings.SHOP_CURRENCY
        return super().save(commit=commit)
