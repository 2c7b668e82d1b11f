"""The shopper's dashboard: order list, order detail and the live status fragment."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import SignedInHttpRequest
from checkout.models import Order
from checkout.selectors import order_for_shopper
from dashboard import selectors
from theme.htmx import login_required, wants_fragment
from theme.pagination import page_links

PAGE_SIZE = 20
# How the status fragment is laid out: "compact" in the order list, "detail" on the
# order page (a change there also refreshes its timeline). Anything else means
# "standalone" (the checkout success page, the plain status page).
STATUS_LAYOUTS = {"compact", "detail"}


@require_GET
@login_required
@vary_on_headers("HX-Request")
def order_list(request: SignedInHttpRequest) -> HttpResponse:
    orders = selectors.order_list(user=request.user)
    # get_page() turns a missing, non-numeric or out-of-range number into a valid page.
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = selectors.paid_totals(user=request.user)
    context = {
        "page": page,
        "pagination": page_links(page, url=reverse("dashboard:orders")),
        "totals": totals,
        "paid_orders": sum(t.orders for t in totals),
    }
    template = "dashboard/order_list.html"
    if wants_fragment(request):
        template += "#orders"
    return render(request, template, context)


@require_GET
@login_required
def order_detail(request: SignedInHttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(user=request.user, pk=pk)
    if order is None:
        raise Http404("No such order")
    context = {"order": order, "timeline": selectors.order_timeline(order=order)}
    return render(request, "dashboard/order_detail.html", context)


@require_GET
@never_cache
@login_required
@vary_on_headers("HX-Request")
def order_status(request: SignedInHttpRequest, pk: int) -> HttpResponse:
    """The live status of one order.

    To htmx (the poller): 204 while the status is the one the poller shows (`shown`),
    so nothing is swapped and screen readers hear nothing; otherwise the fragment,
    which has no trigger once the order is final, so polling stops. The response that
    finds the order newly paid also queues the "Payment confirmed" toast. To a plain
    GET: a small page with the status.
    """
    order = order_for_shopper(user=request.user, pk=pk)
    if order is None:
        raise Http404("No such order")
    if not wants_fragment(request):
        return render(request, "dashboard/order_status.html", {"order": order})

    shown = request.GET.get("shown", "")
    if shown == order.status:
        return HttpResponse(status=204)
    if order.status == Order.Status.PAID and shown not in Order.FINAL_STATUSES:
        messages.success(request, "Payment confirmed. Thank you for your order!")

    layout = request.GET.get("layout", "")
    layout = layout if layout in STATUS_LAYOUTS else ""
    response = render(
        request,
        "dashboard/_order_status.html#status",
        {"order": order, "status_layout": layout},
    )
    if order.status == Order.Status.PAID:
        # Fulfilment took the bought lines out of the cart: the header says so at once.
        response.write(render_to_string("theme/_cart_count.html", {"oob": True}, request=request))
    if order.delayed_payment_failed:
        # The page around the status says how the payment went (the heading, "Try
        # again"): it is loaded again rather than left saying "Thank you".
        response["HX-Refresh"] = "true"
    if layout == "detail":
        # The detail page's timeline and payment reference change with the status.
        response.write(
            render_to_string(
                "dashboard/order_detail.html#progress",
                {
                    "order": order,
                    "timeline": selectors.order_timeline(order=order),
                    "oob": True,
                },
                request=request,
            )
        )
    return response
