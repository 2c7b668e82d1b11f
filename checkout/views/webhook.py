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
    """POST /webhooks/stripe/: 400 for a bad signature or a signed body that is not an
    event; 503 when Stripe must be asked and is slow, failing or its breaker is open,
    500 when applying the event failed otherwise (either way Stripe retries, and the
    retry is processed again); otherwise 200, events that are recorded and ignored
    included (services.events says which)."""
    try:
        event = gateway.webhook_event_construct(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except gateway.MalformedEvent as exc:
        logger.warning("webhook refused: %s", exc)
        return HttpResponseBadRequest("invalid payload")
    except gateway.SignatureError as exc:
        logger.warning("webhook refused: %s", exc)
        return HttpResponseBadRequest("invalid signature")
    try:
        stripe_event_process(event=event)
    except gateway.StripeUnavailable as exc:
        logger.warning("webhook: %s %s not processed now: %s", event.type, event.id, exc)
        return HttpResponse("payment provider unavailable; retry later", status=503)
    except Exception:
        # Stripe retries a 5xx; the retry is processed again (the event is not marked done).
        logger.exception("webhook: processing %s %s failed", event.type, event.id)
        return HttpResponse("processing failed", status=500)
    return HttpResponse("ok")
