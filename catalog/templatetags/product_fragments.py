"""Product fragments that are the same for every visitor, rendered once and then
served from memory: {% load product_fragments %}.

    {% product_card product position=forloop.counter %}   one card of the catalog grid
    {% stock_updates product detail=detail %}              one product's live stock parts

Rendering the cards was three quarters of the catalog page's cost, yet a card is the
same for every visitor except for two fields of its cart form: the visitor's CSRF
token and the return URL. So the card (catalog/_product_card.html) is rendered without
the request, from the product alone, and kept; the visitor's fields
(catalog/_card_visitor_fields.html) are rendered with the request for every page and
put into the card's form where the card shows `visitor_fields`. A kept card never held
anything of a visitor, so it cannot hand one visitor's token or URL to another. The
badge endpoint's out-of-band parts hold nothing of the visitor at all.

A fragment is kept under a key made of everything it shows: every stored field of the
product, its badge, the flags it is rendered with, and the URL prefix and language.
Any change to a product or its stock state is a new key, so there is nothing to
invalidate, in this process or any other. The memory is this process's own, bounded
and least recently used first out; the shared cache would add a network round trip and
a pickle per fragment for nothing.
"""

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from operator import attrgetter
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.db.models import FileField
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from catalog.models import Product

register = template.Library()

CARD_TEMPLATE = "catalog/_product_card.html"
VISITOR_FIELDS_TEMPLATE = "catalog/_card_visitor_fields.html"
STOCK_UPDATES_TEMPLATE = "catalog/_stock_updates.html"
# Cards past this position (below the first two rows of the widest grid) load their
# image lazily.
EAGER_IMAGES = 8
# Where a rendered card takes the visitor's fields: a comment that no escaped product
# text can contain, made unguessable besides.
VISITOR_FIELDS = mark_safe(f"<!-- visitor fields {secrets.token_hex(8)} -->")


class FragmentCache:
    """A bounded, thread-safe map from a key to rendered HTML; the least recently
    used entry goes first when it is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], Any]) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
                return value
        # Rendered outside the lock: two threads may render the same entry once each.
        value = render()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# A few kilobytes per card, under one per product's stock parts.
cards = FragmentCache(1024)
stock_parts = FragmentCache(1024)


def _clear_on_setting_change(**kwargs) -> None:
    # Tests change settings (URLs, media, thresholds) that rendered fragments depend on.
    cards.clear()
    stock_parts.clear()


setting_changed.connect(_clear_on_setting_change)


# Every stored field of a product; files by their name.
_STORED_FIELDS = Product._meta.concrete_fields
_stored_values = attrgetter(*(f.attname for f in _STORED_FIELDS if not isinstance(f, FileField)))
_FILE_FIELDS = [f.attname for f in _STORED_FIELDS if isinstance(f, FileField)]


def product_key(product: Product, *flags: Hashable) -> tuple:
    """Everything a fragment of this product can show: every stored field of the
    product, its badge, the fragment's own flags, and what its URLs and words are
    made with."""
    files = tuple(getattr(product, name).name for name in _FILE_FIELDS)
    return (
        get_script_prefix(),
        get_language(),
        *_stored_values(product),
        *files,
        product.badge,
        *flags,
    )


def card_render(product: Product, *, lazy_image: bool) -> tuple[str, str]:
    """The card's HTML before and after the visitor's fields, rendered without the request."""
    html = get_template(CARD_TEMPLATE).render(
        {"product": product, "lazy_image": lazy_image, "visitor_fields": VISITOR_FIELDS}
    )
    before, marker, after = html.partition(VISITOR_FIELDS)
    if not marker or VISITOR_FIELDS in after:
        raise template.TemplateSyntaxError(f"{CARD_TEMPLATE} must show visitor_fields once")
    return before, after


def _visitor_fields(context) -> str:
    """The visitor's fields, rendered with the request once per page: they are the
    same in every card's form."""
    fields = context.render_context.get(VISITOR_FIELDS_TEMPLATE)
    if fields is None:
        fields = context.template.engine.get_template(VISITOR_FIELDS_TEMPLATE).render(context)
        context.render_context[VISITOR_FIELDS_TEMPLATE] = fields
    return fields


@register.simple_tag(takes_context=True)
def product_card(context, product: Product, *, position: int) -> SafeString:
    """{% product_card product position=forloop.counter %}: one card of the grid.

    Needs a product annotated with_availability() with its badge attached
    (catalog.badges.attach_badges); `position` counts from 1.
    """
    lazy_image = position > EAGER_IMAGES
    before, after = cards.get_or_render(
        product_key(product, lazy_image),
        lambda: card_render(product, lazy_image=lazy_image),
    )
    return mark_safe(before + _visitor_fields(context) + after)


@register.simple_tag
def stock_updates(product: Product, *, detail: bool) -> SafeString:
    """{% stock_updates product detail=detail %}: the badge and buttons of a product,
    out of band, for the badge endpoint; `detail` for the product page's.

    Needs the same product as product_card.
    """
    return stock_parts.get_or_render(
        product_key(product, bool(detail)),
        lambda: get_template(STOCK_UPDATES_TEMPLATE).render({"product": product, "detail": detail}),
    )
