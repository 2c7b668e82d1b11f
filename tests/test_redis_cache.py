"""With REDIS_URL, the cache shares one Redis connection pool per process (theme.cache),
and sessions are read from Redis and kept in the database too (cached_db).

Needs Redis on 127.0.0.1:6379 (REDIS_TEST_URL names another), as every machine the
shop is tested on has; database 13 is emptied first."""

import asyncio
import os

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.test import override_settings

from tests.test_settings_guard import production_env, start
from tests.threads import in_a_loop_of_its_own

redis = pytest.importorskip("redis")
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/13")
SHARED = {
    "default": {"BACKEND": "theme.cache.SharedPoolRedisCache", "LOCATION": REDIS_TEST_URL},
    "plain": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_TEST_URL},
}


@pytest.fixture
def server():
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def calls_counted(monkeypatch, owner: type, method: str, alias: str, requests: int) -> int:
    """How often `owner.method` ran while `requests` ASGI-like requests (each its own
    async context, as Django's ASGI handler runs them) each set and read a key."""
    calls = []
    original = getattr(owner, method)

    def counted(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, counted)

    def request(number: int) -> object:
        cache = caches[alias]
        cache.set(f"k{number}", number)
        return cache.get(f"k{number}")

    async def serve() -> list[object]:
        return [await asyncio.create_task(sync_to_async(request)(n)) for n in range(requests)]

    with override_settings(CACHES=SHARED):
        answers = in_a_loop_of_its_own(serve())
    assert answers == list(range(requests))
    return len(calls)


def connections_opened(monkeypatch, alias: str, requests: int) -> int:
    return calls_counted(monkeypatch, redis.connection.Connection, "_connect", alias, requests)


def redis_clients_made(monkeypatch, alias: str, requests: int) -> int:
    return calls_counted(monkeypatch, redis.Redis, "__init__", alias, requests)


def test_requests_share_one_connection_pool(server, monkeypatch):
    assert connections_opened(monkeypatch, "default", 40) == 1


def test_cache_calls_share_one_redis_client(server, monkeypatch):
    """Each redis.Redis builds its table of response callbacks: made once per process
    (none here if an earlier test of this process made it), not per call."""
    assert redis_clients_made(monkeypatch, "default", 40) <= 1


def test_djangos_own_redis_cache_makes_a_client_per_call(server, monkeypatch):
    """The reference: fails if Django ever keeps its clients (a set and a get each)."""
    assert redis_clients_made(monkeypatch, "plain", 40) >= 80


def test_djangos_own_redis_cache_connects_per_request(server, monkeypatch):
    """What theme.cache fixes: this reference fails if Django ever shares its clients."""
    assert connections_opened(monkeypatch, "plain", 40) >= 30


def test_with_redis_sessions_are_read_from_redis_and_kept_in_the_database():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_ENGINE, s.CACHES['default']['BACKEND'], "
        "s.SESSION_CACHE_ALIAS, s.CACHES[s.SESSION_CACHE_ALIAS]['BACKEND'])"
    )
    with_redis = start(production_env(REDIS_URL=REDIS_TEST_URL), code)
    without = start(production_env(), code)

    assert with_redis.returncode == 0, with_redis.stderr
    assert with_redis.stdout.split() == [
        "theme.sessions",
        "theme.cache.FallbackRedisCache",
        "sessions",
        "theme.cache.SharedPoolRedisCache",  # always Redis: never a skipped sign-out
    ]
    # One process's memory is no place for sessions several processes serve.
    assert without.stdout.split()[0] == "django.contrib.sessions.backends.db"
