"""The shop's only door to Stripe.

Nothing else imports `stripe`. Everything returned is a plain dataclass, so the rest
of the shop neither depends on the SDK's object types nor needs Stripe in unit tests.
With STRIPE_API_BASE set, the same SDK calls go to the local Stripe emulator.

Every call goes through `_call`, which treats Stripe as the remote service it is (the
policies live in checkout.resilience, which does not need the SDK):

- no database connection is held while Stripe is waited on: the thread's connections
  go back to the pool first (a call inside a transaction is a programming error,
  StripeCallInTransaction);
- a time budget: a shopper's request (`resilience.shopper_budget()`) spends at most
  STRIPE_SHOPPER_BUDGET_SECONDS on Stripe, retries included; webhooks, the sweeper
  and staff actions get STRIPE_BACKGROUND_BUDGET_SECONDS per call;
- retries with the same idempotency key, for timeouts, connection errors, 5xx and 409,
  and for 429 after Retry-After where the caller can wait;
- a circuit breaker shared by all processes (theme.breaker, through the cache):
  timeouts, connection errors, 5xx and 429 count as failures, a 4xx never does.

What failed tells the caller what to do: StripeUnavailable (try again later; nothing
is known to have happened), StripeRefused (a 4xx; asking again will not help), of
which ResourceMissing (Stripe has no such object).
"""

import json
import logging
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import stripe
from django.conf import settings

from checkout.resilience import (
    BACKGROUND,
    BREAKER,
    MIN_ATTEMPT_SECONDS,
    CallProfile,
    budget_current,
    connections_release,
)
from checkout.sessions import (  # re-exported: the gateway's plain data
    Charge as Charge,
)
from checkout.sessions import (
    CheckoutSession as CheckoutSession,
)
from checkout.sessions import LineItem, ShippingOption, TaxAndDiscounts, session_parse
from checkout.sessions import (
    Refund as Refund,
)
from checkout.sessions import (
    WebhookEvent as WebhookEvent,
)
from theme.breaker import BreakerOpen

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

logger = logging.getLogger(__name__)

T = TypeVar("T")


class GatewayError(Exception):
    """Stripe could not be reached, or refused the request."""


class StripeUnavailable(GatewayError):
    """Stripe is slow or failing (timeout, connection error, 5xx, 429), the caller's
    time budget ran out, or the breaker is open. Whether the request took effect is
    unknown; asking again later with the same idempotency key is safe."""


class StripeRefused(GatewayError):
    """Stripe answered with a 4xx: asking again will not help."""


class ResourceMissing(StripeRefused):
    """Stripe has no such object (`resource_missing`)."""


class SignatureError(Exception):
    """A webhook payload whose signature is missing, forged or too old."""


class MalformedEvent(SignatureError):
    """A correctly signed payload that is not a Stripe event (not a JSON object, no id)."""


# ------------------------------------------------------------------ how calls are made

# (connect, read) seconds for the attempt under way, read by the HTTP client.
_attempt_timeout: ContextVar[tuple[float, float] | None] = ContextVar(
    "stripe_attempt_timeout", default=None
)


def key_is_live() -> bool:
    """Whether the configured key moves real money (sk_live_ / rk_live_)."""
    return settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))


class _BudgetedRequestsClient(stripe.RequestsClient):
    """The SDK's requests client, whose timeout is the current attempt's (what is left
    of the caller's budget) instead of one fixed at construction. The SDK reads
    `self._timeout` on each request (stripe 16.x, RequestsClient._request_internal);
    tests/checkout/test_resilience.py fails if that ever changes."""

    @property
    def _timeout(self) -> tuple[float, float]:
        return _attempt_timeout.get() or self._default_timeout

    @_timeout.setter
    def _timeout(self, value: tuple[float, float]) -> None:
        self._default_timeout = value


def _client() -> stripe.StripeClient:
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@cache
def _client_for(api_key: str, base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base} if base else None,
        # `_call` retries, within the caller's budget and with the same idempotency key.
        max_network_retries=0,
        http_client=_BudgetedRequestsClient(
            timeout=(BACKGROUND.connect_timeout, BACKGROUND.read_timeout)
        ),
    )


