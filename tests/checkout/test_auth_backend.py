"""checkout.auth.ShopperBackend: the signed-in shopper and their cart's unit count in
one query; sessions signed in before it still load."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.factories import UserFactory
from checkout.auth import ShopperBackend
from checkout.factories import CartFactory, CartItemFactory

pytestmark = pytest.mark.django_db


def test_the_shopper_comes_with_their_cart_units_in_one_query(django_assert_num_queries):
    shopper = UserFactory()
    cart = CartFactory(user=shopper)
    CartItemFactory(cart=cart, quantity=2)
    CartItemFactory(cart=cart, quantity=3)
    CartItemFactory(cart=CartFactory(user=UserFactory()), quantity=7)  # someone else's

    with django_assert_num_queries(1):
        loaded = ShopperBackend().get_user(shopper.pk)

    assert loaded == shopper
    assert loaded.cart_units == 5


def test_no_cart_counts_zero_and_inactive_or_unknown_users_are_not_loaded():
    shopper, gone = UserFactory(), UserFactory(is_active=False)

    assert ShopperBackend().get_user(shopper.pk).cart_units == 0
    assert ShopperBackend().get_user(gone.pk) is None
    assert ShopperBackend().get_user(10**9) is None


def test_signing_in_names_the_shopper_backend(client, password):
    shopper = UserFactory(email="sign@example.com", password=password)

    response = client.post(reverse("account_login"), {"login": shopper.email, "password": password})

    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "checkout.auth.ShopperBackend"


@pytest.mark.parametrize(
    "backend",
    [
        "django.contrib.auth.backends.ModelBackend",
        "allauth.account.auth_backends.AuthenticationBackend",
        "checkout.auth.ShopperBackend",
    ],
)
def test_sessions_naming_any_backend_the_shop_used_are_signed_in(backend):
    """Sessions signed in before ShopperBackend name ModelBackend (a password sign-in)
    or allauth's (a sign-up, a login link): still signed in."""
    shopper = UserFactory(email="kept@example.com")
    client = Client()
    session = client.session
    session[SESSION_KEY] = str(shopper.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = shopper.get_session_auth_hash()
    session.save()
    client.cookies["sessionid"] = session.session_key

    page = client.get(reverse("dashboard:orders"))

    assert page.status_code == 200
    assert "kept@example.com" in page.content.decode()


@pytest.mark.parametrize("user_id", ["abc", "", "١", "7 8", "7.0", 10**20, None])
def test_a_user_id_that_is_not_one_loads_nobody(user_id):
    """The id comes from the session, which only the server writes; still, anything but
    ASCII digits that fit a bigint loads nobody (never a 500: 10**20 overflows SQLite)."""
    UserFactory()

    assert ShopperBackend().get_user(user_id) is None
