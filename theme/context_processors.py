from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict:
    """The shop's name, and what its prices say about tax, for the layout."""
    return {"SHOP_NAME": settings.SHOP_NAME, "PRICE_TAX_NOTE": price_tax_note()}


def price_tax_note() -> str:
    """What a price says about tax: "incl. VAT" when Stripe Tax is on and prices include
    it, "Tax calculated at checkout" when it is added; nothing with tax off."""
    if not settings.STRIPE_TAX_ENABLED:
        return ""
    if settings.TAX_BEHAVIOR == "inclusive":
        return "incl. VAT"
    return "Tax calculated at checkout"
