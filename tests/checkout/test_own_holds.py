"""A shopper's own open checkout never blocks their own cart: their next checkout
releases it first. Everybody else still sees the units as held."""

import pytest
from django.urls import reverse

from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Order
from checkout.selectors import cart_summary
from checkout.services.cart import cart_item_add
from tests.stock import stock_set

pytestmark = pytest.mark.django_db


def test_going_back_to_the_cart_after_starting_checkout_shows_no_problem(
    shopper_client, checkout, cart, apron
):
    checkout()  # holds the cart's 1 apron and 2 mugs
    stock_set(apron, 1)  # that hold is the last apron

    assert cart_summary(cart=cart).problems == {}
    page = shopper_client.get(reverse("checkout:cart"))
    assert b"Sold out" not in page.content
    assert page.context["summary"].can_check_out


def test_another_shopper_still_sees_the_unit_as_held(checkout, cart, apron, other_user):
    checkout()
    stock_set(apron, 1)
    others = CartFactory(user=other_user)
    CartItemFactory(cart=others, product=apron, quantity=1)
    assert cart_summary(cart=others).problems == {apron.pk: "Sold out — remove it"}


def test_checking_out_again_releases_the_old_hold_and_takes_a_new_one(
    shopper_client, checkout, cart, apron, mug, stripe
):
    first = checkout()
    stock_set(apron, 1)
    cart_item_add(cart=cart, product_id=mug.pk, quantity=1)  # the cart changed

    response = shopper_client.post(reverse("checkout:start"))

    first.refresh_from_db()
    assert first.status == Order.Status.CANCELED
    second = Order.objects.exclude(pk=first.pk).get()
    assert response["Location"] == second.stripe_checkout_url
    assert second.lines.get(product=mug).quantity == 3
