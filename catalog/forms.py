"""Staff forms of the catalog."""

from django import forms

from catalog.models import Product
from theme.forms import PriceField
from theme.money import MoneyError, price_example, shop_currency


class ProductAdminForm(forms.ModelForm):
    """The admin's product form: the price is typed as people write it ("12.50"), in the
    product's currency, which is the shop's and is not edited here."""

    unit_amount = PriceField(label="Price")

    class Meta:
        model = Product
        # The admin passes its fieldsets' fields instead; currency is never among them.
        fields = [
            "name",
            "slug",
            "description",
            "image",
            "unit_amount",
            "stock_on_hand",
            "reorder_level",
            "is_active",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        currency = self.instance.currency if self.instance.pk else shop_currency()
        price = self.fields["unit_amount"]
        assert isinstance(price, PriceField)
        price.currency = currency
        price.label = f"Price ({currency.upper()})"
        try:
            price.help_text = f"As shoppers read it, e.g. {price_example(currency)}."
        except MoneyError:
            price.help_text = ""  # not the shop's currency: Product.clean() says so
