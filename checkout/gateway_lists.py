"""The gateway's list calls: Stripe's lists of sessions, payments and refunds, paged,
for reconciliation with Stripe (checkout.services.reconciliation).

Part of the gateway (checkout/gateway.py), which alone imports stripe: every request
goes through its `_call`, with its budget, retries and breaker.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checkout.gateway import (
    CheckoutSession,
    ResourceMissing,
    _call,
    _client,
    _id_of,
    _session,
    session_retrieve,
)


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str  # succeeded / processing / requires_payment_method / canceled / ...
    amount: int
    currency: str
    created: datetime
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundListed:
    """A refund as Stripe lists it, with what reconciliation compares."""

    id: str
    status: str  # pending / requires_action / succeeded / failed / canceled
    payment_intent: str | None
    amount: int
    currency: str
    created: datetime
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionListed:
    """A Checkout Session as Stripe lists it: the session and when it was created."""

    session: CheckoutSession
    created: datetime


def _data(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _created_at(data: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(data.get("created") or 0), tz=UTC)


def _metadata(data: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (data.get("metadata") or {}).items()}


def _payment_intent(data: dict[str, Any]) -> PaymentIntent:
    return PaymentIntent(
        id=data["id"],
        status=data.get("status") or "",
        amount=int(data.get("amount") or 0),
        currency=(data.get("currency") or "").lower(),
        created=_created_at(data),
        metadata=_metadata(data),
    )


# Objects per page of a list: Stripe's largest.
LIST_PAGE_SIZE = 100


def _paged(what: str, list_page: Callable[[Any], Any], params: dict[str, Any]):
    """Every object of a Stripe list (newest first), page after page, following
    `has_more` with `starting_after`. Each page is one `_call`: a 429 is waited out
    (Retry-After) within that call's background budget."""
    after: str | None = None
    while True:
        page_params = {**params, "limit": LIST_PAGE_SIZE}
        if after:
            page_params["starting_after"] = after
        page = _data(_call(what, lambda p=page_params: list_page(p)))  # type: ignore[misc]
        objects = [o if isinstance(o, dict) else _data(o) for o in page.get("data") or []]
        yield from objects
        if not page.get("has_more") or not objects:
            return
        after = objects[-1]["id"]


def _created_between(gte: datetime, lte: datetime) -> dict[str, Any]:
    return {"created": {"gte": int(gte.timestamp()), "lte": int(lte.timestamp())}}


def sessions_list(*, created_gte: datetime, created_lte: datetime) -> list[SessionListed]:
    """Every Checkout Session created in [created_gte, created_lte]."""
    sessions = _client().v1.checkout.sessions
    return [
        SessionListed(session=_session(data), created=_created_at(data))
        for data in _paged(
            "list sessions",
            lambda p: sessions.list(params=p),
            _created_between(created_gte, created_lte),
        )
    ]


def payment_intents_list(*, created_gte: datetime, created_lte: datetime) -> list[PaymentIntent]:
    """Every PaymentIntent created in [created_gte, created_lte]."""
    intents = _client().v1.payment_intents
    return [
        _payment_intent(data)
        for data in _paged(
            "list payment intents",
            lambda p: intents.list(params=p),
            _created_between(created_gte, created_lte),
        )
    ]


def refunds_list(
    *,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
    payment_intent: str | None = None,
) -> list[RefundListed]:
    """Every refund created in [created_gte, created_lte], or every refund of one
    payment (`payment_intent`)."""
    params: dict[str, Any] = {}
    if created_gte is not None and created_lte is not None:
        params.update(_created_between(created_gte, created_lte))
    if payment_intent:
        params["payment_intent"] = payment_intent
    refunds = _client().v1.refunds
    return [
        RefundListed(
            id=data["id"],
            status=data.get("status") or "",
            payment_intent=_id_of(data.get("payment_intent")),
            amount=int(data.get("amount") or 0),
            currency=(data.get("currency") or "").lower(),
            created=_created_at(data),
            metadata=_metadata(data),
        )
        for data in _paged("list refunds", lambda p: refunds.list(params=p), params)
    ]


def payment_intent_find(*, payment_intent_id: str) -> PaymentIntent | None:
    """One PaymentIntent, or None when Stripe has none by that id."""
    try:
        obj = _call(
            "retrieve payment intent",
            lambda: _client().v1.payment_intents.retrieve(payment_intent_id),
        )
    except ResourceMissing:
        return None
    return _payment_intent(_data(obj))


def session_find(*, session_id: str) -> CheckoutSession | None:
    """One Checkout Session, or None when Stripe has none by that id."""
    try:
        return session_retrieve(session_id=session_id)
    except ResourceMissing:
        return None
