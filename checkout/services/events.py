"""Stripe's webhook events: recorded by id (the audit log and the de-duplication
record), then applied through the order transitions.

A session event whose session is settled (complete and paid, or needing no payment;
or expired) is applied as the signed event carries it: such a session never changes
again, and the transitions are conditional, so a stale copy cannot undo anything
(docs/DESIGN-notes.md, "Signed sessions", amending DESIGN.md 6.4). Any other session,
and every charge and refund, is read back from Stripe through the gateway: events
come late and out of order, and a refund must only ever touch the order of its own
payment.
"""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from checkout import gateway
from checkout.exceptions import UnknownOrder
from checkout.models import Order, StripeEvent
from checkout.services.refunds import order_mark_refunded
from checkout.services.transitions import order_fulfil, order_sync_from_session

SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
REFUND_EVENTS = frozenset({"charge.refunded", "refund.updated", "refund.failed"})


def stripe_event_process(*, event: gateway.WebhookEvent) -> StripeEvent:
    """Record a verified event by its id and apply it.

    A second delivery of a processed event changes nothing. An event that fails is kept
    with its error and the exception propagates (the webhook answers 5xx, Stripe
    retries, and the retry is processed again): Stripe slow or failing, or its breaker
    open, is such a failure. Recorded and marked processed with a note instead, as
    retrying cannot change them: unknown types, an event of the other mode (live or
    test) than the configured key's, an object Stripe says does not exist
    (resource_missing), and an object that names no order of this shop.
    """
    record, created = _event_record(event)
    if record.processed_at is not None:
        return record
    if not created:
        StripeEvent.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
    try:
        note = _event_apply(event)
    except (UnknownOrder, gateway.ResourceMissing) as exc:
        note = f"ignored: {exc}"
    except Exception as exc:
        StripeEvent.objects.filter(pk=record.pk).update(error=f"{type(exc).__name__}: {exc}")
        raise
    now = timezone.now()
    marked = StripeEvent.objects.filter(pk=record.pk, processed_at__isnull=True).update(
        processed_at=now, error=note
    )
    if marked and created:
        record.processed_at, record.error = now, note  # as the row now is
    else:
        record.refresh_from_db()
    return record


def _event_record(event: gateway.WebhookEvent) -> tuple[StripeEvent, bool]:
    """The event's record, and whether it was made now (its first attempt counted).

    Outside a transaction, a new event costs two statements, a SELECT and a plain
    INSERT, where get_or_create takes four (its INSERT in a transaction of its own):
    a sale day's storm is mostly new events. An INSERT refused by the unique stripe_id
    means that a concurrent delivery recorded it first.
    """
    record = StripeEvent.objects.filter(stripe_id=event.id).first()
    if record is not None:
        return record, False
    fields = {"type": event.type, "payload": event.payload, "attempts": 1}
    if transaction.get_connection().in_atomic_block:  # a failed INSERT would spoil it
        return StripeEvent.objects.get_or_create(stripe_id=event.id, defaults=fields)
    try:
        return StripeEvent.objects.create(stripe_id=event.id, **fields), True
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=event.id), False


_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


def _object_id(obj: dict[str, Any]) -> str | None:
    """The event object's id, if it has the shape of a Stripe id."""
    value = obj.get("id")
    return value if isinstance(value, str) and _STRIPE_ID.fullmatch(value) else None


def _settled_session(obj: dict[str, Any]) -> gateway.CheckoutSession | None:
    """The session a signed event carries, when it says with authority what the shop
    acts on (CheckoutSession.is_settled); otherwise None, and it is read from Stripe."""
    try:
        session = gateway.session_from_event(obj=obj)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None  # not a session as the parser knows one: ask Stripe
    return session if session.is_settled else None


def _mode(live: bool) -> str:
    return "live" if live else "test"


def _event_apply(event: gateway.WebhookEvent) -> str:
    if event.livemode != gateway.key_is_live():
        return (
            f"ignored: a {_mode(event.livemode)}-mode event, and this shop's key is "
            f"{_mode(gateway.key_is_live())}-mode"
        )
    if event.type not in SESSION_EVENTS and event.type not in REFUND_EVENTS:
        return "recorded only: not a type this shop acts on"
    object_id = _object_id(event.object)
    if object_id is None:
        return "ignored: the event's object has no id"
    if event.type in SESSION_EVENTS:
        session = _settled_session(event.object)
        if session is not None:
            order_sync_from_session(session=session)
            return ""
        # Stripe's current view of the session: this one may still change (open, or
        # complete but awaiting a delayed payment, whose outcome Stripe must be asked).
        order_fulfil(session_id=object_id)
        return ""
    if event.type == "charge.refunded":
        charge = gateway.charge_retrieve(charge_id=object_id)
        if not charge.payment_intent:
            return f"ignored: charge {charge.id} has no payment intent"
        if charge.amount_refunded == 0:
            return f"ignored: Stripe reports no refund on charge {charge.id}"
        order_mark_refunded(payment_intent_id=charge.payment_intent, fully=charge.refunded)
        return ""
    refund = gateway.refund_retrieve(refund_id=object_id)
    if refund.status != "failed":
        return f"recorded only: refund {refund.id} is {refund.status or 'unknown'} in Stripe"
    updated = (
        Order.objects.filter(stripe_payment_intent_id=refund.payment_intent).update(
            needs_review=True, review_reason=f"Refund {refund.id} failed in Stripe."
        )
        if refund.payment_intent
        else 0
    )
    return "" if updated else f"ignored: no order for the payment of refund {refund.id}"


def stripe_event_reprocess(*, event: StripeEvent) -> StripeEvent:
    """Staff action: apply a recorded event again (everything it does is idempotent)."""
    StripeEvent.objects.filter(pk=event.pk).update(processed_at=None)
    obj = (event.payload.get("data") or {}).get("object") or {}
    return stripe_event_process(
        event=gateway.WebhookEvent(
            id=event.stripe_id, type=event.type, object=obj, payload=event.payload
        )
    )
