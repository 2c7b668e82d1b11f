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

FallbackRedisCache, the shop's cache with Redis, keeps to the process's own memory while
Redis cannot be reached, instead of raising (below).
"""

import logging
import re
import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ExternalAuthProviderError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

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


# Redis refused the connection, did not answer in time (the socket timeouts in
# settings), or is loading its data. Wrong credentials are ConnectionErrors too, but a
# configuration error: they still raise.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
MISCONFIGURED = (AuthenticationError, AuthorizationError, ExternalAuthProviderError)
# After Redis could not be reached, how long this process keeps to its own memory
# before one call tries Redis again: a Redis that hangs costs one call its socket
# timeout every RETRY_SECONDS, not every call of every request.
RETRY_SECONDS = 5.0
_unreachable_until: dict[tuple[Any, ...], float] = {}
_fallbacks: dict[tuple[Any, ...], LocMemCache] = {}


class FallbackRedisCache(SharedPoolRedisCache):
    """settings.CACHES backend with Redis: while Redis cannot be reached, this
    process's memory stands in for it, instead of every call raising.

    What the shop keeps here are limits and shortcuts: the checkout's rate limits,
    Stripe's breaker, allauth's sign-in rate limits (which raised, so that nobody could
    sign in while Redis was down). During an outage they go on working per process, as
    they would with the local memory cache; add() is still atomic within the process.
    When Redis answers again it is used again, with what it held before: counts made
    in memory meanwhile are not carried over. Sessions are not kept here but through a
    cache alias of their own (settings.SESSION_CACHE_ALIAS), which always asks Redis:
    a write or delete skipped while Redis had in fact come back would leave a stale
    copy there (theme/sessions.py falls back to the database on each call).
    """

    @property
    def _local(self) -> LocMemCache:
        local = _fallbacks.get(self._client_key)
        if local is None:
            name = f"redis-fallback-{abs(hash(self._client_key))}"
            local = _fallbacks.setdefault(
                self._client_key, LocMemCache(name, {"OPTIONS": {"MAX_ENTRIES": 10_000}})
            )
        return local

    def _redis_or_local(self, operation: str, *args: Any) -> Any:
        key = self._client_key
        paused_until = _unreachable_until.get(key)
        if paused_until is not None:
            if time.monotonic() < paused_until:
                return getattr(self._local, operation)(*args)
            # The pause is over: this call tries Redis, the others keep to memory meanwhile.
            _unreachable_until[key] = time.monotonic() + RETRY_SECONDS
        try:
            answer = getattr(super(), operation)(*args)
        except MISCONFIGURED:
            raise
        except UNREACHABLE as exc:
            _unreachable_until[key] = time.monotonic() + RETRY_SECONDS
            logger.warning(
                "cache: Redis unreachable (%s); this process's memory stands in for it, "
                "and Redis is tried again in %.0f s",
                exc,
                RETRY_SECONDS,
            )
            return getattr(self._local, operation)(*args)
        if paused_until is not None:
            _unreachable_until.pop(key, None)
            logger.warning("cache: Redis answers again; it is used again")
        return answer

    @property
    def reachable(self) -> bool:
        """False while this process keeps to its own memory (no call is made to know)."""
        return self._client_key not in _unreachable_until

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._redis_or_local("get", key, default, version)

    def get_many(self, keys: Any, version: Any = None) -> dict[str, Any]:
        return self._redis_or_local("get_many", keys, version)

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._redis_or_local("has_key", key, version)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._redis_or_local("add", key, value, timeout, version)

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._redis_or_local("set", key, value, timeout, version)

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        return self._redis_or_local("set_many", data, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._redis_or_local("touch", key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._redis_or_local("delete", key, version)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._redis_or_local("delete_many", keys, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        return self._redis_or_local("incr", key, delta, version)

    def clear(self) -> None:
        self._redis_or_local("clear")


def cache_state() -> str:
    """What the shared cache is, for /healthz: "redis", "redis unreachable" (this
    process keeps to its own memory meanwhile) or "local" (no Redis configured)."""
    shared = caches["default"]
    if not isinstance(shared, FallbackRedisCache):
        return "local"
    return "redis" if shared.reachable else "redis unreachable"
