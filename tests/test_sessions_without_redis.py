"""theme.sessions: with Redis configured, sessions are read from it and kept in the
database; when it is down, signing in, pages and signing out work on from the
database, and a cached copy lives at most SESSION_CACHE_SECONDS. Configured as in
production: the shared cache falls back to memory (theme.cache.FallbackRedisCache),
sessions have an alias of their own that always asks Redis."""

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client, override_settings
from django.urls import reverse

from accounts.factories import UserFactory
from theme import cache as shop_cache

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_tried_at_once")]

REDIS_TEST_URL = "redis://127.0.0.1:6379/13"
NOTHING_LISTENS = "redis://127.0.0.1:1/0"


def redis_at(url: str):
    redis_cache = {
        "LOCATION": url,
        "KEY_PREFIX": "shop",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    return override_settings(
        CACHES={
            "default": {"BACKEND": "theme.cache.FallbackRedisCache", **redis_cache},
            "sessions": {"BACKEND": "theme.cache.SharedPoolRedisCache", **redis_cache},
            "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        },
        SESSION_ENGINE="theme.sessions",
        SESSION_CACHE_ALIAS="sessions",
    )


def test_with_redis_down_sessions_are_made_read_and_ended_in_the_database():
    shopper = UserFactory(email="down@example.com")
    client = Client()
    with redis_at(NOTHING_LISTENS):
        client.force_login(shopper)  # a new session: exists() and save()
        page = client.get(reverse("dashboard:orders"))  # load(): not cached, then set()
        signed_out = client.post(reverse("account_logout"))  # delete()
        after = client.get(reverse("dashboard:orders"))

    assert page.status_code == 200 and "down@example.com" in page.content.decode()
    assert signed_out.status_code == 302
    assert after.status_code == 302  # to the sign-in page
    assert not Session.objects.exists()


def test_with_redis_down_a_shopper_signs_in_through_the_form(password):
    """allauth counts sign-in attempts in the cache: while Redis is down they are not
    counted (as the checkout's limits), and the shopper signs in."""
    shopper = UserFactory(email="form@example.com", password=password)
    client = Client()
    with redis_at(NOTHING_LISTENS):
        signed_in = client.post(
            reverse("account_login"), {"login": shopper.email, "password": password}
        )
        page = client.get(reverse("dashboard:orders"))
        wrong = Client().post(
            reverse("account_login"), {"login": shopper.email, "password": "not it"}
        )

    assert signed_in.status_code == 302
    assert page.status_code == 200 and "form@example.com" in page.content.decode()
    assert wrong.status_code == 200  # the form again, with its error; not a 500
    assert "not correct" in wrong.content.decode()


def test_with_redis_up_a_session_is_read_from_it_and_signing_out_removes_both(password):
    import redis

    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    shopper = UserFactory(email="up@example.com", password=password)
    client = Client()
    with redis_at(REDIS_TEST_URL):
        client.post(reverse("account_login"), {"login": shopper.email, "password": password})
        key = client.session.session_key
        cached = caches["sessions"].get(f"django.contrib.sessions.cached_db{key}")
        ttl = redis.Redis.from_url(REDIS_TEST_URL).ttl(
            caches["sessions"].make_key(f"django.contrib.sessions.cached_db{key}")
        )
        client.post(reverse("account_logout"))
        gone = caches["sessions"].get(f"django.contrib.sessions.cached_db{key}")

    assert cached is not None and cached["_auth_user_id"] == str(shopper.pk)
    assert 0 < ttl <= 3600  # SESSION_CACHE_SECONDS, not the session's two weeks
    assert gone is None
    assert not Session.objects.filter(session_key=key).exists()


def test_signing_out_while_the_shared_cache_keeps_to_memory_still_ends_the_session(password):
    """The shared cache leaves Redis alone for a while after a failure (one slow command
    is enough); sessions must not: a sign-out that skipped Redis, Redis being up, would
    leave the cached copy there to sign the shopper in again."""
    import redis

    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    shopper = UserFactory(email="out@example.com", password=password)
    client = Client()
    with redis_at(REDIS_TEST_URL):
        client.post(reverse("account_login"), {"login": shopper.email, "password": password})
        old_cookie = client.cookies["sessionid"].value
        caches["default"].get("warm")  # the shared cache's client exists
        shop_cache._unreachable_until[caches["default"]._client_key] = float("inf")
        client.post(reverse("account_logout"))
        shop_cache._unreachable_until.clear()
        again = Client()
        again.cookies["sessionid"] = old_cookie
        page = again.get(reverse("dashboard:orders"))

    assert page.status_code == 302  # to the sign-in page: the old cookie signs nobody in


def test_with_redis_down_each_fallback_is_logged_in_one_line(caplog):
    """An outage touches every request's session: one line each, not a traceback."""
    shopper = UserFactory(email="quiet@example.com")
    client = Client()
    with redis_at(NOTHING_LISTENS), caplog.at_level("WARNING", "theme.sessions"):
        client.force_login(shopper)
        client.get(reverse("dashboard:orders"))

    records = [r for r in caplog.records if r.name == "theme.sessions"]
    assert records and not any(r.exc_info for r in records)
    assert all("Connection refused" in r.getMessage() for r in records)
