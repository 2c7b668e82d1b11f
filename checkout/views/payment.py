"""Checkout: start a payment, and come back from Stripe (success or cancel)."""

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.http import SignedInHttpRequest
from catalog.models import Product
from catalog.selectors import product_active_get, product_names
from checkout import gateway
from checkout.exceptions import CheckoutError, InsufficientStock, UnknownOrder
from checkout.models import Order
from checkout.selectors import cart_for_request, cart_quantities, order_for_shopper
from checkout.services.start import checkout_abandon
from checkout.services.start import checkout_start as checkout_start_service
from checkout.services.transitions import order_fulfil
from theme.htmx import HtmxHttpRequest, htmx_redirect, login_redirect, login_required

logger = logging.getLogger(__name__)


def _buy_now_product(request: HttpRequest) -> Product | None:
    """The product a "Buy now" post names (404 if unknown or not sold); None for a cart
    checkout."""
    raw = request.POST.get("product")
    if raw is None:
        return None
    product = product_active_get(pk=int(raw)) if raw.isdigit() else None
    if product is None:
        raise Http404("No such product")
    return product


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
        return htmx_redirect(request, back)
    if not request.user.is_authenticated:
        messages.info(request, "Sign in to check out; your cart is kept.")
        return login_redirect(request, back)

    if product:
        items, from_cart = {product.pk: int(quantity)}, False
    else:
        items, from_cart = cart_quantities(cart=cart_for_request(request=request)), True
    try:
        order = checkout_start_service(
            user=request.user,
            items=items,
            base_url=request.build_absolute_uri("/").rstrip("/"),
            from_cart=from_cart,
        )
    except InsufficientStock as exc:
        names = product_names(ids=exc.problems)
        for pid, problem in exc.problems.items():
            messages.error(request, f"{names.get(pid, 'An item')}: {problem}")
        return htmx_redirect(request, back)
    except CheckoutError as exc:
        messages.error(request, str(exc))
        return htmx_redirect(request, back)
    return htmx_redirect(request, order.stripe_checkout_url)


@never_cache
@require_GET
@login_required
def checkout_success(request: SignedInHttpRequest) -> HttpResponse:
    """Stripe's success_url. Confirms the payment here too, so a lost or late webhook
    never leaves the shopper waiting; the status fragment polls until it is final."""
    session_id = request.GET.get("session_id", "")
    if not session_id:
        raise Http404("No checkout session")
    order = order_for_shopper(user=request.user, session_id=session_id)
    if order is None:
        raise Http404("No such order")
    try:
        order = order_fulfil(session_id=session_id)
    except (gateway.GatewayError, UnknownOrder):
        logger.warning("success page: could not confirm session %s now", session_id)
    return render(request, "checkout/success.html", {"order": order})


@never_cache
@require_GET
@login_required
def checkout_cancel(request: SignedInHttpRequest) -> HttpResponse:
    """Stripe's cancel_url: close the session, release the hold, back to the cart."""
    raw = request.GET.get("order", "")
    order = order_for_shopper(user=request.user, pk=int(raw)) if raw.isdigit() else None
    if order is None:
        raise Http404("No such order")
    order = checkout_abandon(order=order)
    if order.status == Order.Status.CANCELED:
        messages.info(request, "Checkout canceled. Nothing was charged; your cart is unchanged.")
    elif order.status in (Order.Status.PAID, Order.Status.PROCESSING):
        messages.success(request, "Your payment went through before you left Stripe.")
        return redirect(order)
    return redirect("checkout:cart")
