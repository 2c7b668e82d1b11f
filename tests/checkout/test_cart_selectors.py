"""checkout.selectors.cart_quantities_of: what a checkout takes from a signed-in
shopper's cart, in one query written once (theme.sql)."""

import pytest

from accounts.factories import UserFactory
from checkout.factories import CartFactory, CartItemFactory
from checkout.selectors import cart_quantities_of

pytestmark = pytest.mark.django_db


def test_a_shoppers_cart_quantities_are_their_own_lines_in_cart_order(
    django_assert_num_queries,
):
    shopper = UserFactory()
    cart = CartFactory(user=shopper)
    later = CartItemFactory(cart=cart, quantity=4)
    earlier = CartItemFactory(cart=cart, quantity=1)
    type(earlier).objects.filter(pk=earlier.pk).update(added_at=later.added_at.replace(year=2020))
    CartItemFactory(cart=CartFactory(user=UserFactory()), quantity=9)  # someone else's

    with django_assert_num_queries(1):
        quantities = cart_quantities_of(user=shopper)

    assert list(quantities.items()) == [(earlier.product_id, 1), (later.product_id, 4)]
    assert cart_quantities_of(user=UserFactory()) == {}
