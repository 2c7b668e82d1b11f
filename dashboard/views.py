"""The shopper's dashboard: order list, order detail and the live status fragment."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from checkout.models import Order
from dashboard import selectors

PAGE_SIZE = 20
# How the status fragment is laid out: "compact" in the order list, "detail" on the
# order page (a change there also refreshes its timeline). Anything else means
# "standalone" (the checkout success page, the plain status page).
STATUS_LAYOUTS = {"compact", "detail"}


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails


def _wants_fragment(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def shopper_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """login_required that also copes with htmx: a poller whose session has ended
    sends the whole tab to the login form (then back to the page it was on), instead
    of swapping the login form into the fragment."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            back_to = request.htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(redirect_to_login(back_to).url)
        return redirect_to_login(request.get_full_path())

    return wrapper


@require_GET
@shopper_required
@vary_on_headers("HX-Request")
def order_list(request: HtmxHttpRequest) -> HttpResponse:
    orders = selectors.order_list(user=request.user)
    # get_page() turns a missing, non-numeric or out-of-range number into a valid page.
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = selectors.paid_totals(user=request.user)
    context = {"page": page, "totals": totals, "paid_orders": sum(t.orders for t in totals)}
    template = "dashboard/order_list.html"
    if _wants_fragment(request):
        template += "#orders"
    return render(request, template, context)


@require_GET
@shopper_required
def order_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(user=request.user, pk=pk)
    if order is None:
        raise Http404("No such order")
    context = {"order": order, "timeline": selectors.order_timeline(order=order)}
    return render(request, "dashboard/order_detail.html", context)


@require_GET
@never_cache
@shopper_required
@vary_on_headers("HX-Request")
def order_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The live status of one order.

    To htmx (the poller): 204 while the status is the one the poller shows (`shown`),
    so nothing is swapped and screen readers hear nothing; otherwise the fragment,
    which has no trigger once the order is final, so polling stops. The response that
    finds the order newly paid also queues the "Payment confirmed" toast. To a plain
    GET: a small page with the status.
    """
    order = Order.objects.filter(user=request.user, pk=pk).first()
    if order is None:
        raise Http404("No such order")
    if not _wants_fragment(request):
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
