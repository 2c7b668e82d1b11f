"""The shop's only door to Stripe.

Nothing else imports `stripe`. Everything returned is a plain dataclass, so the rest
of the shop neither depends on the SDK's object types nor needs Stripe in unit tests.
With STRIPE_API_BASE set, the same SDK calls go to the local Stripe emulator.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    """Stripe could not be reached, or refused the request."""


class SignatureError(Exception):
    """A webhook payload whose signature is missing, forged or too old."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    status: str  # open / complete / expired
    payment_status: str  # paid / unpaid / no_payment_required
    url: str | None
    amount_total: int | None
    currency: str
    client_reference_id: str | None
    payment_intent: str | None
    expires_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def order_id(self) -> int | None:
        raw = self.client_reference_id or self.metadata.get("order_id")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object: dict[str, Any]
    payload: dict[str, Any]


def _client() -> stripe.StripeClient:
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@cache
def _client_for(api_key: str, base: str | None) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base} if base else None,
        # Retries reuse the same idempotency key, so a retried POST never doubles.
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=(5, 20)),
    )


def _session(obj: Any) -> CheckoutSession:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    payment_intent = data.get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    expires_at = data.get("expires_at")
    return CheckoutSession(
        id=data["id"],
        status=data.get("status") or "open",
        payment_status=data.get("payment_status") or "unpaid",
        url=data.get("url"),
        amount_total=data.get("amount_total"),
        currency=(data.get("currency") or "").lower(),
        client_reference_id=data.get("client_reference_id"),
        payment_intent=payment_intent,
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC) if expires_at else None,
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def session_create(
    *,
    order_id: int,
    email: str,
    currency: str,
    lines: list[tuple[str, int, int]],
    success_url: str,
    cancel_url: str,
    expires_at: datetime,
    idempotency_key: str,
) -> CheckoutSession:
    """Create a Checkout Session in payment mode. `lines` are (name, unit_amount, quantity).

    The idempotency key makes a retry, or a crash between Stripe's answer and our
    save, return the same session instead of a second one.
    """
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": unit_amount,
                    "product_data": {"name": name},
                },
                "quantity": quantity,
            }
            for name, unit_amount, quantity in lines
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
    try:
        obj = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        raise GatewayError(str(exc)) from exc
    return _session(obj)


def session_retrieve(*, session_id: str) -> CheckoutSession:
    try:
        return _session(_client().v1.checkout.sessions.retrieve(session_id))
    except stripe.StripeError as exc:
        raise GatewayError(str(exc)) from exc


def session_expire(*, session_id: str) -> CheckoutSession:
    """Expire an open session. A session that is no longer open is returned as it is,
    so the caller can see whether it was paid in the meantime."""
    try:
        return _session(_client().v1.checkout.sessions.expire(session_id))
    except stripe.InvalidRequestError:
        return session_retrieve(session_id=session_id)
    except stripe.StripeError as exc:
        raise GatewayError(str(exc)) from exc


def payment_intent_status(*, payment_intent_id: str) -> str:
    try:
        return _client().v1.payment_intents.retrieve(payment_intent_id).status
    except stripe.StripeError as exc:
        raise GatewayError(str(exc)) from exc


def refund_create(*, payment_intent: str, order_id: int, idempotency_key: str) -> str:
    """Refund a payment in full; returns the refund id. Safe to retry with the same key."""
    try:
        refund = _client().v1.refunds.create(
            params={
                "payment_intent": payment_intent,
                "metadata": {"order_id": str(order_id)},
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        raise GatewayError(str(exc)) from exc
    return refund.id


def webhook_event_construct(*, payload: bytes, signature: str | None) -> WebhookEvent:
    """Verify the signature on the raw body (tolerance 300 s) and parse the event."""
    if not signature:
        raise SignatureError("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
        )
    except stripe.SignatureVerificationError as exc:
        raise SignatureError(str(exc)) from exc
    except ValueError as exc:  # not JSON
        raise SignatureError(f"malformed payload: {exc}") from exc
    data = event.to_dict()
    obj = (data.get("data") or {}).get("object") or {}
    if not data.get("id") or not data.get("type") or not isinstance(obj, dict):
        raise SignatureError("payload is not a Stripe event")
    return WebhookEvent(id=data["id"], type=data["type"], object=obj, payload=data)


def session_from_event(*, obj: dict[str, Any]) -> CheckoutSession:
    """The Checkout Session that a verified event carries, parsed like a retrieved one."""
    return _session(obj)
