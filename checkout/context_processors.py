from functools import cache

from django.http import HttpRequest

from checkout.selectors import cart_count


def cart(request: HttpRequest) -> dict:
    """The header's cart count, queried only when a page shows it: templates call a
    callable, cached so the count is queried once per request."""
    return {"cart_count": cache(lambda: cart_count(request=request))}
