"""Stripe's webhook events: recorded by id (the audit log and the de-duplication
record), then applied through the order transitions.

A session event whose session is settled (complete and paid, or needing no payment;
or expired) is applied as the signed event carries it: such a session never changes
again, and the transitions are conditional, so a stale copy cannot undo anything
(docs/DESIGN-notes.md, "Signed sessions", amending DESIGN.md 6.4). Any other session,
and every charge and refund, is read back from Stripe through the gateway: events
come late and out of order, and a refund must only ever touch the order of its own
payment.

An event that is applied without asking Stripe (a settled session, or one the shop only
records) is recorded as processed in the transaction that applies it; one that needs
Stripe is recorded before Stripe is asked, outside any transaction, and marked processed
after its transitions commit (docs/DESIGN-notes.md, "Recording an event").
"""

import re
from dataclasses import dataclass
from datetime import datetime
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

    A delivery of an event already processed changes nothing and asks Stripe nothing
    (one SELECT). An event applied without asking Stripe (a settled session, or one the
    shop only records) is recorded as processed and applied in one transaction: the
    mark and the effects commit together or not at all, and a concurrent delivery of it
    waits on the unique stripe_id, then finds it processed. An event that needs Stripe
    is recorded first (so that a later duplicate asks Stripe nothing), Stripe is asked
    outside any transaction, and it is marked processed once its effects committed
    (they are idempotent: a crash in between means a retry that changes nothing).
    However the deliveries come, an order is fulfilled once: each transition is
    conditional under the order's row lock.

    An event that fails is kept with its error and its attempts counted, and the
    exception propagates (the webhook answers 5xx, Stripe retries, and the retry is
    processed again): Stripe slow or failing, or its breaker open, is such a failure.
    Recorded and marked processed with a note instead, as retrying cannot change them:
    unknown types, an event of the other mode (live or test) than the configured key's,
    an object Stripe says does not exist (resource_missing), and an object that names no
    order of this shop.
    """
    record = StripeEvent.objects.filter(stripe_id=event.id).first()
    if record is not None and record.processed_at is not None:
        return record
    plan = _event_plan(event)
    if record is None and not plan.asks_stripe:
        try:
            return _event_first_apply(event, plan)
        except _AlreadyRecorded:
            record = StripeEvent.objects.get(stripe_id=event.id)
            if record.processed_at is not None:
                return record
    created = False
    if record is None:
        record, created = _event_insert(event)
        if record.processed_at is not None:
            return record
    if not created:
        StripeEvent.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
    now = timezone.now()
    try:
        if plan.asks_stripe:  # Stripe is asked outside any transaction
            note = _event_apply(event, plan)
            marked = _event_mark(record, now=now, note=note)
        else:
            with transaction.atomic():
                note = _event_apply(event, plan)
                marked = _event_mark(record, now=now, note=note)
    except (UnknownOrder, gateway.ResourceMissing) as exc:
        note = f"ignored: {exc}"  # nothing changed (or it was rolled back)
        marked = _event_mark(record, now=now, note=note)
    except Exception as exc:
        StripeEvent.objects.filter(pk=record.pk).update(error=_error_text(exc))
        raise
    if marked and created:
        record.processed_at, record.error = now, note  # as the row now is
    else:
        record.refresh_from_db()
    return record


@dataclass(frozen=True)
class _Plan:
    """How an event is applied, as its payload alone says: recorded only, with `note`;
    the settled `session` it carries, applied as it is; or else asking Stripe."""

    note: str | None = None
    session: gateway.CheckoutSession | None = None

    @property
    def asks_stripe(self) -> bool:
        return self.note is None and self.session is None


class _AlreadyRecorded(Exception):
    """The event's row exists: an earlier or a concurrent delivery recorded it."""


