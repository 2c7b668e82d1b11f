"""A signed-in shopper's catalog page, served from a shell kept for a moment.

On the catalog page only two things belong to the shopper: the header's navigation
(their menu and email, their orders link, their cart count: base.html's `shopper_nav`
partial) and the CSRF tokens. Everything else, the product grid above all, is the same
for every signed-in shopper. So the page rendered for one of them becomes a shell: their
navigation and their tokens replaced by slots, kept for CATALOG_PAGE_CACHE_SECONDS in
this process's memory (beside the anonymous page: catalog.kept). Each shopper's
request renders only their own navigation into it, and their own token; their page is
the shell's age at most, as the anonymous page is.

A shell is made only when the navigation rendered alone is found exactly once in the
page and the shopper's email nowhere else in it: a page that shows anything more of
its shopper is never kept. Pages with messages to show, htmx requests and anonymous
visitors (catalog.views keeps their whole page) never use it. The navigation itself is
kept per shopper and cart count (`shopper_nav`), so a request renders no template.
"""

import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.signals import setting_changed
from django.middleware.csrf import get_token
from django.template import Context, engines
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.translation import get_language

from catalog.kept import pages
from catalog.templatetags.product_fragments import FragmentCache
from theme.htmx import HtmxHttpRequest

if TYPE_CHECKING:
    from django.template.backends.django import DjangoTemplates

NAV_TEMPLATE = "base.html#shopper_nav"
# Where a shell takes the shopper's navigation and token: comments no escaped text of a
# page can contain, unguessable besides.
NAV_SLOT = f"<!-- shopper nav {secrets.token_hex(8)} -->"
TOKEN_SLOT = f"csrf-slot-{secrets.token_hex(8)}"
TOKENS = re.compile(
    r'(?<=name="csrfmiddlewaretoken" value=")[A-Za-z0-9]{64}(?=")'
    r'|(?<="x-csrftoken": ")[A-Za-z0-9]{64}(?=")'
)
# django.contrib.messages' session storage keeps pending messages under this key.
SESSION_MESSAGES_KEY = "_messages"


def shell_key(request: HtmxHttpRequest) -> str | None:
    """The key of this request's shell, or None when its page must be rendered: only a
    signed-in shopper's full page (not an htmx fragment) with no message to show."""
    if (
        settings.CATALOG_PAGE_CACHE_SECONDS <= 0
        or request.htmx
        or "messages" in request.COOKIES
        or not request.user.is_authenticated
        or request.session.get(SESSION_MESSAGES_KEY)
    ):
        return None
    digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"catalog-shell:{digest}"


def shell_page(key: str, request: HtmxHttpRequest) -> str | None:
    """The shopper's page from the kept shell, or None when there is none."""
    shell = pages.get(key)
    if shell is None:
        return None
    return shell.replace(NAV_SLOT, shopper_nav(request), 1).replace(TOKEN_SLOT, get_token(request))


# Shoppers' navigations, with a slot for the token, keyed by everything they show.
navs = FragmentCache(1024)


def shopper_nav(request: HtmxHttpRequest) -> str:
    """The signed-in shopper's navigation with TOKEN_SLOT for its token: rendered once
    per shopper, email, staff flag and cart count (and URL prefix and language), then
    kept, like the product cards (catalog.templatetags.product_fragments): a change to
    any of them is a new key, so there is nothing to invalidate."""
    values: dict[str, Any] = {}
    engine = cast("DjangoTemplates", engines["django"]).engine
    for processor in engine.template_context_processors:
        values.update(processor(request))  # the count as the template would get it
    user = request.user
    # The catalog changes no cart: the count read with the shopper (checkout.auth's
    # `cart_units`, the cart as the request began) is this page's, and saves a query.
    units = getattr(user, "cart_units", None)
    if units is not None:
        values["cart_count"] = units
    count = values.get("cart_count")
    key = (
        get_script_prefix(),
        get_language(),
        user.pk,
        getattr(user, "email", ""),
        user.is_staff,
        count() if callable(count) else count,
    )
    # Rendered from the same values: the count is not asked for again.
    template = engine.get_template(NAV_TEMPLATE)
    return navs.get_or_render(
        key,
        lambda: TOKENS.sub(
            TOKEN_SLOT, template.render(Context(values, autoescape=engine.autoescape))
        ),
    )


def shell_keep(key: str, page: str, request: HtmxHttpRequest) -> None:
    """Keep `page`, rendered for this shopper, as the shell of its URL, if it shows
    nothing of them but their navigation and tokens."""
    page = TOKENS.sub(TOKEN_SLOT, page)
    nav = TOKENS.sub(TOKEN_SLOT, render_to_string(NAV_TEMPLATE, request=request))
    if page.count(nav) != 1:
        return
    shell = page.replace(nav, NAV_SLOT)
    email = getattr(request.user, "email", "")
    if TOKEN_SLOT not in shell or (email and email in shell):
        return
    pages.set(key, shell, settings.CATALOG_PAGE_CACHE_SECONDS)


def _clear_on_setting_change(**kwargs: Any) -> None:
    navs.clear()  # tests change settings (URLs, templates) that navigations depend on


setting_changed.connect(_clear_on_setting_change)
