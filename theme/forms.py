"""Form fields shared by the shop's apps."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from theme.money import MoneyError, amount_text, price_parse, shop_currency


class PriceField(forms.Field):
    """A price as people type it ("12.50"; "12,50" where SHOP_LOCALE writes it so),
    cleaned to integer minor units of `currency` (1250), as Product.unit_amount stores it.

    Refuses, each with its own message: anything but digits and the locale's separators,
    more decimals than the currency has ("12.5" JPY), zero, more than Stripe charges at
    once, and amounts Stripe cannot charge ("3.125" KWD, "12.50" ISK). `currency` (default
    the shop's) may be set after the form is built, as a form for an existing row does.
    """

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(
        self,
        *,
        currency: str | None = None,
        locale: str | None = None,
        allow_zero: bool = False,
        **kwargs,
    ):
        self.currency = currency
        self.locale = locale
        self.allow_zero = allow_zero  # a free shipping rate costs 0.00
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return amount_text(value, self.currency or shop_currency(), locale=self.locale)
            except MoneyError:
                return str(value)
        return value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already minor units (an initial value)
        if self.allow_zero and str(value).strip().strip("0").strip(".,") == "":
            return 0
        try:
            return price_parse(
                str(value), currency=self.currency or shop_currency(), locale=self.locale
            )
        except MoneyError as error:
            raise ValidationError(str(error), code="invalid") from None
