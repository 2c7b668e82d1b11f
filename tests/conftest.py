"""Shared fixtures. PostgreSQL-only and browser tests run where their tools exist;
otherwise they are skipped and one line at the end of the run says so."""

import os
import shutil

import pytest
from django.conf import settings

from accounts.factories import PASSWORD, UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
_skipped: dict[str, str] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not settings.IS_POSTGRES:
            _skipped["postgres"] = "PostgreSQL tests skipped: DATABASE_URL does not name PostgreSQL"
            item.add_marker(pytest.mark.skip(reason=_skipped["postgres"]))
        if "browser" in item.keywords and not CHROMIUM:
            _skipped["browser"] = "browser tests skipped: Chromium not found (apt install chromium)"
            item.add_marker(pytest.mark.skip(reason=_skipped["browser"]))


def pytest_terminal_summary(terminalreporter):
    for line in _skipped.values():
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture(autouse=True)
def _empty_shared_cache():
    """Every test starts with an empty shared cache: rate limits, Stripe's circuit
    breaker and allauth's counters never carry over from one test to the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def shopper_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def htmx_headers() -> dict[str, str]:
    return {"HX-Request": "true"}


@pytest.fixture
def redis_tried_at_once():
    """The shared cache (theme.cache.FallbackRedisCache) tries Redis at its first call
    and has nothing in its fallback memory, before and after the test."""
    from theme import cache as shop_cache

    shop_cache._unreachable_until.clear()
    shop_cache._fallbacks.clear()
    yield
    shop_cache._unreachable_until.clear()
    shop_cache._fallbacks.clear()