def _failure_kind(exc: stripe.StripeError) -> str:
    """ "unavailable" (counts against the breaker; retry), "conflict" (a concurrent
    request with the same idempotency key: retry) or "refused" (a 4xx)."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return "unavailable"
    status = exc.http_status
    if isinstance(exc, stripe.APIError) and (status is None or status >= 500):
        return "unavailable"
    if status == 409:
        return "conflict"
    return "refused"


def _wait_before_retry(exc: stripe.StripeError, profile: CallProfile, attempt: int) -> float | None:
    """Seconds to wait before the next attempt, or None for "do not retry"."""
    if isinstance(exc, stripe.RateLimitError):
        if not profile.wait_on_429:
            return None
        try:
            return min(float((exc.headers or {}).get("Retry-After") or 1), 5.0)
        except ValueError:
            return 1.0
    return 0.25 * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)  # noqa: S311


def _call(what: str, request: Callable[[], T]) -> T:
    """Make one Stripe request as the module docstring says; raises StripeUnavailable,
    StripeRefused (ResourceMissing) or StripeCallInTransaction."""
    connections_release()
    profile, deadline = budget_current()
    problem = "no time left"
    for attempt in range(1, profile.attempts + 1):
        left = deadline - time.monotonic()
        if left < MIN_ATTEMPT_SECONDS:
            break
        try:
            ticket = BREAKER.before_call()
        except BreakerOpen:
            raise StripeUnavailable(f"{what}: Stripe is failing; calls paused") from None
        token = _attempt_timeout.set(
            (min(profile.connect_timeout, left), min(profile.read_timeout, left))
        )
        try:
            result = request()
        except stripe.StripeError as exc:
            kind = _failure_kind(exc)
            if kind == "refused":
                BREAKER.succeeded(ticket)  # Stripe answered: it is up
                raise _refused(what, exc) from exc
            if kind == "unavailable":
                BREAKER.failed(ticket)
            else:
                BREAKER.succeeded(ticket)
            problem = f"{type(exc).__name__}: {exc}"
            wait = _wait_before_retry(exc, profile, attempt)
            if wait is None or time.monotonic() + wait + MIN_ATTEMPT_SECONDS > deadline:
                break
            logger.info("stripe: %s failed (%s); retrying in %.1f s", what, problem, wait)
            time.sleep(wait)
        else:
            BREAKER.succeeded(ticket)
            return result
        finally:
            _attempt_timeout.reset(token)
    logger.warning("stripe: %s unavailable (%s budget): %s", what, profile.name, problem)
    raise StripeUnavailable(f"{what}: {problem}")


def _refused(what: str, exc: stripe.StripeError) -> StripeRefused:
    if exc.code == "resource_missing":
        return ResourceMissing(f"{what}: {exc}")
    return StripeRefused(f"{what}: {exc}")


def _session(obj: Any) -> CheckoutSession:
    return session_parse(obj.to_dict() if hasattr(obj, "to_dict") else dict(obj))


def session_create(
    *,
    order_id: int,
    email: str,
    currency: str,
    lines: list[LineItem],
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
    idempotency_key: str,
    shipping_countries: list[str] | None = None,
    shipping_options: list[ShippingOption] | None = None,
    pricing: TaxAndDiscounts | None = None,
) -> CheckoutSession:
    """Create a Checkout Session in payment mode for `lines`.

    With `shipping_countries`, Stripe collects a shipping address in those countries;
    `shipping_options` (at most 5) are the delivery options offered, in that order.
    `pricing` turns on Stripe Tax (automatic_tax, each price inclusive or exclusive)
    and promotion codes.
    The idempotency key makes a retry, or a crash between Stripe's answer and our
    save, return the same session instead of a second one.
    """
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            line.as_stripe(  # type: ignore[misc]
                currency=currency, tax_behavior=pricing.tax_behavior if pricing else None
            )
            for line in lines
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(order_id),
        "customer_email": email,
        "metadata": {"order_id": str(order_id)},
        # Session metadata is not copied to the PaymentIntent; charge and refund
        # events find the order through this.
        "payment_intent_data": {"metadata": {"order_id": str(order_id)}},
        "expires_at": int(expires_at.timestamp()),
    }
    if shipping_countries:
        params["shipping_address_collection"] = {"allowed_countries": shipping_countries}
    if pricing and pricing.automatic_tax:
        params["automatic_tax"] = {"enabled": True}
    if pricing and pricing.allow_promotion_codes:
        params["allow_promotion_codes"] = True
    if shipping_options:
        params["shipping_options"] = [
            option.as_stripe(currency=currency)  # type: ignore[misc]
            for option in shipping_options
        ]
    obj = _call(
        "create session",
        lambda: _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        ),
    )
    return _session(obj)


def session_retrieve(*, session_id: str) -> CheckoutSession:
    return _session(
        _call("retrieve session", lambda: _client().v1.checkout.sessions.retrieve(session_id))
    )


def session_expire(*, session_id: str) -> CheckoutSession:
    """Expire an open session. A session that is no longer open is returned as it is,
    so the caller can see whether it was paid in the meantime."""
    try:
        return _session(
            _call("expire session", lambda: _client().v1.checkout.sessions.expire(session_id))
        )
    except StripeRefused:
        return session_retrieve(session_id=session_id)


def payment_intent_status(*, payment_intent_id: str) -> str:
    return _call(
        "retrieve payment intent",
        lambda: _client().v1.payment_intents.retrieve(payment_intent_id),
    ).status


def refund_create(*, payment_intent: str, order_id: int, idempotency_key: str) -> str:
    """Refund a payment in full; returns the refund id. Safe to retry with the same key."""
    refund = _call(
        "create refund",
        lambda: _client().v1.refunds.create(
            params={
                "payment_intent": payment_intent,
                "metadata": {"order_id": str(order_id)},
            },
            options={"idempotency_key": idempotency_key},
        ),
    )
    return refund.id


def _id_of(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def charge_retrieve(*, charge_id: str) -> Charge:
    """A charge as Stripe has it now (refund events are read back, not trusted)."""
    data = _call("retrieve charge", lambda: _client().v1.charges.retrieve(charge_id)).to_dict()
    return Charge(
        id=data["id"],
        payment_intent=_id_of(data.get("payment_intent")),
        amount=int(data.get("amount") or 0),
        amount_refunded=int(data.get("amount_refunded") or 0),
        refunded=bool(data.get("refunded")),
        currency=(data.get("currency") or "").lower(),
    )


def refund_retrieve(*, refund_id: str) -> Refund:
    """A refund as Stripe has it now (refund events are read back, not trusted)."""
    data = _call("retrieve refund", lambda: _client().v1.refunds.retrieve(refund_id)).to_dict()
    return Refund(
        id=data["id"],
        status=data.get("status") or "",
        payment_intent=_id_of(data.get("payment_intent")),
        amount=int(data.get("amount") or 0),
    )


# Longest ids and types the event log keeps (checkout.models.StripeEvent).
_EVENT_ID_MAX, _EVENT_TYPE_MAX = 255, 100


def webhook_event_construct(*, payload: bytes, signature: str | None) -> WebhookEvent:
    """Verify the signature on the raw body (tolerance 300 s) and parse the event.

    Raises SignatureError for a missing, forged or stale signature, and MalformedEvent
    for a signed body that is not a Stripe event (not UTF-8 JSON, not an object, no id).
    """
    if not signature:
        raise SignatureError("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("payload is not UTF-8") from None
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
        )
    except stripe.SignatureVerificationError as exc:
        raise SignatureError(str(exc)) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MalformedEvent(f"payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedEvent(f"payload is JSON but not an object ({type(data).__name__})")
    event_id, event_type = data.get("id"), data.get("type")
    body = data.get("data")
    obj = body.get("object") if isinstance(body, dict) else None
    if not (
        isinstance(event_id, str)
        and 0 < len(event_id) <= _EVENT_ID_MAX
        and isinstance(event_type, str)
        and 0 < len(event_type) <= _EVENT_TYPE_MAX
        and isinstance(obj, dict)
    ):
        raise MalformedEvent("payload is not a Stripe event")
    return WebhookEvent(id=event_id, type=event_type, object=obj, payload=data)


def session_from_event(*, obj: dict[str, Any]) -> CheckoutSession:
    """The Checkout Session that a verified event carries, parsed like a retrieved one."""
    return _session(obj)
