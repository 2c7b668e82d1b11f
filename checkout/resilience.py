"""How the shop waits on Stripe: time budgets, call profiles, the shared circuit
breaker, and no database connection held meanwhile (DESIGN.md section 9).

The gateway applies these to every Stripe call; views open a shopper's budget, and
`available()` lets a caller fail fast before doing any work. Nothing here needs the
Stripe SDK.
"""

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from theme.breaker import OPEN, BreakerLimits, CircuitBreaker


class StripeCallInTransaction(RuntimeError):
    """A programming error: Stripe called inside a database transaction, which would
    hold the connection (and its locks) for as long as Stripe takes."""


@dataclass(frozen=True)
class CallProfile:
    """How one kind of caller waits on Stripe."""

    name: str
    connect_timeout: float  # seconds per attempt
    read_timeout: float  # seconds per attempt (never more than the budget left)
    attempts: int
    wait_on_429: bool  # sleep Retry-After and ask again (within the budget)


# A shopper waits for a page: one retry at most, and a 429 means "slow down", not "wait".
SHOPPER = CallProfile("shopper", connect_timeout=3, read_timeout=10, attempts=2, wait_on_429=False)
# Webhooks, the sweeper and staff actions can wait longer (Stripe retries a webhook that
# answered 5xx; the sweeper runs again).
BACKGROUND = CallProfile(
    "background", connect_timeout=5, read_timeout=20, attempts=3, wait_on_429=True
)
# Below this many seconds left, no attempt is started.
MIN_ATTEMPT_SECONDS = 0.5

# (profile, deadline on time.monotonic()) of the request being served, if it has one.
_budget: ContextVar[tuple[CallProfile, float] | None] = ContextVar("stripe_budget", default=None)


@contextlib.contextmanager
def shopper_budget(seconds: float | None = None) -> Iterator[None]:
    """Every Stripe call inside shares one deadline, STRIPE_SHOPPER_BUDGET_SECONDS (or
    `seconds`) from now, retries and waits included; a nested budget never extends an
    outer one. For requests a person is waiting on."""
    deadline = time.monotonic() + (
        settings.STRIPE_SHOPPER_BUDGET_SECONDS if seconds is None else seconds
    )
    outer = _budget.get()
    if outer is not None:
        deadline = min(deadline, outer[1])
    token = _budget.set((SHOPPER, deadline))
    try:
        yield
    finally:
        _budget.reset(token)


def budget_current() -> tuple[CallProfile, float]:
    """The profile and deadline for a call starting now: the shopper's budget if one is
    open, otherwise a background budget of its own."""
    return _budget.get() or (
        BACKGROUND,
        time.monotonic() + settings.STRIPE_BACKGROUND_BUDGET_SECONDS,
    )


def _breaker_limits() -> BreakerLimits:
    return BreakerLimits(
        failures=settings.STRIPE_BREAKER_FAILURES,
        window=settings.STRIPE_BREAKER_WINDOW_SECONDS,
        cooldown=settings.STRIPE_BREAKER_COOLDOWN_SECONDS,
    )


BREAKER = CircuitBreaker("stripe", _breaker_limits)


def available() -> bool:
    """False while Stripe's breaker is open: fail fast before doing any work. (After the
    cool-down this is True again, and the next call probes.)"""
    try:
        return BREAKER.state() != OPEN
    except Exception:  # the cache is down: the breaker lets calls through
        return True


def connections_release() -> None:
    """Give this thread's database connections back (to psycopg's pool on PostgreSQL)
    before waiting on Stripe: under ASGI a sync view otherwise keeps its connection
    until the request ends, and a slow Stripe would starve every other page of the
    shop. The next query takes a connection again (well under a millisecond).

    Raises StripeCallInTransaction inside an atomic block. A test's own transaction
    (pytest-django's `db`, marked `_from_testcase` by Django's TestCase, as Django's
    own durable-atomic check reads it) is let through without closing anything, so the
    rule is still checked in every test.
    """
    for conn in connections.all(initialized_only=True):
        if any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks):
            raise StripeCallInTransaction(
                f"Stripe called inside a transaction on database {conn.alias!r}; call it "
                "after the transaction commits (transaction.on_commit)"
            )
        if conn.in_atomic_block or not settings.STRIPE_RELEASE_DB_CONNECTIONS:
            continue
        in_memory = getattr(conn, "is_in_memory_db", None)  # SQLite's wrapper only
        if in_memory is not None and in_memory():
            continue  # closing would lose the database
        conn.close()
