"""Try again after a failed payment: a new checkout of the same lines, at today's prices
and stock (a "Buy now" order too)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.http import SignedInHttpRequest
from catalog.selectors import product_names
from checkout.exceptions import CheckoutError, InsufficientStock
from checkout.ratelimit import checkout_start_allowed
from checkout.resilience import shopper_budget
from checkout.selectors import order_for_shopper, order_items_to_retry
from checkout.services.start import checkout_start, order_mark_retry
from checkout.views.payment import _rate_limited
from theme.htmx import htmx_redirect, login_required
from theme.params import id_parse


@require_POST
@login_required
def checkout_retry(request: SignedInHttpRequest) -> HttpResponse:
    """POST /checkout/retry/ (`order`): check out again what a failed order held."""
    order_id = id_parse(request.POST.get("order"))
    order = order_for_shopper(user=request.user, pk=order_id) if order_id else None
    if order is None or not order.delayed_payment_failed:
        raise Http404("No failed payment to try again")
    back = order.get_absolute_url()
    if not order.can_be_retried:
        messages.info(request, "You paid for this order again already; nothing more to do.")
        return redirect(back)
    items = order_items_to_retry(order=order)
    if not items:
        messages.error(request, "These products are no longer sold.")
        return redirect(back)
    if not checkout_start_allowed(request=request):
        return _rate_limited(request)
    try:
        with shopper_budget():
            retry = checkout_start(
                user=request.user,
                items=items,
                base_url=request.build_absolute_uri("/").rstrip("/"),
                from_cart=order.from_cart,
            )
    except InsufficientStock as exc:
        names = (
            exc.names
            if exc.names.keys() >= exc.problems.keys()
            else product_names(ids=exc.problems)
        )
        for pid, problem in exc.problems.items():
            messages.error(request, f"{names.get(pid, 'An item')}: {problem}")
        return htmx_redirect(request, back)
    except CheckoutError as exc:
        messages.error(request, str(exc))
        return htmx_redirect(request, back)
    order_mark_retry(order=retry, retry_of=order)
    return htmx_redirect(request, retry.stripe_checkout_url)
