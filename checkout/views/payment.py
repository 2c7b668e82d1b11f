"""Checkout: start a payment, and come back from Stripe (success or cancel)."""

import logging
import re

from django.conf import settings
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
from checkout.ratelimit import checkout_start_allowed
from checkout.resilience import shopper_budget
from checkout.selectors import cart_quantities_of, order_for_shopper
from checkout.services.start import checkout_abandon, sold_out_refuse
from checkout.services.start import checkout_start as checkout_start_service
from checkout.services.transitions import order_fulfil
from theme.htmx import HtmxHttpRequest, htmx_redirect, login_redirect, login_required
from theme.params import QUANTITY_MAX_DIGITS, NotANumber, NumberTooLong, id_parse, number_parse

logger = logging.getLogger(__name__)

# A Checkout Session id as Stripe writes them (cs_test_..., cs_live_...).
_SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,250}")
# What a rate-limited shopper is told to wait, in seconds (Retry-After).
RATE_LIMITED_RETRY_AFTER = 60


def _buy_now_product(request: HttpRequest) -> Product | None:
    """The product a "Buy now" post names (404 if unknown or not sold); None for a cart
    checkout."""
    raw = request.POST.get("product")
    if raw is None:
        return None
    product_id = id_parse(raw)
    product = product_active_get(pk=product_id) if product_id is not None else None
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
    quantity = 1
    if product:
        try:
            quantity = number_parse(
                request.POST.get("quantity", "1"), max_digits=QUANTITY_MAX_DIGITS
            )
        except NumberTooLong:
            messages.error(
                request, f"{product.name}: At most {settings.CART_MAX_QUANTITY} per order."
            )
            return htmx_redirect(request, back)
        except NotANumber:
            quantity = 0
        if quantity < 1:
            messages.error(request, "Choose a whole number of at least 1.")
            return htmx_redirect(request, back)
    if not request.user.is_authenticated:
        messages.info(request, "Sign in to check out; your cart is kept.")
        return login_redirect(request, back)

    # The cart is read before the rate limits count this start (checkout_open): one
    # query for a shopper over the limit, so that a sold-out one is not counted at all.
    if product:
        items, from_cart = {product.pk: quantity}, False
    else:
        items, from_cart = cart_quantities_of(user=request.user), True
    _, response = checkout_open(request, items=items, from_cart=from_cart, back=back)
    return response


def checkout_open(
    request: HtmxHttpRequest, *, items: dict[int, int], from_cart: bool, back: str
) -> tuple[Order | None, HttpResponse]:
    """Start a checkout of `items` within the shopper's Stripe budget: the order and a
    redirect to Stripe, or None and a redirect to `back` with the reasons as messages
    (or the rate limit's 429). Shared by the checkout and "Try again".

    A product this process found sold out a moment ago is refused before the start is
    counted against the rate limits: that refusal costs neither Stripe nor a lock, and
    a flash sale's late buyers, by the hundred, need not each write to the cache.
    """
    try:
        sold_out_refuse(items=items)
        if not checkout_start_allowed(request=request):
            return None, rate_limited(request)
        with shopper_budget():
            order = checkout_start_service(
                user=request.user,  # type: ignore[arg-type]
                items=items,
                base_url=request.build_absolute_uri("/").rstrip("/"),
                from_cart=from_cart,
            )
    except InsufficientStock as exc:
        names = (
            exc.names
            if exc.names.keys() >= exc.problems.keys()
            else product_names(ids=exc.problems)
        )
        for pid, problem in exc.problems.items():
            messages.error(request, f"{names.get(pid, 'An item')}: {problem}")
        return None, htmx_redirect(request, back)
    except CheckoutError as exc:
        messages.error(request, str(exc))
        return None, htmx_redirect(request, back)
    return order, htmx_redirect(request, order.stripe_checkout_url)


def rate_limited(request: HtmxHttpRequest) -> HttpResponse:
    """429: too many checkout starts. A page for a plain post; for htmx a toast, appended
    to #toasts (base.html's htmx-config lets htmx swap a 429)."""
    if request.htmx:
        response = render(request, "checkout/rate_limited.html#toast", status=429)
        response["HX-Retarget"] = "#toasts"
        response["HX-Reswap"] = "beforeend"
    else:
        response = render(request, "checkout/rate_limited.html", status=429)
    response["Retry-After"] = str(RATE_LIMITED_RETRY_AFTER)
    return response


@never_cache
@require_GET
@login_required
def checkout_success(request: SignedInHttpRequest) -> HttpResponse:
    """Stripe's success_url. Confirms the payment here too, so a lost or late webhook
    never leaves the shopper waiting; the status fragment polls until it is final.

    Stripe is asked within the shopper's time budget; when it is slow, failing or its
    breaker is open, the page shows the order as being confirmed, and the webhook or
    the sweeper settles it.
    """
    session_id = request.GET.get("session_id", "")
    if not _SESSION_ID.fullmatch(session_id):
        raise Http404("No checkout session")
    order = order_for_shopper(user=request.user, session_id=session_id)
    if order is None:
        raise Http404("No such order")
    if order.status not in (Order.Status.PAID, Order.Status.REFUNDING, Order.Status.REFUNDED):
        try:
            with shopper_budget():
                order = order_fulfil(session_id=session_id)
        except (gateway.GatewayError, UnknownOrder):
            logger.warning("success page: could not confirm session %s now", session_id)
    return render(request, "checkout/success.html", {"order": order})


@never_cache
@require_GET
@login_required
def checkout_cancel(request: SignedInHttpRequest) -> HttpResponse:
    """Stripe's cancel_url: close the session, release the hold, back to the cart."""
    order_id = id_parse(request.GET.get("order"))
    order = order_for_shopper(user=request.user, pk=order_id) if order_id is not None else None
    if order is None:
        raise Http404("No such order")
    with shopper_budget():
        order = checkout_abandon(order=order)
    if order.status == Order.Status.CANCELED:
        messages.info(request, "Checkout canceled. Nothing was charged; your cart is unchanged.")
    elif order.status in (Order.Status.PAID, Order.Status.PROCESSING):
        messages.success(request, "Your payment went through before you left Stripe.")
        return redirect(order)
    return redirect("checkout:cart")
