"""Try again after a failed payment: a new checkout of the same lines, at today's prices
and stock (a "Buy now" order too)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.http import SignedInHttpRequest
from checkout.selectors import order_for_shopper, order_items_to_retry
from checkout.services.start import order_mark_retry
from checkout.views.payment import checkout_open
from theme.htmx import login_required
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
    retry, response = checkout_open(request, items=items, from_cart=order.from_cart, back=back)
    if retry is not None:
        order_mark_retry(order=retry, retry_of=order)
    return response
