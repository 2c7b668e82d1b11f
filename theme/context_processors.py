from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def shop(request: HttpRequest) -> dict:
    """The shop's name and the header's cart count (queried only when a page shows it)."""
    from checkout.selectors import cart_count

    return {
        "SHOP_NAME": settings.SHOP_NAME,
        "cart_count": SimpleLazyObject(lambda: cart_count(request=request)),
    }
