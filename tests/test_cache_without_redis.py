"""theme.cache.FallbackRedisCache: while Redis cannot be reached, the process's own
memory stands in for it (rate limits, the breaker, allauth's limits go on working per
process) instead of every call raising; Redis is tried again by one call after a pause;
wrong credentials and Redis's other errors still raise.

Needs Redis on 127.0.0.1:6379 for the "up" cases (database 13 is emptied first)."""

import json
import logging

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from theme import cache as shop_cache

redis = pytest.importorskip("redis")
REDIS_TEST_URL = "redis://127.0.0.1:6379/13"
NOTHING_LISTENS = "redis://127.0.0.1:1/0"
pytestmark = pytest.mark.usefixtures("redis_tried_at_once")


def fallback_at(url: str):
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "theme.cache.FallbackRedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
    )


def test_with_redis_down_the_process_memory_stands_in_and_nothing_raises():
    with fallback_at(NOTHING_LISTENS):
        cache = caches["default"]
        cache.set("k", {"units": 3})
        assert cache.get("k") == {"units": 3}
        assert "k" in cache and cache.get_many(["k", "j"]) == {"k": {"units": 3}}
        assert cache.add("lock", True) is True
        assert cache.add("lock", True) is False  # still a lock, within the process
        assert cache.add("counter", 0) and cache.incr("counter") == 1
        assert cache.incr("counter") == 2  # a rate limit goes on counting
        with pytest.raises(ValueError):
            cache.incr("never-set")
        assert cache.delete("k") is True and cache.get("k", "gone") == "gone"
        assert cache.get_or_set("computed", 7) == 7


def test_after_one_failure_redis_is_left_alone_for_a_while(monkeypatch, caplog):
    tries = []
    connect = redis.connection.Connection.connect

    def counted(connection):
        tries.append(connection)
        return connect(connection)

    monkeypatch.setattr(redis.connection.Connection, "connect", counted)
    with fallback_at(NOTHING_LISTENS), caplog.at_level(logging.WARNING, "theme.cache"):
        cache = caches["default"]
        for number in range(20):
            cache.set(f"k{number}", number)

    assert len(tries) == 1  # a hanging Redis costs one call its timeout, not every call
    assert len(caplog.records) == 1 and "Redis unreachable" in caplog.text


def test_after_the_pause_one_call_tries_redis_while_the_others_keep_to_memory(monkeypatch):
    with fallback_at(NOTHING_LISTENS):
        caches["default"].set("k", "from memory")
    (key,) = shop_cache._unreachable_until
    clock = [shop_cache._unreachable_until[key] + 0.1]  # the pause is over
    monkeypatch.setattr(shop_cache.time, "monotonic", lambda: clock[0])
    seen_during_the_try = []

    def redis_answers(self, key, default=None, version=None):
        # Another call while this one is trying Redis: it does not try too.
        seen_during_the_try.append(caches["default"].get("k"))
        return "from redis"

    monkeypatch.setattr(shop_cache.SharedPoolRedisCache, "get", redis_answers)
    with fallback_at(NOTHING_LISTENS):
        assert caches["default"].get("k") == "from redis"
        assert seen_during_the_try == ["from memory"]
        assert caches["default"].reachable  # used again from now on


def test_wrong_credentials_raise_instead_of_falling_back(monkeypatch):
    def refused(self, *args, **kwargs):
        raise redis.exceptions.AuthenticationError("invalid username-password pair")

    monkeypatch.setattr(shop_cache.SharedPoolRedisCache, "get", refused)
    with fallback_at(REDIS_TEST_URL), pytest.raises(redis.exceptions.AuthenticationError):
        caches["default"].get("k")
    assert not shop_cache._unreachable_until


def test_with_redis_up_it_is_redis():
    server = redis.Redis.from_url(REDIS_TEST_URL)
    server.flushdb()
    with fallback_at(REDIS_TEST_URL):
        cache = caches["default"]
        cache.set("k", {"units": 3}, 30)
        assert cache.get("k") == {"units": 3}
        assert cache.add("k", "other") is False
        assert cache.add("counter", 0) is True
        assert cache.incr("counter") == 1
        assert cache.incr("counter") == 2
    assert server.get(":1:counter") == b"2"  # in Redis, not in memory
    assert not shop_cache._fallbacks


def test_other_redis_errors_still_raise():
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    with fallback_at(REDIS_TEST_URL):
        cache = caches["default"]
        cache.set("lanterns-sold", "many")
        with pytest.raises(redis.exceptions.ResponseError):
            cache.incr("lanterns-sold")


def test_healthz_says_when_redis_is_unreachable_without_failing(db):
    with fallback_at(REDIS_TEST_URL):
        up = json.loads(Client().get("/healthz").content)
    with fallback_at(NOTHING_LISTENS):
        down = Client().get("/healthz")  # the breaker's state, read first, finds it out

    assert up["cache"] == "redis"
    assert down.status_code == 200
    assert json.loads(down.content)["cache"] == "redis unreachable"
    assert json.loads(down.content)["breakers"] == {"stripe": "closed"}
