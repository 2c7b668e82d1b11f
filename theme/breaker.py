"""A circuit breaker shared by every process of the shop, through Django's cache.

Redis in production (REDIS_URL), so that all web processes, the sweeper and the
webhook see one state; each process's own memory otherwise. It lives in the ground
floor so that /healthz can report every breaker without importing the apps that
own them.

    closed ──(`failures` failures within `window` s)──► open
    open ──(`cooldown` s later, one caller wins the probe lock)──► half-open
    half-open ──(the probe succeeds)──► closed
              └─(the probe fails)──► open for another `cooldown`

Only the caller decides what a failure is (for Stripe: timeouts, connection errors,
5xx and 429, never a 4xx). Every decision is one or two cache operations; the probe
lock is an atomic `cache.add`, so one caller of all processes probes at a time. If
the cache itself fails, the breaker lets calls through (and says so in the log): a
Redis outage must not stop payments that would have worked.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

# Every breaker made in this process, by name, for /healthz.
BREAKERS: dict[str, "CircuitBreaker"] = {}


class BreakerOpen(Exception):
    """The breaker is open (or another caller is probing): the call was not made."""


@dataclass(frozen=True)
class BreakerLimits:
    failures: int  # failures within `window` that open the breaker
    window: float  # seconds
    cooldown: float  # seconds the breaker stays open before one probe is let through
    probe_timeout: float = 60.0  # a probe lock outlives a caller that died while probing


@dataclass(frozen=True)
class Ticket:
    """Permission for one call; `probe` when this call decides whether the breaker closes."""

    probe: bool = False


class CircuitBreaker:
    """`before_call()` for a Ticket (or BreakerOpen), then `succeeded(ticket)` or
    `failed(ticket)`. `limits` is read at each decision, so settings may change."""

    def __init__(self, name: str, limits: Callable[[], BreakerLimits]):
        self.name = name
        self.limits = limits
        self._failures = f"breaker:{name}:failures"
        self._open_until = f"breaker:{name}:open-until"
        self._probe = f"breaker:{name}:probe"
        BREAKERS[name] = self

    def state(self) -> str:
        open_until = cache.get(self._open_until)
        if open_until is None:
            return CLOSED
        return OPEN if time.time() < open_until else HALF_OPEN

    def before_call(self) -> Ticket:
        """A ticket for one call; raises BreakerOpen while open, and in half-open for
        every caller but the one that wins the probe lock."""
        try:
            return self._ticket()
        except BreakerOpen:
            raise
        except Exception:
            logger.exception("breaker %s: cache unavailable; letting the call through", self.name)
            return Ticket()

    def _ticket(self) -> Ticket:
        open_until = cache.get(self._open_until)
        if open_until is None:
            return Ticket()
        if time.time() < open_until:
            raise BreakerOpen(f"{self.name}: open")
        if cache.add(self._probe, time.time(), timeout=self.limits().probe_timeout):
            return Ticket(probe=True)
        raise BreakerOpen(f"{self.name}: another caller is probing")

    def succeeded(self, ticket: Ticket) -> None:
        """A probe that succeeds closes the breaker (and forgets past failures)."""
        if ticket.probe:
            try:
                cache.delete_many([self._open_until, self._failures, self._probe])
            except Exception:
                logger.exception("breaker %s: cache unavailable", self.name)

    def failed(self, ticket: Ticket) -> None:
        """Count a failure; the `failures`-th within the window opens the breaker. A
        failed probe opens it again for a whole cool-down."""
        try:
            self._count_failure(ticket)
        except Exception:
            logger.exception("breaker %s: cache unavailable", self.name)

    def _count_failure(self, ticket: Ticket) -> None:
        limits = self.limits()
        if ticket.probe:
            cache.set(self._open_until, time.time() + limits.cooldown, timeout=None)
            cache.delete(self._probe)
            return
        # A fixed window from the first failure: add() starts it, incr() counts.
        cache.add(self._failures, 0, timeout=limits.window)
        try:
            count = cache.incr(self._failures)
        except ValueError:  # the window ended between add() and incr()
            cache.add(self._failures, 1, timeout=limits.window)
            count = 1
        # add(): when several callers cross the threshold together, the first opens it
        # and the others do not push the cool-down further.
        if count >= limits.failures and cache.add(
            self._open_until, time.time() + limits.cooldown, timeout=None
        ):
            cache.delete(self._failures)

    def reset(self) -> None:
        """Closed, no failures counted (staff, tests)."""
        cache.delete_many([self._open_until, self._failures, self._probe])


def breaker_states() -> dict[str, str]:
    """Each breaker's state by name, for /healthz ("unknown" if the cache fails)."""
    states = {}
    for name, breaker in sorted(BREAKERS.items()):
        try:
            states[name] = breaker.state()
        except Exception:
            logger.exception("breaker %s: cache unavailable", name)
            states[name] = "unknown"
    return states
