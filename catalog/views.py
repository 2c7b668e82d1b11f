"""Catalog pages: the product grid with search, the product page, and live stock badges."""

import hashlib
import re
import secrets

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from catalog.badges import attach_badges, stock_version
from catalog.kept import pages
from catalog.models import Product
from catalog.shell import shell_keep, shell_key, shell_page
from theme.htmx import HtmxHttpRequest, wants_fragment
from theme.pagination import page_links
from theme.params import ids_parse

SEARCH_MAX_LENGTH = 100
BADGE_IDS_MAX = 100


def _search_text(raw: str) -> str:
    """The search box's text: whitespace collapsed, NUL dropped (PostgreSQL refuses
    it in a query), at most SEARCH_MAX_LENGTH characters."""
    text = " ".join(raw[: SEARCH_MAX_LENGTH * 4].replace("\x00", " ").split())
    return text[:SEARCH_MAX_LENGTH].strip()


# Where a kept page takes the visitor's CSRF token: nothing a page shows can contain it.
_TOKEN_SLOT = f"csrf-slot-{secrets.token_hex(8)}"
_TOKENS = re.compile(
    r'(?<=name="csrfmiddlewaretoken" value=")[A-Za-z0-9]{64}(?=")'
    r'|(?<="x-csrftoken": ")[A-Za-z0-9]{64}(?=")'
)


def _page_cache_key(request: HtmxHttpRequest) -> str | None:
    """The key of this request's page in the anonymous page cache, or None when the page
    must be rendered: only a visitor with no session and no messages (so no cart, no
    toasts, nobody signed in) gets a page that is the same for everyone but its token."""
    if (
        settings.CATALOG_PAGE_CACHE_SECONDS <= 0
        or request.htmx
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or "messages" in request.COOKIES
    ):
        return None
    digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"catalog-page:{digest}"


@require_GET
@vary_on_headers("HX-Request")
def product_list(request: HtmxHttpRequest) -> HttpResponse:
    """GET /: the product grid; htmx searches and page links get the results fragment.

    Two queries whatever the page size: the count and the annotated page. On a sale
    day most visitors are anonymous: their page is kept for CATALOG_PAGE_CACHE_SECONDS
    in this process's memory, without its CSRF token, and served with theirs. A
    signed-in shopper's page is served from a shell kept as long, with their own
    navigation and token (catalog/shell.py).
    """
    key = _page_cache_key(request)
    if key is not None:
        kept = pages.get(key)
        if kept is not None:
            return HttpResponse(kept.replace(_TOKEN_SLOT, get_token(request)))
    # A signed-in shopper: the page kept for everyone signed in, with their own
    # navigation and token (catalog/shell.py).
    shell = shell_key(request) if key is None else None
    if shell is not None:
        page = shell_page(shell, request)
        if page is not None:
            return HttpResponse(page)
    response = _product_list_render(request)
    if key is not None and response.status_code == 200:
        page, tokens = _TOKENS.subn(_TOKEN_SLOT, response.content.decode())
        if tokens:
            pages.set(key, page, settings.CATALOG_PAGE_CACHE_SECONDS)
    elif shell is not None and response.status_code == 200:
        shell_keep(shell, response.content.decode(), request)
    return response


def _product_list_render(request: HtmxHttpRequest) -> HttpResponse:
    query = _search_text(request.GET.get("q", ""))
    products = Product.objects.active().with_availability().search(query)
    paginator = Paginator(products, settings.CATALOG_PAGE_SIZE)
    # get_page() turns "abc" into the first page and 9999 into the last.
    page = paginator.get_page(request.GET.get("page"))
    on_page = list(page.object_list)
    attach_badges(on_page)
    context = {
        "page": page,
        "products": on_page,
        "pagination": page_links(page, url=reverse("catalog:index"), params={"q": query}),
        "query": query,
        "fragment": wants_fragment(request),
    }
    template = "catalog/product_list.html"
    if context["fragment"]:
        template += "#results"
    return render(request, template, context)


@require_GET
def product_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """GET /products/<slug>/: one active product; inactive or unknown ones are a 404."""
    product = get_object_or_404(Product.objects.active().with_availability(), slug=slug)
    attach_badges([product])
    context = {
        "product": product,
        "products": [product],
        "max_quantity": min(product.available, settings.CART_MAX_QUANTITY),
        "hold_minutes": settings.STOCK_HOLD_MINUTES,
    }
    return render(request, "catalog/product_detail.html", context)


@require_GET
@vary_on_headers("HX-Request")
def stock_badges(request: HtmxHttpRequest) -> HttpResponse:
    """GET /products/badges/?ids=1,2,3[&detail=1]: the badges of those products, out of band.

    One query. The ETag is a digest of what the badges show, so an unchanged page
    costs a 304 with no body. Unknown and inactive ids are left out; a list with
    no id at all is a 400.
    """
    ids = ids_parse(request.GET.get("ids"), limit=BADGE_IDS_MAX)
    if not ids:
        return HttpResponseBadRequest("ids: give product ids, separated by commas")
    products = list(Product.objects.active().with_availability().filter(pk__in=ids).order_by("pk"))
    etag = stock_version(products)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        attach_badges(products)
        context = {"products": products, "detail": request.GET.get("detail") == "1"}
        response = render(request, "catalog/stock_badges.html", context)
    response["ETag"] = etag
    # Revalidate every time: the answer changes with stock, and holds expire with time.
    patch_cache_control(response, no_cache=True)
    return response
