"""The anonymous cart joins the shopper's cart when they sign in (allauth, email login)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.factories import PASSWORD
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Cart
from checkout.selectors import SESSION_CART_KEY

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return response


def quantities(cart: Cart) -> dict[str, int]:
    return {item.product.name: item.quantity for item in cart.items.select_related("product")}


def test_signing_in_merges_the_anonymous_cart_into_the_users(client, user, notebook, pencil):
    CartItemFactory(cart=CartFactory(user=user), product=notebook, quantity=1)
    client.post(reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 2})
    client.post(reverse("checkout:cart_add"), {"product": pencil.pk, "quantity": 4})
    anonymous_id = client.session[SESSION_CART_KEY]

    response = sign_in(client, user)

    assert quantities(user.cart) == {"Dot-grid notebook": 3, "Cedar pencil": 4}
    assert not Cart.objects.filter(pk=anonymous_id).exists()
    assert SESSION_CART_KEY not in client.session
    assert not [m for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    html = client.get(reverse("checkout:cart")).content.decode()
    assert ">7</span>" in html  # the header count is the merged cart's


def test_a_first_sign_in_gives_the_anonymous_cart_to_the_user(client, user, notebook):
    client.post(reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 2})
    sign_in(client, user)
    assert quantities(user.cart) == {"Dot-grid notebook": 2}


def test_merged_quantities_are_clipped_with_a_message_saying_so(client, user, notebook, pencil):
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=notebook, quantity=4)
    CartItemFactory(cart=cart, product=pencil, quantity=8)
    client.post(reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 3})
    client.post(reverse("checkout:cart_add"), {"product": pencil.pk, "quantity": 5})

    response = sign_in(client, user)

    assert quantities(user.cart) == {"Dot-grid notebook": 5, "Cedar pencil": 10}
    warnings = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert warnings == [
        "We added the cart from before you signed in. "
        "Dot-grid notebook is at 5, not 7 (only 5 available); "
        "Cedar pencil is at 10, not 13 (at most 10 per order)."
    ]


def test_the_clipping_message_is_shown_on_the_next_page(client, user, notebook):
    CartItemFactory(cart=CartFactory(user=user), product=notebook, quantity=4)
    client.post(reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 3})
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    html = client.get(reverse("checkout:cart")).content.decode()

    assert "Dot-grid notebook is at 5, not 7 (only 5 available)" in html


def test_a_failed_sign_in_leaves_the_anonymous_cart_alone(client, user, notebook):
    client.post(reverse("checkout:cart_add"), {"product": notebook.pk, "quantity": 2})
    anonymous_id = client.session[SESSION_CART_KEY]

    client.post(reverse("account_login"), {"login": user.email, "password": "wrong password"})

    assert client.session[SESSION_CART_KEY] == anonymous_id
    assert quantities(Cart.objects.get(pk=anonymous_id)) == {"Dot-grid notebook": 2}
    assert not Cart.objects.filter(user=user).exists()


def test_signing_in_without_an_anonymous_cart_changes_nothing(client, user, notebook):
    CartItemFactory(cart=CartFactory(user=user), product=notebook, quantity=1)
    sign_in(client, user)
    assert quantities(user.cart) == {"Dot-grid notebook": 1}
    assert Cart.objects.count() == 1


def test_another_users_cart_id_in_the_session_is_never_merged(client, user, other_user, notebook):
    theirs = CartFactory(user=other_user)
    CartItemFactory(cart=theirs, product=notebook, quantity=3)
    session = client.session
    session[SESSION_CART_KEY] = theirs.pk
    session.save()

    sign_in(client, user)

    assert quantities(theirs) == {"Dot-grid notebook": 3}
    assert not Cart.objects.filter(user=user).exists()