def _event_first_apply(event: gateway.WebhookEvent, plan: _Plan) -> StripeEvent:
    """The first delivery of an event that Stripe need not be asked about: recorded as
    processed, and applied, in one transaction (BEGIN, INSERT, the transition, COMMIT).

    Raises _AlreadyRecorded, having changed nothing, when the INSERT finds the event
    recorded (PostgreSQL makes a concurrent delivery wait until the first one commits
    or rolls back). After a rollback, the event is recorded on its own: processed with
    a note for an order that is not this shop's, or unprocessed with the error, which
    is raised again.
    """
    try:
        with transaction.atomic():
            try:
                record = StripeEvent.objects.create(
                    stripe_id=event.id,
                    type=event.type,
                    payload=event.payload,
                    attempts=1,
                    processed_at=timezone.now(),
                    error=plan.note or "",
                )
            except IntegrityError:
                raise _AlreadyRecorded from None
            if plan.session is not None:
                order_sync_from_session(session=plan.session)
        return record
    except _AlreadyRecorded:
        raise
    except UnknownOrder as exc:
        return _event_record_outcome(event, note=f"ignored: {exc}", processed=True)
    except Exception as exc:
        _event_record_outcome(event, note=_error_text(exc), processed=False)
        raise


def _event_record_outcome(
    event: gateway.WebhookEvent, *, note: str, processed: bool
) -> StripeEvent:
    """Record, after its transaction rolled back, what became of an event's first
    delivery. Should a concurrent delivery have recorded it meanwhile, its record keeps
    its attempts, and takes the note only if it is not processed."""
    processed_at = timezone.now() if processed else None
    record, created = _event_insert(event, processed_at=processed_at, error=note)
    if not created:
        StripeEvent.objects.filter(pk=record.pk, processed_at__isnull=True).update(
            processed_at=processed_at, error=note
        )
        record.refresh_from_db()
    return record


def _event_insert(event: gateway.WebhookEvent, **fields: Any) -> tuple[StripeEvent, bool]:
    """The event's record, made now with `fields` (its first attempt counted), and True;
    or the record a concurrent delivery made first, and False. Outside a transaction a
    plain INSERT, where get_or_create takes three statements more."""
    fields = {"type": event.type, "payload": event.payload, "attempts": 1, **fields}
    if transaction.get_connection().in_atomic_block:  # a failed INSERT would spoil it
        return StripeEvent.objects.get_or_create(stripe_id=event.id, defaults=fields)
    try:
        return StripeEvent.objects.create(stripe_id=event.id, **fields), True
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=event.id), False


def _event_mark(record: StripeEvent, *, now: datetime, note: str) -> int:
    """Mark the event processed, unless a concurrent delivery did; 1 if this one did."""
    return StripeEvent.objects.filter(pk=record.pk, processed_at__isnull=True).update(
        processed_at=now, error=note
    )


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


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


def _event_plan(event: gateway.WebhookEvent) -> _Plan:
    """How to apply `event`, from its payload alone (asking nobody)."""
    if event.livemode != gateway.key_is_live():
        return _Plan(
            note=f"ignored: a {_mode(event.livemode)}-mode event, and this shop's key is "
            f"{_mode(gateway.key_is_live())}-mode"
        )
    if event.type not in SESSION_EVENTS and event.type not in REFUND_EVENTS:
        return _Plan(note="recorded only: not a type this shop acts on")
    if _object_id(event.object) is None:
        return _Plan(note="ignored: the event's object has no id")
    if event.type in SESSION_EVENTS:
        return _Plan(session=_settled_session(event.object))
    return _Plan()


def _event_apply(event: gateway.WebhookEvent, plan: _Plan) -> str:
    """Apply the event as `plan` says; returns the note to keep with it. Asks Stripe
    (outside any transaction) only when plan.asks_stripe."""
    if plan.note is not None:
        return plan.note
    if plan.session is not None:
        order_sync_from_session(session=plan.session)
        return ""
    object_id = _object_id(event.object) or ""
    if event.type in SESSION_EVENTS:
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
