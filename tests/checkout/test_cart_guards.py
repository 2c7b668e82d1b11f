"""What a cart line may hold against the stock: the edges that mutation testing
(`make mutate`) found no test held. SQLite and PostgreSQL."""

import pytest

from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import CartItem
from checkout.selectors import cart_summary
from checkout.services.cart import (
    CartQuantityError,
    cart_item_add,
    cart_item_set_quantity,
    cart_merge,
)

pytestmark = pytest.mark.django_db


def test_a_line_at_exactly_the_per_order_cap_has_no_problem(settings):
    settings.CART_MAX_QUANTITY = 3
    item = CartItemFactory(product=ProductFactory(stock_on_hand=10), quantity=3)

    summary = cart_summary(cart=item.cart)

    assert summary.problems == {}
    assert summary.can_check_out


def test_a_line_of_a_withdrawn_product_may_hold_nothing():
    item = CartItemFactory(product=ProductFactory(is_active=False), quantity=1)

    (line,) = cart_summary(cart=item.cart).lines

    assert line.max_quantity == 0  # the quantity input's max: never a negative number
    assert line.problem == "No longer sold — remove it"


def test_an_empty_cart_is_priced_in_the_shops_currency(settings):
    assert cart_summary(cart=None).currency == settings.SHOP_CURRENCY
    assert cart_summary(cart=CartFactory()).currency == settings.SHOP_CURRENCY


def test_a_shopper_can_add_exactly_the_units_available(shopper_cart):
    product = ProductFactory(stock_on_hand=3)

    item = cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=3)

    assert item.quantity == 3


def test_asking_for_more_than_the_cap_of_a_well_stocked_product_names_the_cap(
    shopper_cart, settings
):
    settings.CART_MAX_QUANTITY = 10
    product = ProductFactory(stock_on_hand=12)

    # More than the stock too: the cap is what binds, so the cap is what is named.
    with pytest.raises(CartQuantityError) as refused:
        cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=13)

    assert str(refused.value) == "At most 10 per order"


def test_asking_for_more_than_a_stock_equal_to_the_cap_names_the_stock(shopper_cart, settings):
    settings.CART_MAX_QUANTITY = 10
    product = ProductFactory(stock_on_hand=10)

    with pytest.raises(CartQuantityError) as refused:
        cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=11)

    assert str(refused.value) == "Only 10 available"


def test_a_negative_quantity_is_refused_and_changes_nothing():
    item = CartItemFactory(product=ProductFactory(stock_on_hand=5), quantity=2)

    with pytest.raises(CartQuantityError):
        cart_item_set_quantity(item=item, quantity=-1)

    assert CartItem.objects.get(pk=item.pk).quantity == 2


def test_a_single_unit_in_the_anonymous_cart_survives_signing_in(shopper_cart):
    product = ProductFactory(stock_on_hand=5)
    anonymous = CartFactory(user=None)
    CartItemFactory(cart=anonymous, product=product, quantity=1)

    assert cart_merge(source=anonymous, target=shopper_cart) == []

    assert list(shopper_cart.items.values_list("product_id", "quantity")) == [(product.pk, 1)]


def test_asking_for_two_of_the_last_unit_names_the_one_left(shopper_cart):
    product = ProductFactory(stock_on_hand=1)

    with pytest.raises(CartQuantityError) as refused:
        cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=2)

    assert str(refused.value) == "Only 1 available"


def test_adding_more_to_a_line_that_holds_all_the_stock_says_so(shopper_cart):
    product = ProductFactory(stock_on_hand=3)
    cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=3)

    with pytest.raises(CartQuantityError) as refused:
        cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=1)

    assert str(refused.value) == "Only 3 available; you already have 3 in your cart"


def test_paying_takes_only_the_units_bought_out_of_a_line_that_grew_meanwhile(
    checkout, stripe, client, cart, mug
):
    order = checkout()  # two mugs
    cart.items.filter(product=mug).update(quantity=3)  # one more, in another tab
    stripe.pay(order.stripe_session_id)

    stripe.deliver_new(client)

    assert list(cart.items.values_list("product_id", "quantity")) == [(mug.pk, 1)]


def test_adding_zero_units_is_refused_and_adds_no_line(shopper_cart):
    product = ProductFactory(stock_on_hand=5)

    with pytest.raises(CartQuantityError) as refused:
        cart_item_add(cart=shopper_cart, product_id=product.pk, quantity=0)

    assert str(refused.value) == "Enter at least 1"
    assert not CartItem.objects.filter(cart=shopper_cart).exists()
