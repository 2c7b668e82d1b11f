"""Stripe's webhook events: recorded by id (the audit log and the de-duplication
record), then applied through the order transitions."""

from django.db.models import F
from django.utils import timezone

from checkout import gateway
from checkout.exceptions import UnknownOrder
from checkout.models import Order, StripeEvent
from checkout.services.refunds import metadata_order_id, order_for_payment, order_mark_refunded
from checkout.services.transitions import order_fulfil

SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)


def stripe_event_process(*, event: gateway.WebhookEvent) -> StripeEvent:
    """Record a verified event by its id and apply it.

    A second delivery of a processed event changes nothing. An event that fails is kept
    with its error and the exception propagates (the webhook answers 5xx, Stripe
    retries, and the retry is processed again). Unknown types are recorded only.
    """
    record, _ = StripeEvent.objects.get_or_create(
        stripe_id=event.id, defaults={"type": event.type, "payload": event.payload}
    )
    if record.processed_at is not None:
        return record
    StripeEvent.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
    try:
        note = _event_apply(event)
    except UnknownOrder as exc:
        note = f"ignored: {exc}"
    except Exception as exc:
        StripeEvent.objects.filter(pk=record.pk).update(error=f"{type(exc).__name__}: {exc}")
        raise
    StripeEvent.objects.filter(pk=record.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), error=note
    )
    record.refresh_from_db()
    return record


def _event_apply(event: gateway.WebhookEvent) -> str:
    obj = event.object
    if event.type in SESSION_EVENTS:
        # Stripe's current view of the session, not the event's snapshot: events come
        # late and out of order, the session's state does not go backwards.
        order_fulfil(session_id=obj["id"])
        return ""
    if event.type == "charge.refunded":
        order_mark_refunded(
            payment_intent_id=obj.get("payment_intent") or "",
            order_id=metadata_order_id(obj),
            fully=bool(obj.get("refunded")),
        )
        return ""
    if event.type in ("refund.updated", "refund.failed") and obj.get("status") == "failed":
        query = order_for_payment(
            payment_intent_id=obj.get("payment_intent") or "", order_id=metadata_order_id(obj)
        )
        updated = (
            Order.objects.filter(query).update(
                needs_review=True, review_reason=f"Refund {obj.get('id')} failed in Stripe."
            )
            if query
            else 0
        )
        return "" if updated else "ignored: no order for this refund"
    return "recorded only: not a type this shop acts on"


def stripe_event_reprocess(*, event: StripeEvent) -> StripeEvent:
    """Staff action: apply a recorded event again (everything it does is idempotent)."""
    StripeEvent.objects.filter(pk=event.pk).update(processed_at=None)
    obj = (event.payload.get("data") or {}).get("object") or {}
    return stripe_event_process(
        event=gateway.WebhookEvent(
            id=event.stripe_id, type=event.type, object=obj, payload=event.payload
        )
    )
