"""The cart page and the posts that change it.

Every post works both ways: htmx gets a fragment (with the header count and the
totals out of band), a plain form post gets a redirect, or the page again with the
error when the input is refused. Refused input changes nothing: 400 to a plain post
(the cart page with the inline error), 404 for a product or a line that is not
there (or is another shopper's). Refusals answered to htmx are 200 with the inline
error, because htmx 2 swaps no 4xx response under its default `responseHandling`.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from catalog.models import Product
from catalog.selectors import product_active_get
from checkout.models import CartItem
from checkout.selectors import (
    CartLine,
    CartSummary,
    cart_for_request,
    cart_item_for_request,
    cart_summary,
)
from checkout.services.cart import (
    CartQuantityError,
    cart_get_or_create,
    cart_item_add,
    cart_item_remove,
    cart_item_set_quantity,
    quantity_parse,
)
from theme.htmx import HtmxHttpRequest, wants_fragment
from theme.params import id_parse

# A line removed by a plain form post, offered back once on the cart page ("Undo").
SESSION_UNDO_KEY = "cart_undo"
# The id of the element that wraps the whole cart on the cart page.
CART_TARGET = "cart"


def _cart_context(summary: CartSummary, **extra) -> dict:
    # cart_count overrides the context processor's lazy query: the lines are loaded.
    return {"summary": summary, "cart_count": summary.count, **extra}


def _safe_next(request: HttpRequest) -> str:
    """The `next` field if it is a local URL, else the cart."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("checkout:cart")


def _own_item(request: HttpRequest, item_id: int) -> CartItem:
    """A line of the shopper's own cart, or 404 (another shopper's line is not there)."""
    item = cart_item_for_request(request=request, item_id=item_id)
    if item is None:
        raise Http404("No such line in your cart")
    return item


@require_GET
@never_cache  # the back button must not show a stale cart
@vary_on_headers("HX-Request")
def cart_detail(request: HtmxHttpRequest) -> HttpResponse:
    """GET /cart/: the lines, the total and the checkout button (or the empty state)."""
    summary = cart_summary(cart=cart_for_request(request=request))
    undo = request.session.pop(SESSION_UNDO_KEY, None)  # saves the session only if it was there
    template = "checkout/cart.html#cart" if wants_fragment(request) else "checkout/cart.html"
    return render(request, template, _cart_context(summary, undo=undo))


@require_POST
def cart_add(request: HtmxHttpRequest) -> HttpResponse:
    """POST /cart/add/ (`product`, `quantity` = 1): add units of a product.

    htmx from a catalog card or product page: a short confirmation (or the error)
    for the card's status element, the header count out of band, a toast. htmx from
    the cart page ("Undo", targeting #cart): the cart again. Plain post: back to
    `next` (or the cart) with a message.
    """
    product_id = id_parse(request.POST.get("product"))
    if product_id is None:
        return _add_refused(request, "Choose a product to add.", product=None)
    product = product_active_get(pk=product_id)
    if product is None:
        raise Http404("No such product")
    try:
        quantity = quantity_parse(raw=request.POST.get("quantity", "1"), allow_zero=False)
        cart = cart_get_or_create(request=request)
        cart_item_add(cart=cart, product_id=product.pk, quantity=quantity)
    except CartQuantityError as error:
        return _add_refused(request, str(error), product=product)
    except Product.DoesNotExist:
        raise Http404("No such product") from None

    what = f"{quantity} × {product.name}" if quantity > 1 else product.name
    if request.POST.get("restore"):  # the cart page's "Undo"
        messages.success(request, f"Put {what} back in your cart.")
    else:
        messages.success(request, f"Added {what} to your cart.")
    if request.htmx and request.htmx.target == CART_TARGET:
        summary = cart_summary(cart=cart)
        return render(request, "checkout/cart.html#cart", _cart_context(summary))
    if request.htmx:
        summary = cart_summary(cart=cart)
        return render(
            request, "checkout/_cart_added.html", {"cart_count": summary.count, "oob": True}
        )
    return HttpResponseRedirect(_safe_next(request))


def _add_refused(
    request: HtmxHttpRequest, message: str, *, product: Product | None
) -> HttpResponse:
    """Nothing was added: say why, where the shopper is looking."""
    name = product.name if product else "that"
    if request.htmx and request.htmx.target == CART_TARGET:
        summary = cart_summary(cart=cart_for_request(request=request))
        notice = f"Could not put back {name}: {message}"
        return render(request, "checkout/cart.html#cart", _cart_context(summary, notice=notice))
    if request.htmx:
        return render(request, "checkout/_cart_added.html", {"error": message})
    summary = cart_summary(cart=cart_for_request(request=request))
    context = _cart_context(
        summary,
        notice=f"Could not add {name} to your cart: {message}",
        back=product.get_absolute_url() if product else None,
    )
    return render(request, "checkout/cart.html", context, status=400)


@require_POST
def cart_update(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    """POST /cart/items/<id>/ (`quantity`): set a line's quantity; 0 removes it.

    htmx (the quantity input, debounced): the line's feedback (its inline error or
    nothing), with the line total, the summary and the header count out of band;
    a removal answers the whole cart with an "Undo". Plain post: redirect to the
    cart, or the cart page with the inline error (400).
    """
    item = _own_item(request, item_id)
    raw = request.POST.get("quantity")
    try:
        quantity = quantity_parse(raw=raw, allow_zero=True)
        updated = cart_item_set_quantity(item=item, quantity=quantity)
    except CartQuantityError as error:
        return _line_refused(request, item, str(error), entered=raw or "")
    if updated is None:
        return _line_removed(request, item)

    if request.htmx:
        summary = cart_summary(cart=item.cart)
        line = _line_of(summary, item)
        return render(request, "checkout/cart.html#line_update", _cart_context(summary, line=line))
    messages.success(request, f"{item.product.name}: quantity set to {quantity}.")
    return HttpResponseRedirect(reverse("checkout:cart"))


def _line_of(summary: CartSummary, item: CartItem) -> CartLine:
    """The summary's line for `item`; 404 if it went away meanwhile (another tab)."""
    for line in summary.lines:
        if line.id == item.pk:
            return line
    raise Http404("No such line in your cart")


def _line_refused(
    request: HtmxHttpRequest, item: CartItem, message: str, *, entered: str
) -> HttpResponse:
    """The line keeps its last valid quantity; the error is shown beside it."""
    summary = cart_summary(cart=item.cart)
    line = _line_of(summary, item)
    context = _cart_context(
        summary, line=line, error_line_id=item.pk, error=message, entered=entered
    )
    if request.htmx:
        return render(request, "checkout/cart.html#line_update", context)
    return render(request, "checkout/cart.html", context, status=400)


@require_POST
def cart_remove(request: HtmxHttpRequest, item_id: int) -> HttpResponse:
    """POST /cart/items/<id>/remove/: remove a line, offering to undo it."""
    item = _own_item(request, item_id)
    cart_item_remove(item=item)
    return _line_removed(request, item)


def _line_removed(request: HtmxHttpRequest, item: CartItem) -> HttpResponse:
    undo = {"product": item.product_id, "quantity": item.quantity, "name": item.product.name}
    if request.htmx:
        summary = cart_summary(cart=item.cart)
        response = render(request, "checkout/cart.html#cart", _cart_context(summary, undo=undo))
        # The post came from one line; its answer is the whole cart (the line is gone,
        # the totals change, and the cart may now be empty).
        return reswap(retarget(response, f"#{CART_TARGET}"), "outerHTML")
    request.session[SESSION_UNDO_KEY] = undo
    return HttpResponseRedirect(reverse("checkout:cart"))
