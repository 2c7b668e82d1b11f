"""The client's address and scheme come from X-Forwarded-For and X-Forwarded-Proto only
when the request came from a trusted proxy (theme/forwarded.py), so that per-address
rate limits count shoppers, not the proxy, and no client can choose its own address."""

from django.http import HttpResponse
from django.test import RequestFactory

from theme.forwarded import ForwardedMiddleware, client_address, proxies_parse

PROXY = "172.30.0.10"
PROXIES = proxies_parse(("172.30.0.10", "10.1.0.0/16"))


def seen(request):
    """What the view sees: the address and whether the request is secure."""
    return HttpResponse(f"{request.META['REMOTE_ADDR']} {request.is_secure()}")


def through(settings, *, peer: str, **headers) -> str:
    settings.TRUSTED_PROXIES = [PROXY]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", REMOTE_ADDR=peer, **headers)
    return ForwardedMiddleware(seen)(request).content.decode()


def test_the_proxy_names_the_client_and_the_scheme(settings):
    answer = through(
        settings,
        peer=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert answer == "203.0.113.7 True"


def test_a_client_talking_to_the_shop_directly_cannot_choose_its_address_or_scheme(settings):
    answer = through(
        settings,
        peer="198.51.100.9",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert answer == "198.51.100.9 False"


def test_the_address_a_client_wrote_before_the_proxys_own_is_ignored():
    """The proxy appends the peer it saw; anything left of it came from the client."""
    assert (
        client_address(peer=PROXY, forwarded_for="1.2.3.4, 203.0.113.7", proxies=PROXIES)
        == "203.0.113.7"
    )


def test_chained_proxies_are_walked_back_to_the_first_untrusted_address():
    assert (
        client_address(peer=PROXY, forwarded_for="9.9.9.9, 203.0.113.7, 10.1.2.3", proxies=PROXIES)
        == "203.0.113.7"
    )


def test_a_malformed_entry_ends_the_walk_at_the_last_address_read():
    assert (
        client_address(peer=PROXY, forwarded_for="203.0.113.7, not-an-ip", proxies=PROXIES) == PROXY
    )
    assert client_address(peer=PROXY, forwarded_for=" 2001:DB8::1 ", proxies=PROXIES) == (
        "2001:db8::1"
    )


def test_a_request_from_the_proxy_without_the_header_keeps_the_proxys_address(settings):
    assert through(settings, peer=PROXY) == f"{PROXY} False"


def test_networks_are_trusted_as_a_whole():
    assert client_address(peer="10.1.200.3", forwarded_for="203.0.113.7", proxies=PROXIES) == (
        "203.0.113.7"
    )
    assert client_address(peer="10.2.0.1", forwarded_for="203.0.113.7", proxies=PROXIES) == (
        "10.2.0.1"
    )


def test_the_middleware_comes_before_anything_that_reads_the_address(settings):
    assert settings.MIDDLEWARE[0] == "theme.forwarded.ForwardedMiddleware"


def test_django_serves_media_only_where_it_is_told_to(settings):
    from config.urls import media_urlpatterns

    settings.SERVE_MEDIA = True  # development and tests
    assert [str(p.pattern) for p in media_urlpatterns()] == ["^media/(?P<path>.*)$"]
    settings.SERVE_MEDIA = False  # production: the proxy serves them
    assert media_urlpatterns() == []


def test_allauths_rate_limits_count_the_address_the_proxy_named(settings):
    """allauth takes REMOTE_ADDR (ALLAUTH_TRUSTED_PROXY_COUNT is left at 0: the
    middleware has already read the proxy's header)."""
    from allauth.account.adapter import get_adapter

    settings.TRUSTED_PROXIES = [PROXY]
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    ForwardedMiddleware(seen)(request)

    assert get_adapter(request).get_client_ip(request) == "203.0.113.7"
    assert not getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
