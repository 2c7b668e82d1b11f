"""Sessions read from the cache and kept in the database (SESSION_ENGINE with Redis),
which work on when the cache does not.

Django's cached_db guards only its cache read and its save: with Redis down, signing in
(`exists`), loading a session that is not cached yet (the `set` after the database
read) and signing out (`delete`) raised, so every page with a session failed where
database sessions had worked on. Here every cache call falls back to the database,
which holds every session anyway.

Signing out deletes the cached copy before the database row. Should the cache fail
then, the row still goes and the shopper is signed out; the cached copy could come back
with the cache, so cached copies live at most SESSION_CACHE_SECONDS (an hour), not the
session's whole age.
"""

import logging

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache import caches

from theme.cache import UNREACHABLE

logger = logging.getLogger(__name__)


class SessionStore(CachedDBStore):
    def __init__(self, session_key: str | None = None):
        super().__init__(session_key)
        self._store = caches[settings.SESSION_CACHE_ALIAS]

    def _cache_seconds(self, age: int) -> int:
        return min(age, settings.SESSION_CACHE_SECONDS)

    def load(self) -> dict:
        try:
            data = self._store.get(self.cache_key)
        except Exception as exc:
            _unavailable(
                logging.WARNING, "sessions: cache unavailable; read from the database", exc
            )
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()  # type: ignore[attr-defined]  # not in the stubs
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._cache_set(data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key: str) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._store:
                return True
        except Exception as exc:
            _unavailable(logging.WARNING, "sessions: cache unavailable; asked the database", exc)
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        self._cache_set(self._session, self.get_expiry_age())  # type: ignore[attr-defined]

    def delete(self, session_key: str | None = None) -> None:
        key = session_key if session_key is not None else self.session_key
        if key is not None:
            try:
                self._store.delete(self.cache_key_prefix + key)
            except Exception as exc:
                _unavailable(
                    logging.ERROR,
                    "sessions: cache unavailable; a signed-out session's cached copy may "
                    f"return with it for up to {settings.SESSION_CACHE_SECONDS} s",
                    exc,
                )
        DBStore.delete(self, session_key)

    def _cache_set(self, data: dict, age: int) -> None:
        try:
            self._store.set(self.cache_key, data, self._cache_seconds(age))
        except Exception as exc:
            _unavailable(logging.WARNING, "sessions: cache unavailable; kept in the database", exc)


def _unavailable(level: int, message: str, exc: Exception) -> None:
    """Log a cache call that failed: one line when Redis cannot be reached (an outage
    touches every request's session), the traceback for anything unexpected."""
    logger.log(level, "%s (%s)", message, exc, exc_info=not isinstance(exc, UNREACHABLE))
