"""Django's Redis cache with one connection pool per process.

Django keeps its cache objects per async context (`caches` is an asgiref Local), so
under ASGI every request gets a new RedisCache, whose client makes a new connection
pool: each request that touched the cache opened a TCP connection to Redis and said
hello to it (measured: 49 new connections for 50 requests). Here the client, and with
it the pool, is made once per process and configuration and shared by every request;
redis-py's pool is thread-safe and makes itself again after a fork.

Django's client also makes a new redis.Redis for every cache call, which builds its
table of about 170 response callbacks each time (a tenth of a millisecond per call,
measured on a refused checkout); the redis.Redis of each pool is kept too. A redis.Redis
is thread-safe: it holds no connection, it takes one from the pool for each command.

FailOpenRedisCache, the shop's cache with Redis, answers as a cache miss while Redis
cannot be reached, instead of raising (below).
"""

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
T = TypeVar("T")

_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_clients_lock = threading.Lock()


class SharedRedisCacheClient(RedisCacheClient):
    """RedisCacheClient that keeps the redis.Redis of each connection pool."""

    def __init__(self, servers: list[str], **options: Any):
        super().__init__(servers, **options)
        self._redis_of_pool: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._redis_of_pool.get(id(pool))
        if client is None:  # two threads may both make one; either serves
            client = self._redis_of_pool[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class SharedPoolRedisCache(RedisCache):
    """settings.CACHES backend: RedisCache whose client outlives the request."""

    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        options = params.get("OPTIONS", {})
        self._client_key = (server, repr(sorted(options.items())))
        self._client_args = (re.split("[;,]", server), options)

    @property
    def _cache(self) -> RedisCacheClient:
        client = _clients.get(self._client_key)
        if client is None:
            with _clients_lock:
                client = _clients.get(self._client_key)
                if client is None:
                    servers, options = self._client_args
                    client = _clients[self._client_key] = SharedRedisCacheClient(servers, **options)
        return client


# Redis refused the connection or did not answer in time (socket timeouts, settings).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
# After Redis could not be reached, how long the cache answers without trying it: a
# Redis that hangs costs one request its socket timeout, not every cache call of every
# request. Also how often the outage is logged, per process.
RETRY_SECONDS = 5.0
_unreachable_until: dict[tuple[Any, ...], float] = {}


class FailOpenRedisCache(SharedPoolRedisCache):
    """settings.CACHES backend with Redis: while Redis cannot be reached, every call
    answers as if the key were missing, and writes are dropped, instead of raising.

    Everything the shop keeps in this cache is a limit or a shortcut that lets
    requests through when the cache fails: the checkout's rate limits, the Stripe
    breaker, allauth's sign-in rate limits (which raised, so nobody could sign in while
    Redis was down), the cached copies of sessions (kept in the database too). Nothing
    may use it as a lock that correctness depends on: add() answers True (added) while
    Redis is away, so that allauth's lock around its counters lets the sign-in through.
    incr() raises ValueError, as for a missing key, which its callers handle. Other
    Redis errors (a wrong command, a full memory) still raise.
    """

    def _or_else(self, operation: str, call: Callable[[], T], answer: T) -> T:
        key = self._client_key
        if time.monotonic() < _unreachable_until.get(key, 0.0):
            return answer
        try:
            return call()
        except UNREACHABLE as exc:
            _unreachable_until[key] = time.monotonic() + RETRY_SECONDS
            logger.warning(
                "cache: Redis unreachable (%s); %s and every call for the next %.0f s "
                "answered without it (reads miss, writes are dropped)",
                exc,
                operation,
                RETRY_SECONDS,
            )
            return answer

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._or_else(
            "get", lambda: super(FailOpenRedisCache, self).get(key, default, version), default
        )

    def get_many(self, keys: Any, version: Any = None) -> dict[str, Any]:
        return self._or_else(
            "get_many", lambda: super(FailOpenRedisCache, self).get_many(keys, version), {}
        )

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._or_else(
            "has_key", lambda: super(FailOpenRedisCache, self).has_key(key, version), False
        )

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._or_else(
            "add", lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version), True
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._or_else(
            "set", lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version), None
        )

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return self._or_else(
            "set_many",
            lambda: super(FailOpenRedisCache, self).set_many(data, timeout, version),
            list(data),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._or_else(
            "touch", lambda: super(FailOpenRedisCache, self).touch(key, timeout, version), False
        )

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._or_else(
            "delete", lambda: super(FailOpenRedisCache, self).delete(key, version), False
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._or_else(
            "delete_many", lambda: super(FailOpenRedisCache, self).delete_many(keys, version), None
        )

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        missing = object()
        count = self._or_else(
            "incr", lambda: super(FailOpenRedisCache, self).incr(key, delta, version), missing
        )
        if count is missing:
            raise ValueError(f"Key {key!r} not found (Redis unreachable).")
        return count  # type: ignore[return-value]

    def clear(self) -> None:
        self._or_else("clear", lambda: super(FailOpenRedisCache, self).clear(), None)
