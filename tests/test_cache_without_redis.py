"""theme.cache.FailOpenRedisCache: while Redis cannot be reached, the shop's cache
answers as a miss and drops writes instead of raising; a Redis that answers is used as
it is, and its other errors still raise.

Needs Redis on 127.0.0.1:6379 for the "up" cases (database 13 is emptied first)."""

import logging

import pytest
from django.core.cache import caches
from django.test import override_settings

from theme import cache as shop_cache

redis = pytest.importorskip("redis")
REDIS_TEST_URL = "redis://127.0.0.1:6379/13"
NOTHING_LISTENS = "redis://127.0.0.1:1/0"


def fail_open_at(url: str):
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "theme.cache.FailOpenRedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
    )


@pytest.fixture(autouse=True)
def redis_tried_again():
    """Each test starts with Redis tried at the first call."""
    shop_cache._unreachable_until.clear()
    yield
    shop_cache._unreachable_until.clear()


def test_with_redis_down_reads_miss_writes_are_dropped_and_nothing_raises():
    with fail_open_at(NOTHING_LISTENS):
        cache = caches["default"]
        cache.set("k", 1)
        assert cache.get("k") is None
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get_many(["k", "j"]) == {}
        assert "k" not in cache
        assert cache.add("lock", True) is True  # no lock holds while Redis is away
        assert cache.delete("k") is False
        assert cache.touch("k") is False
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        cache.delete_many(["a", "b"])
        cache.clear()
        assert cache.get_or_set("computed", 7) == 7
        with pytest.raises(ValueError):  # as for a missing key, which callers handle
            cache.incr("counter")


def test_after_one_failure_redis_is_not_tried_again_for_a_while(monkeypatch, caplog):
    tries = []
    connect = redis.connection.Connection.connect

    def counted(connection):
        tries.append(connection)
        return connect(connection)

    monkeypatch.setattr(redis.connection.Connection, "connect", counted)
    with fail_open_at(NOTHING_LISTENS), caplog.at_level(logging.WARNING, "theme.cache"):
        cache = caches["default"]
        for number in range(20):
            cache.get(f"k{number}")

    assert len(tries) == 1  # a hanging Redis costs one call its timeout, not every call
    assert len(caplog.records) == 1 and "Redis unreachable" in caplog.text


def test_redis_is_tried_again_after_the_pause(monkeypatch):
    with fail_open_at(NOTHING_LISTENS):
        caches["default"].get("k")
    (key,) = shop_cache._unreachable_until
    clock = [shop_cache._unreachable_until[key] + 0.1]
    monkeypatch.setattr(shop_cache.time, "monotonic", lambda: clock[0])
    tried = []
    monkeypatch.setattr(
        shop_cache.SharedPoolRedisCache,
        "get",
        lambda self, key, default=None, version=None: tried.append(key) or "answered",
    )

    with fail_open_at(NOTHING_LISTENS):
        assert caches["default"].get("k") == "answered"
    assert tried


def test_with_redis_up_it_is_a_cache():
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    with fail_open_at(REDIS_TEST_URL):
        cache = caches["default"]
        cache.set("k", {"units": 3}, 30)
        assert cache.get("k") == {"units": 3}
        assert cache.add("k", "other") is False  # an add that finds the key says so
        assert cache.add("counter", 0) is True
        assert cache.incr("counter") == 1
        assert cache.incr("counter") == 2
        assert cache.delete("k") is True and cache.get("k") is None


def test_other_redis_errors_still_raise():
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    with fail_open_at(REDIS_TEST_URL):
        cache = caches["default"]
        cache.set("lanterns-sold", "lantern")
        with pytest.raises(redis.exceptions.ResponseError):
            cache.incr("lanterns-sold")
