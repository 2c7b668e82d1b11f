"""A signed-in shopper's catalog page comes from a shell kept for a moment, with their own
navigation, cart count and CSRF token rendered per request (catalog/shell.py)."""

import re

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.factories import UserFactory
from catalog import shell
from catalog.factories import ProductFactory
from catalog.kept import pages
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import CartItem

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')
CART_COUNT = re.compile(r'<span id="cart-count"[^>]*>(\d+)</span>', re.DOTALL)


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.CATALOG_PAGE_CACHE_SECONDS = 30
    pages.clear()
    yield
    pages.clear()


@pytest.fixture
def products(db):
    return [ProductFactory(name=f"Thing {i}", stock_on_hand=5) for i in range(3)]


def signed_in(user, *, items: int = 0, products=()) -> Client:
    client = Client()
    client.force_login(user)
    if items:
        CartItemFactory(cart=CartFactory(user=user), product=products[0], quantity=items)
    return client


def test_the_second_shopper_gets_the_kept_grid_with_their_own_header(
    products, django_assert_max_num_queries
):
    first = UserFactory(email="first@example.com", is_staff=True)
    second = UserFactory(email="second@example.com")
    signed_in(first, items=2, products=products).get(reverse("catalog:index"))
    client = signed_in(second, items=1, products=products)

    # The session, and the shopper with their cart count (checkout.auth): nothing about
    # the products.
    with django_assert_max_num_queries(2):
        page = client.get(reverse("catalog:index")).content.decode()

    assert page.count("<article") == 3
    assert "second@example.com" in page and "first@example.com" not in page
    assert CART_COUNT.search(page).group(1) == "1"
    assert "Shop admin" not in page  # the first shopper's staff link stayed theirs


def test_each_shopper_gets_their_own_working_csrf_token(products):
    signed_in(UserFactory(), items=1, products=products).get(reverse("catalog:index"))
    shopper = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(shopper)

    page = client.get(reverse("catalog:index")).content.decode()
    tokens = set(TOKEN.findall(page))
    response = client.post(
        reverse("checkout:cart_add"),
        {"product": products[0].pk, "quantity": 1, "csrfmiddlewaretoken": tokens.pop()},
    )

    assert response.status_code == 302  # a foreign token would be a 403
    assert CartItem.objects.filter(cart__user=shopper, product=products[0]).exists()
    assert shell.TOKEN_SLOT not in page and shell.NAV_SLOT not in page


def test_a_shopper_with_a_message_to_read_gets_a_page_of_their_own(products):
    signed_in(UserFactory(), products=products).get(reverse("catalog:index"))
    client = signed_in(UserFactory(), products=products)
    client.post(reverse("checkout:cart_add"), {"product": products[1].pk, "quantity": 1})

    page = client.get(reverse("catalog:index")).content.decode()

    assert "Added Thing 1 to your cart." in page
    assert CART_COUNT.search(page).group(1) == "1"


def test_anonymous_visitors_and_shoppers_never_share_a_page(products):
    signed_in(UserFactory(email="someone@example.com"), products=products).get("/")
    anonymous = Client().get("/").content.decode()
    assert "someone@example.com" not in anonymous and "Sign in" in anonymous

    shopper = signed_in(UserFactory(email="other@example.com"), products=products)
    page = shopper.get("/").content.decode()
    assert "other@example.com" in page and ">Sign in<" not in page


def shopper_request(user):
    request = RequestFactory().get("/", secure=True)
    request.user = user
    request.session = {}
    request.htmx = False
    return request


def test_a_page_that_shows_more_of_its_shopper_than_their_navigation_is_never_kept(products):
    request = shopper_request(UserFactory(email="shown@example.com"))
    key = shell.shell_key(request)
    nav = render_to_string(shell.NAV_TEMPLATE, request=request)
    token = '<input type="hidden" name="csrfmiddlewaretoken" value="' + "a" * 64 + '">'

    shell.shell_keep(key, f"<header>{nav}</header><main>{token}</main>", request)
    assert pages.get(key) is not None  # navigation and token only: kept
    pages.clear()

    shell.shell_keep(key, f"<header>{nav}</header><p>shown@example.com</p>{token}", request)
    assert pages.get(key) is None


def test_messages_kept_in_the_session_also_mean_a_page_of_their_own(products):
    """django.contrib.messages keeps messages that overflow their cookie in the session."""
    request = shopper_request(UserFactory())
    assert shell.shell_key(request) is not None
    request.session = {shell.SESSION_MESSAGES_KEY: "[...]"}
    assert shell.shell_key(request) is None


def test_the_kept_page_shows_the_cart_as_it_is_after_each_change(products):
    """The count read with the shopper is the cart as each request began."""
    shopper = UserFactory()
    client = signed_in(shopper, items=1, products=products)
    client.get(reverse("catalog:index"))  # the shell is kept

    client.post(reverse("checkout:cart_add"), {"product": products[1].pk, "quantity": 2})
    after_add = client.get(reverse("catalog:index")).content.decode()
    CartItem.objects.filter(cart__user=shopper).delete()  # e.g. a payment emptied it
    after_empty = client.get(reverse("catalog:index")).content.decode()

    assert CART_COUNT.search(after_add).group(1) == "3"
    assert CART_COUNT.search(after_empty).group(1) == "0"
