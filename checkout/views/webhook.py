"""Stripe's webhook: verify, record, apply, answer."""

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from checkout import gateway
from checkout.services.events import stripe_event_process

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs its requests; the signature is checked on the raw body.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/stripe/: 400 for a bad signature, 500 when applying the event
    failed (Stripe retries, and the retry is processed again), otherwise 200."""
    try:
        event = gateway.webhook_event_construct(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except gateway.SignatureError as exc:
        logger.warning("webhook refused: %s", exc)
        return HttpResponseBadRequest("invalid signature")
    try:
        stripe_event_process(event=event)
    except Exception:
        # Stripe retries a 5xx; the retry is processed again (the event is not marked done).
        logger.exception("webhook: processing %s %s failed", event.type, event.id)
        return HttpResponse("processing failed", status=500)
    return HttpResponse("ok")
