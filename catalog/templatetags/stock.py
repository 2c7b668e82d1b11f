"""Template helpers for live stock badges: {% load stock %}."""

import json

from django import template
from django.conf import settings

from catalog.badges import stock_version

register = template.Library()


@register.inclusion_tag("catalog/_stock_poller.html")
def stock_poller(products, *, detail: bool = False, oob: bool = False) -> dict:
    """The page's one badge poller, carrying the version of the badges it shows.

    The version goes out as If-None-Match on every poll (hx-headers), so the
    endpoint answers 304 until something changes. The browser's own revalidation
    is not enough: it turns a 304 into a 200 with the cached body for XHR, and
    htmx would swap every badge again on each poll.
    """
    products = list(products)
    return {
        "ids": ",".join(str(product.pk) for product in products),
        "headers": json.dumps({"If-None-Match": stock_version(products)}),
        "seconds": getattr(settings, "STOCK_POLL_SECONDS", 5),
        "detail": detail,
        "oob": oob,
    }
