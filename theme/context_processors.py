from functools import cache

from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict:
    """The shop's name and the header's cart count (queried only when a page shows it)."""
    from checkout.selectors import cart_count

    # Templates call a callable; cached so the count is queried once per request.
    return {
        "SHOP_NAME": settings.SHOP_NAME,
        "cart_count": cache(lambda: cart_count(request=request)),
    }
