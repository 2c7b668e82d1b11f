"""Checkout: start a payment, come back from Stripe, and Stripe's webhook."""

import logging

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from catalog.models import Product
from checkout import gateway, services
from checkout.models import Order
from checkout.selectors import cart_for_request

logger = logging.getLogger(__name__)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for htmx requests (htmx would follow it in the XHR)."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _buy_now_product(request: HttpRequest) -> Product | None:
    """The product a "Buy now" post names (404 if unknown or not sold); None for a cart
    checkout."""
    raw = request.POST.get("product")
    if raw is None:
        return None
    if not raw.isdigit():
        raise Http404("No such product")
    return get_object_or_404(Product.objects.active(), pk=int(raw))


@never_cache
@require_http_methods(["GET", "POST"])
def checkout_start(request: HtmxHttpRequest) -> HttpResponse:
    """POST /checkout/: the cart (or one product, "Buy now") to Stripe Checkout.

    A GET (a bookmark, a reload) changes nothing and leads to the cart.
    """
    if request.method == "GET":
        return redirect("checkout:cart")
    product = _buy_now_product(request)
    back = product.get_absolute_url() if product else reverse("checkout:cart")
    quantity = request.POST.get("quantity", "1").strip()
    if product and not (quantity.isdigit() and int(quantity) >= 1):
        messages.error(request, "Choose a whole number of at least 1.")
        return _redirect(request, back)
    if not request.user.is_authenticated:
        messages.info(request, "Sign in to check out; your cart is kept.")
        login = redirect_to_login(back)
        return _redirect(request, login.url)

    if product:
        items, from_cart = {product.pk: int(quantity)}, False
    else:
        cart = cart_for_request(request=request)
        items = dict(cart.items.values_list("product_id", "quantity")) if cart else {}
        from_cart = True
    try:
        order = services.checkout_start(
            user=request.user,
            items=items,
            base_url=request.build_absolute_uri("/").rstrip("/"),
            from_cart=from_cart,
        )
    except services.InsufficientStock as exc:
        names = dict(Product.objects.filter(pk__in=exc.problems).values_list("pk", "name"))
        for pid, problem in exc.problems.items():
            messages.error(request, f"{names.get(pid, 'An item')}: {problem}")
        return _redirect(request, back)
    except services.CheckoutError as exc:
        messages.error(request, str(exc))
        return _redirect(request, back)
    return _redirect(request, order.stripe_checkout_url)


@never_cache
@require_GET
def checkout_success(request: HtmxHttpRequest) -> HttpResponse:
    """Stripe's success_url. Confirms the payment here too, so a lost or late webhook
    never leaves the shopper waiting; the status fragment polls until it is final."""
    session_id = request.GET.get("session_id", "")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not session_id:
        raise Http404("No checkout session")
    order = get_object_or_404(Order, stripe_session_id=session_id, user=request.user)
    try:
        order = services.order_fulfil(session_id=session_id)
    except (gateway.GatewayError, services.UnknownOrder):
        logger.warning("success page: could not confirm session %s now", session_id)
    return render(request, "checkout/success.html", {"order": order})


@never_cache
@require_GET
def checkout_cancel(request: HtmxHttpRequest) -> HttpResponse:
    """Stripe's cancel_url: close the session, release the hold, back to the cart."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raw = request.GET.get("order", "")
    if not raw.isdigit():
        raise Http404("No such order")
    order = get_object_or_404(Order, pk=int(raw), user=request.user)
    order = services.checkout_abandon(order=order)
    if order.status == Order.Status.CANCELED:
        messages.info(request, "Checkout canceled. Nothing was charged; your cart is unchanged.")
    elif order.status in (Order.Status.PAID, Order.Status.PROCESSING):
        messages.success(request, "Your payment went through before you left Stripe.")
        return redirect(order)
    next_url = request.GET.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("checkout:cart")


@csrf_exempt  # Stripe signs its requests; the signature is checked on the raw body.
@require_POST
def stripe_webhook(request: HtmxHttpRequest) -> HttpResponse:
    try:
        event = gateway.webhook_event_construct(
            request.body, request.headers.get("Stripe-Signature")
        )
    except gateway.SignatureError as exc:
        logger.warning("webhook refused: %s", exc)
        return HttpResponseBadRequest("invalid signature")
    try:
        services.stripe_event_process(event=event)
    except Exception:
        # Stripe retries a 5xx; the retry is processed again (the event is not marked done).
        logger.exception("webhook: processing %s %s failed", event.type, event.id)
        return HttpResponse("processing failed", status=500)
    return HttpResponse("ok")
