"""Signed webhook delivery from one background worker thread, with retries and faults."""

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request

log = logging.getLogger("stripe_emulator")

SHUFFLE_HOLD = 0.2  # seconds events are held when shuffling, so there is something to shuffle
DEFAULT_FAULTS = {
    "duplicate": 1,
    "shuffle": False,
    "fail_first": 0,
    "delay": 0.0,
    "drop_types": [],
    "drop_next": 0,
}


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value for ``payload``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # Stripe treats a redirect as a failure
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class Dispatcher:
    def __init__(
        self,
        webhook_url: str | None,
        secret: str,
        retry_delays=(1, 5, 30),
        timeout: float = 10.0,
    ):
        self.webhook_url = webhook_url
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.cond = threading.Condition()
        self.jobs: list[dict] = []
        self.in_flight = 0
        self.deliveries: list[dict] = []
        self.faults = dict(DEFAULT_FAULTS)
        self._seq = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self.cond:
            self._stopping = True
            self.cond.notify_all()
        if self._thread:
            self._thread.join(timeout=5)

    def active(self) -> bool:
        return bool(self.webhook_url)

    def set_faults(self, changes: dict) -> dict:
        unknown = set(changes) - set(DEFAULT_FAULTS)
        if unknown:
            raise ValueError(f"Unknown fault(s): {', '.join(sorted(unknown))}")
        checked = {}
        for key, value in changes.items():
            kind = type(DEFAULT_FAULTS[key])
            if kind is bool:
                ok = isinstance(value, bool)
            elif kind is list:
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            else:  # int / float, non-negative
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
                if ok and kind is int:
                    ok = value == int(value)
                    value = int(value)
            if not ok:
                raise ValueError(f"Invalid value for fault {key}: {value!r}")
            checked[key] = value
        with self.cond:
            self.faults.update(checked)
            return dict(self.faults)

    def reset(self, clear_log: bool = True) -> None:
        with self.cond:
            self.faults = dict(DEFAULT_FAULTS)
            if clear_log:
                self.jobs.clear()
                self.deliveries.clear()
            self.cond.notify_all()

    def idle(self) -> bool:
        with self.cond:
            return not self.jobs and self.in_flight == 0

    def log(self) -> list[dict]:
        with self.cond:
            return [dict(d) for d in self.deliveries]

    # -- queueing --------------------------------------------------------------------------

    def enqueue(self, event: dict) -> None:
        """Queue an event (never blocks). Called with the store lock held."""
        if not self.webhook_url:
            return
        payload = json.dumps(event, indent=2).encode()
        with self.cond:
            faults = self.faults
            drop = None
            if event["type"] in faults["drop_types"]:
                drop = "dropped by fault drop_types"
            elif faults["drop_next"] > 0:
                faults["drop_next"] -= 1
                drop = "dropped by fault drop_next"
            if drop:
                self._record(event["id"], event["type"], 0, None, drop, final=True)
                return
            hold = SHUFFLE_HOLD if faults["shuffle"] else 0.0
            for _ in range(max(1, faults["duplicate"])):
                self._seq += 1
                self.jobs.append(
                    {
                        "seq": self._seq,
                        "event_id": event["id"],
                        "type": event["type"],
                        "payload": payload,
                        "attempt": 1,
                        "due": time.monotonic() + hold,
                    }
                )
            self.cond.notify_all()

    def _record(self, event_id, event_type, attempt, status, error, final=False) -> None:
        self.deliveries.append(
            {
                "event_id": event_id,
                "type": event_type,
                "attempt": attempt,
                "status_code": status,
                "error": error,
                "delivered_at": time.time(),
                "gave_up": final and (error is not None),
            }
        )

    # -- worker ----------------------------------------------------------------------------

    def _next_job(self) -> dict | None:
        with self.cond:
            while not self._stopping:
                now = time.monotonic()
                if any(job["due"] <= now for job in self.jobs):
                    if self.faults["shuffle"]:  # any job due within the hold window may go
                        window = now + SHUFFLE_HOLD
                        job = random.choice([j for j in self.jobs if j["due"] <= window])
                    else:
                        job = min((j for j in self.jobs if j["due"] <= now), key=lambda j: j["seq"])
                    self.jobs.remove(job)
                    self.in_flight += 1
                    return job
                wait = min((job["due"] for job in self.jobs), default=now + 1) - now
                self.cond.wait(max(0.005, min(wait, 1.0)))
            return None

    def _run(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._attempt(job)
            except Exception:  # never let the worker die
                log.exception("webhook worker error")
            finally:
                with self.cond:
                    self.in_flight -= 1
                    self.cond.notify_all()

    def _attempt(self, job: dict) -> None:
        with self.cond:
            faults = dict(self.faults)
            url = self.webhook_url
        if faults["delay"]:
            time.sleep(faults["delay"])
        status, error = None, None
        if job["attempt"] <= faults["fail_first"]:
            error = "failed by fault fail_first (not sent)"
        elif not url:
            error = "no webhook url"
        else:
            status, error = self._post(url, job["payload"])
        attempt = job["attempt"]
        retry = error is not None and attempt <= len(self.retry_delays) and url is not None
        with self.cond:
            self._record(job["event_id"], job["type"], attempt, status, error, final=not retry)
            if retry and not self._stopping:
                job["attempt"] = attempt + 1
                job["due"] = time.monotonic() + self.retry_delays[attempt - 1]
                self.jobs.append(job)
            elif error:
                log.warning("gave up delivering %s after %d attempts", job["event_id"], attempt)

    def _post(self, url: str, payload: bytes) -> tuple[int | None, str | None]:
        request = urllib.request.Request(
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(payload, self.secret),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code, f"HTTP {exc.code}"
        except Exception as exc:  # connection refused, timeout, ...
            return None, f"{type(exc).__name__}: {exc}"
