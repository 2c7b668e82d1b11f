"""Who the client is, behind the proxy: X-Forwarded-For and X-Forwarded-Proto, believed
only from the proxy itself.

In production every request reaches the shop through its proxy (docker-compose.yml's
`proxy`, deploy/nginx/), so the TCP peer is the proxy and the shopper's address is in
X-Forwarded-For, set by the proxy. The per-address rate limits (allauth's
ACCOUNT_RATE_LIMITS, checkout.ratelimit) must count shoppers, not the proxy. But anyone
can send those headers: a client talking to the shop directly could claim any address
(and dodge every per-address limit) or claim HTTPS. So this middleware, first in
MIDDLEWARE:

- when the request came from one of TRUSTED_PROXIES (addresses or networks), takes the
  client's address from X-Forwarded-For: the right-most address that is not itself a
  trusted proxy (each proxy appends the peer it saw; what is left of the proxies' own
  entries was written by the client and proves nothing), and keeps X-Forwarded-Proto
  for SECURE_PROXY_SSL_HEADER;
- otherwise removes both headers, so that neither REMOTE_ADDR nor request.is_secure()
  can be chosen by the client.

uvicorn's own --proxy-headers trusts 127.0.0.1 only; behind a proxy on another host
it changes nothing, and this middleware decides.
"""

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"
FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


@lru_cache(maxsize=8)
def proxies_parse(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks ("10.0.0.5", "172.30.0.0/24", "::1");
    ValueError for anything else."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


@lru_cache(maxsize=1024)
def is_trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    """Whether `address` is one of the trusted proxies (an address that is not an IP
    address never is)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def _address(text: str) -> str | None:
    """An IP address as the proxy wrote it, normalised; None when it is not one."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(*, peer: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The client's address: `peer` unless it is a trusted proxy, in which case the
    right-most address of X-Forwarded-For that is not a trusted proxy (or the left-most
    one, when every address is a proxy). A malformed entry ends the walk: what is left
    of it cannot be believed, so the last address read is the client's."""
    if not is_trusted(peer, proxies):
        return peer
    client = peer
    for entry in reversed(forwarded_for.split(",")):
        address = _address(entry)
        if address is None:
            break
        client = address
        if not is_trusted(address, proxies):
            break
    return client


class ForwardedMiddleware:
    """REMOTE_ADDR and X-Forwarded-Proto as the trusted proxy reported them (module
    docstring). Put it first in MIDDLEWARE, before anything reads either."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        proxies = proxies_parse(tuple(settings.TRUSTED_PROXIES))
        meta = request.META
        peer = meta.get("REMOTE_ADDR") or ""
        if is_trusted(peer, proxies):
            forwarded_for = meta.get(FORWARDED_FOR, "")
            if forwarded_for:
                meta["REMOTE_ADDR"] = client_address(
                    peer=peer, forwarded_for=forwarded_for, proxies=proxies
                )
        else:
            meta.pop(FORWARDED_FOR, None)
            meta.pop(FORWARDED_PROTO, None)
        return self.get_response(request)
