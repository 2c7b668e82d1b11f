"""Catalog cards and live stock parts are rendered once and then served from memory:
what a visitor sees is the same as a fresh render, always current, and a card never
carries another visitor's CSRF token or return URL."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from catalog.badges import attach_badges
from catalog.factories import ProductFactory
from catalog.models import Product
from catalog.templatetags import product_fragments
from catalog.templatetags.product_fragments import FragmentCache
from checkout.factories import StockReservationFactory
from tests.stock import stock_set

pytestmark = pytest.mark.django_db

INDEX = reverse("catalog:index")
BADGES = reverse("catalog:badges")


@pytest.fixture(autouse=True)
def empty_fragment_caches():
    product_fragments.cards.clear()
    product_fragments.stock_parts.clear()


def page(client, *args, **kwargs) -> str:
    return client.get(*args, **kwargs).content.decode()


def card_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))


def page_token(html: str) -> str:
    return re.search(r'"x-csrftoken": "([^"]+)"', html).group(1)


def without_tokens(html: str) -> str:
    html = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", html)
    return re.sub(r'("x-csrftoken": ")[^"]+', r"\1", html)


def test_a_card_from_memory_is_the_same_as_a_fresh_one(client):
    ProductFactory.create_batch(3)
    fresh = page(client, INDEX)
    assert len(product_fragments.cards) == 3
    assert without_tokens(page(client, INDEX)) == without_tokens(fresh)


def test_every_card_form_carries_this_requests_token(client):
    ProductFactory.create_batch(3)
    page(client, INDEX)  # the cards are in memory now
    html = page(client, INDEX)
    assert html.count('name="csrfmiddlewaretoken"') == 3
    # One masked token per page: the one the page's htmx requests send too.
    assert card_tokens(html) == {page_token(html)}


def test_a_card_from_memory_never_carries_another_visitors_token_or_url(client):
    ProductFactory.create_batch(2)
    first = page(client, INDEX, {"q": "product"})
    other_visitor = Client()
    second = page(other_visitor, INDEX, {"q": "product", "page": "1"})
    assert card_tokens(first) and card_tokens(second)
    assert card_tokens(first).isdisjoint(card_tokens(second))
    assert card_tokens(second) == {page_token(second)}
    assert first.count('name="next" value="/?q=product"') == 2
    assert second.count('name="next" value="/?q=product&amp;page=1"') == 2
    assert 'value="/?q=product"' not in second


def test_a_rendered_card_holds_nothing_of_the_request():
    product = Product.objects.with_availability().get(pk=ProductFactory().pk)
    attach_badges([product])
    before, after = product_fragments.card_render(product, lazy_image=False)
    card = before + after
    assert "csrfmiddlewaretoken" not in card
    assert 'name="next"' not in card
    assert f'name="product" value="{product.pk}"' in card


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"name": "Renamed lantern"}, "Renamed lantern"),
        ({"description": "Now with a longer wick."}, "Now with a longer wick."),
        ({"unit_amount": 4321}, "€43.21"),
        ({"currency": "usd"}, "$12.50"),
        ({"slug": "moved-lantern"}, 'href="/products/moved-lantern/"'),
        ({"image": "products/lantern.jpg"}, 'src="/media/products/lantern.jpg"'),
        ({"stock_on_hand": 3}, "Only 3 left"),
    ],
)
def test_a_change_to_a_product_shows_at_once_even_when_updated_at_stays(client, change, shown):
    product = ProductFactory(name="Lantern", unit_amount=1250, stock_on_hand=20)
    assert shown not in page(client, INDEX)
    # A queryset update leaves updated_at alone: the card must change all the same.
    Product.objects.filter(pk=product.pk).update(**change)
    assert shown in page(client, INDEX)


def test_a_hold_changes_the_card_at_once(client):
    product = ProductFactory(stock_on_hand=5)
    assert "Only 5 left" in page(client, INDEX)
    StockReservationFactory(product=product, quantity=2)  # stock on hand stays 5
    assert "Only 3 left" in page(client, INDEX)
    StockReservationFactory(product=product, quantity=3)
    html = page(client, INDEX)
    assert "All held in checkouts<" in html
    assert "Unavailable<" in html


def test_only_cards_past_the_first_eight_load_their_image_lazily(client):
    for n in range(10):
        ProductFactory(name=f"Item {n:02d}", image=f"products/{n}.jpg")
    html = page(client, INDEX)
    images = re.findall(r'<img src="/media/products/(\d)\.jpg"([^>]*)>', html)
    assert [(n, "loading" in attrs) for n, attrs in images] == [(str(n), n >= 8) for n in range(10)]
    # The same product lower down the grid, as on a search, gets the lazy card.
    assert 'loading="lazy"' not in page(client, INDEX, {"q": "Item 09"})


def test_the_badge_endpoint_answers_the_same_from_memory_and_follows_stock(client):
    product = ProductFactory(stock_on_hand=10)
    url = f"{BADGES}?ids={product.pk}&detail=1"
    fresh = page(client, url)
    assert len(product_fragments.stock_parts) == 1
    assert page(client, url) == fresh
    stock_set(product, 0)
    html = page(client, url)
    assert 'data-stock-key="Sold out"' in html
    assert re.search(rf'<button id="buy-now-{product.pk}"[^>]*disabled', html, re.S)


def test_the_badge_endpoint_keeps_cards_and_product_page_parts_apart(client):
    product = ProductFactory()
    assert f"buy-now-{product.pk}" in page(client, f"{BADGES}?ids={product.pk}&detail=1")
    assert f"buy-now-{product.pk}" not in page(client, f"{BADGES}?ids={product.pk}")


def test_the_memory_is_bounded_and_drops_the_least_recently_used_first():
    cache = FragmentCache(2)
    cache.get_or_render("a", lambda: "A")
    cache.get_or_render("b", lambda: "B")
    assert cache.get_or_render("a", lambda: "not again") == "A"
    cache.get_or_render("c", lambda: "C")  # "b" was used least recently
    assert len(cache) == 2
    assert cache.get_or_render("b", lambda: "B again") == "B again"
    assert cache.get_or_render("a", lambda: "not again") == "not again"


def test_a_settings_change_empties_the_memory(client, settings):
    ProductFactory()
    page(client, INDEX)
    assert len(product_fragments.cards) == 1
    settings.MEDIA_URL = "/elsewhere/"
    assert len(product_fragments.cards) == 0
