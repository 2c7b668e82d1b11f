"""Reading the environment (the only source of the shop's settings), and the helpers
settings.py applies to what it reads."""

import os
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return default if value is None else int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


STRIPE_OWN_API_BASE = "https://api.stripe.com"


def is_stripe_api_base(url: str) -> bool:
    """True for Stripe's own API address (https://api.stripe.com, with or without a
    trailing slash or :443), false for anything else, look-alike hosts included."""
    try:
        parts = urlparse(url.strip())
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.hostname == "api.stripe.com"
        and not (parts.username or parts.password)
        and port in (None, 443)
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment)
    )


SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN, so check-then-write transactions
    # (stock checks, a webhook and a success page fulfilling the same order) queue
    # behind each other instead of failing late with "database is locked".
    # https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-transaction-behavior
    "transaction_mode": "IMMEDIATE",
    # Seconds a writer waits for the lock before giving up.
    "timeout": 20,
    # WAL lets readers go on while one writer writes.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}


def sqlite_database(name: str | Path, url_options: dict | None = None) -> dict[str, Any]:
    """Every SQLite database of the shop, the default file or a sqlite:/// URL, is
    built here, so both get the same locking behaviour. Options written in the URL's
    query string (sqlite:///shop.db?timeout=60) are taken over on top."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {**SQLITE_OPTIONS, **(url_options or {})},
    }
