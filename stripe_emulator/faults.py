"""API faults: latency, 500/503 answers, 429 with Retry-After, dropped connections, rate limits.

Faults apply to ``/v1/`` calls only, never to ``/_emulator/`` controls or the hosted page.
Settings (``ApiFaults.set``, ``POST /_emulator/api_faults``, ``--api-*`` options)::

    latency        seconds to sleep before handling each call (0)
    paths          path prefixes the injected faults apply to ([]: every /v1/ path)
    error_rate     share of calls answered ``error_status`` before they run (0.0)
    error_next     answer the next N calls that way (0)
    error_status   500, 502, 503 or 504 (500)
    throttle_rate  share of calls answered 429 ``rate_limit`` with Retry-After (0.0)
    throttle_next  the next N calls (0)
    retry_after    seconds in the Retry-After header of those 429s (1)
    drop_rate      share of calls that run, then lose the connection half-way through the
                   answer (the SDK raises APIConnectionError; the change was made) (0.0)
    drop_next      the next N calls (0)
    rate_limit     Stripe's own limits: past ``rate_limit_global`` calls in any second, or
                   ``rate_limit_endpoint`` calls to one endpoint (method and route), answer
                   429 ``rate_limit`` as Stripe does (off)
    rate_limit_global    (25, a sandbox's limit)
    rate_limit_endpoint  (25, Stripe's default per endpoint)

Order for each call: rate limit, latency, throttle, error, (the call runs), drop. A call
refused by any of them is not counted again by the others; refused calls do not count
towards the rate limits.
"""

import random
import threading
import time
from collections import deque

ERROR_STATUSES = (500, 502, 503, 504)
DEFAULT_API_FAULTS = {
    "latency": 0.0,
    "paths": [],
    "error_rate": 0.0,
    "error_next": 0,
    "error_status": 500,
    "throttle_rate": 0.0,
    "throttle_next": 0,
    "retry_after": 1,
    "drop_rate": 0.0,
    "drop_next": 0,
    "rate_limit": False,
    "rate_limit_global": 25,
    "rate_limit_endpoint": 25,
}
_SHARES = ("error_rate", "throttle_rate", "drop_rate")
_POSITIVE = ("rate_limit_global", "rate_limit_endpoint")
WINDOW = 1.0  # seconds the rate limits count over


def check_api_faults(changes: dict) -> dict:
    """Validated copies of ``changes``; ValueError naming the first bad one."""
    unknown = set(changes) - set(DEFAULT_API_FAULTS)
    if unknown:
        raise ValueError(f"Unknown API fault(s): {', '.join(sorted(unknown))}")
    checked = {}
    for key, value in changes.items():
        kind = type(DEFAULT_API_FAULTS[key])
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is list:
            ok = isinstance(value, list) and all(
                isinstance(v, str) and v.startswith("/") for v in value
            )
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            if ok and kind is int:
                ok = value == int(value)
                value = int(value)
        if ok and key in _SHARES:
            ok = value <= 1
        if ok and key in _POSITIVE:
            ok = value >= 1
        if ok and key == "error_status":
            ok = value in ERROR_STATUSES
        if not ok:
            raise ValueError(f"Invalid value for API fault {key}: {value!r}")
        checked[key] = list(value) if kind is list else value
    return checked


class ApiFaults:
    """The current API fault settings and the rate limiter's counters (thread-safe)."""

    def __init__(self, **initial):
        self.lock = threading.Lock()
        self.settings = dict(DEFAULT_API_FAULTS)
        self.injected = {"rate_limit": 0, "throttle": 0, "error": 0, "drop": 0}
        self._global: deque[float] = deque()
        self._endpoints: dict[str, deque[float]] = {}
        self._defaults = check_api_faults(initial)
        self.reset()

    def set(self, changes: dict) -> dict:
        checked = check_api_faults(changes)
        with self.lock:
            self.settings.update(checked)
            return self.snapshot()

    def reset(self) -> dict:
        """Back to the start-up settings (command-line options), counters cleared."""
        with self.lock:
            self.settings = {**DEFAULT_API_FAULTS, **self._defaults}
            self.injected = dict.fromkeys(self.injected, 0)
            self._global.clear()
            self._endpoints.clear()
            return self.snapshot()

    def snapshot(self) -> dict:
        return {**self.settings, "paths": list(self.settings["paths"])}

    # -- decisions, made once per API call, in this order ----------------------------------

    def over_rate_limit(self, endpoint: str) -> bool:
        """True if Stripe's limits refuse this call; admitted calls are counted."""
        with self.lock:
            if not self.settings["rate_limit"]:
                return False
            now = time.monotonic()
            per_endpoint = self._endpoints.setdefault(endpoint, deque())
            for calls in (self._global, per_endpoint):
                while calls and calls[0] <= now - WINDOW:
                    calls.popleft()
            if (
                len(self._global) >= self.settings["rate_limit_global"]
                or len(per_endpoint) >= self.settings["rate_limit_endpoint"]
            ):
                self.injected["rate_limit"] += 1
                return True
            self._global.append(now)
            per_endpoint.append(now)
            return False

    def applies(self, path: str) -> bool:
        prefixes = self.settings["paths"]
        return not prefixes or any(path.startswith(p) for p in prefixes)

    def latency(self, path: str) -> float:
        with self.lock:
            return self.settings["latency"] if self.applies(path) else 0.0

    def _fires(self, path: str, name: str) -> bool:
        if not self.applies(path):
            return False
        if self.settings[f"{name}_next"] > 0:
            self.settings[f"{name}_next"] -= 1
        elif not (
            self.settings[f"{name}_rate"] and random.random() < self.settings[f"{name}_rate"]
        ):
            return False
        self.injected[name] += 1
        return True

    def throttle(self, path: str) -> int | None:
        """Seconds for Retry-After if this call is to be answered 429, else None."""
        with self.lock:
            return self.settings["retry_after"] if self._fires(path, "throttle") else None

    def error(self, path: str) -> int | None:
        """The status to answer instead of running the call, or None."""
        with self.lock:
            return self.settings["error_status"] if self._fires(path, "error") else None

    def drop(self, path: str) -> bool:
        with self.lock:
            return self._fires(path, "drop")
