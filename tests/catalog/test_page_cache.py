"""The anonymous catalog page is kept in memory for a moment and served with each
visitor's own CSRF token; anyone with a session always gets a freshly rendered page."""

import re

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from catalog.factories import ProductFactory
from checkout.models import CartItem

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')
HEADER_TOKEN = re.compile(r'"x-csrftoken": "([A-Za-z0-9]{64})"')


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.CATALOG_PAGE_CACHE_SECONDS = 30
    caches["local"].clear()
    yield
    caches["local"].clear()


@pytest.fixture
def products(db):
    return [ProductFactory(name=f"Thing {i}", stock_on_hand=5) for i in range(3)]


def test_second_anonymous_visitor_is_served_from_memory_without_a_query(
    products, django_assert_num_queries
):
    assert Client().get(reverse("catalog:index")).status_code == 200
    with django_assert_num_queries(0):
        second = Client().get(reverse("catalog:index"))
    assert second.status_code == 200
    assert second.content.count(b"<article") == 3


def test_each_visitor_gets_their_own_working_csrf_token(products):
    Client().get(reverse("catalog:index"))  # fills the cache
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(reverse("catalog:index")).content.decode()
    tokens = set(TOKEN.findall(page)) | set(HEADER_TOKEN.findall(page))
    assert len(tokens) == 1 and "csrf-slot" not in page
    response = visitor.post(
        reverse("checkout:cart_add"),
        {"product": products[0].pk, "quantity": 1, "csrfmiddlewaretoken": tokens.pop()},
    )
    assert response.status_code == 302  # accepted: a 403 would mean a foreign token
    assert CartItem.objects.filter(product=products[0]).exists()


def test_two_visitors_never_share_a_token(products):
    one = Client().get(reverse("catalog:index")).content.decode()
    two = Client().get(reverse("catalog:index")).content.decode()
    assert set(TOKEN.findall(one)).isdisjoint(TOKEN.findall(two))


def test_a_visitor_with_a_cart_always_sees_their_own_page(products):
    Client().get(reverse("catalog:index"))  # fills the cache
    shopper = Client()
    shopper.post(reverse("checkout:cart_add"), {"product": products[0].pk, "quantity": 2})
    page = shopper.get(reverse("catalog:index")).content.decode()
    assert 'aria-label="2 items in cart">2<' in page


def test_signed_in_shoppers_are_never_served_the_kept_page(products, user):
    Client().get(reverse("catalog:index"))
    client = Client()
    client.force_login(user)
    page = client.get(reverse("catalog:index")).content.decode()
    assert user.email in page


def test_search_pages_are_kept_apart(products):
    assert Client().get(reverse("catalog:index"), {"q": "Thing 1"}).content.count(b"<article") == 1
    assert Client().get(reverse("catalog:index")).content.count(b"<article") == 3


def test_htmx_fragments_are_not_served_from_the_page_cache(products, htmx_headers):
    Client().get(reverse("catalog:index"))
    fragment = Client().get(reverse("catalog:index"), headers=htmx_headers)
    assert b"<html" not in fragment.content


def test_zero_seconds_turns_the_cache_off(products, settings, django_assert_num_queries):
    settings.CATALOG_PAGE_CACHE_SECONDS = 0
    Client().get(reverse("catalog:index"))
    with django_assert_num_queries(2):
        Client().get(reverse("catalog:index"))
