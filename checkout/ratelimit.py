"""Rate limits on checkout starts, counted in the shared cache (Redis in production),
so that every web process counts the same shopper and the same address together.

Each checkout start may cost an expire and a create at Stripe, whose own limits
(25 requests/s per endpoint in a sandbox, 100/s live) the whole shop shares.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _hit(key: str, limit: int, seconds: int) -> bool:
    """Count one request against `limit` per fixed window of `seconds`; True while
    within it. A cache that fails lets the request through."""
    window = int(time.time() // seconds)
    full_key = f"ratelimit:{key}:{window}"
    try:
        cache.add(full_key, 0, timeout=seconds + 1)
        count = cache.incr(full_key)
    except Exception:  # ValueError: the window ended between add() and incr(); or no cache
        return True
    return count <= limit


def _address_key(address: str) -> str:
    # Hashed: the cache never holds a shopper's address in clear.
    return hashlib.sha256(address.encode()).hexdigest()[:32]


def checkout_start_allowed(*, request: HttpRequest) -> bool:
    """Count a checkout start for the signed-in shopper and for the client address;
    False when either is over its limit (CHECKOUT_RATE_LIMIT_PER_USER / _PER_ADDRESS).

    REMOTE_ADDR is the client's address: uvicorn's --proxy-headers sets it from the
    trusted proxy's X-Forwarded-For.
    """
    allowed = True
    per_user = settings.CHECKOUT_RATE_LIMIT_PER_USER
    if per_user and request.user.is_authenticated:
        allowed &= _hit(f"checkout:user:{request.user.pk}", *per_user)
    per_address = settings.CHECKOUT_RATE_LIMIT_PER_ADDRESS
    address = request.META.get("REMOTE_ADDR") or ""
    if per_address and address:
        allowed &= _hit(f"checkout:addr:{_address_key(address)}", *per_address)
    return allowed
