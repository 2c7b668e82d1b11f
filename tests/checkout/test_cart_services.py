"""The cart's services and selectors (checkout/services/cart.py, checkout/selectors.py),
without HTTP."""

import pytest

from catalog.factories import ProductFactory
from checkout.factories import CartItemFactory, StockReservationFactory
from checkout.models import Cart, CartItem
from checkout.selectors import cart_lines, cart_summary
from checkout.services.cart import (
    CartQuantityError,
    MalformedQuantity,
    cart_item_add,
    cart_item_remove,
    cart_item_set_quantity,
    cart_merge,
    quantity_parse,
)
from tests.stock import stock_set
from tests.threads import run_together

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- quantity_parse


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", 1), (" 3 ", 3), ("007", 7), ("0", 0), ("10", 10)]
)
def test_whole_numbers_are_accepted(raw, expected):
    assert quantity_parse(raw=raw, allow_zero=True) == expected


@pytest.mark.parametrize("raw", ["", None, "abc", "1.5", "1,5", "1e3", "+2", "٣", "2 3", "0x10"])
def test_anything_but_digits_is_not_a_whole_number(raw):
    with pytest.raises(MalformedQuantity, match="Enter a whole number"):
        quantity_parse(raw=raw, allow_zero=True)


def test_negative_number_is_malformed():
    with pytest.raises(MalformedQuantity, match="0 or more"):
        quantity_parse(raw="-1", allow_zero=True)


@pytest.mark.parametrize("raw", ["1000000000000", "9" * 5000])
def test_huge_number_is_refused_with_the_per_order_limit_without_parsing_it(raw):
    with pytest.raises(CartQuantityError, match="At most 10 per order"):
        quantity_parse(raw=raw, allow_zero=True)


def test_zero_is_refused_when_adding():
    with pytest.raises(CartQuantityError, match="Enter at least 1"):
        quantity_parse(raw="0", allow_zero=False)


# --------------------------------------------------------------------- selectors


def test_cart_lines_annotate_availability_in_one_query(
    shopper_cart, notebook, pencil, django_assert_num_queries
):
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=2)
    CartItemFactory(cart=shopper_cart, product=pencil, quantity=3)
    StockReservationFactory(product=notebook, quantity=1)

    with django_assert_num_queries(1):
        lines = cart_lines(cart=shopper_cart)
        summary_values = [(line.product.name, line.product.available) for line in lines]

    assert summary_values == [("Dot-grid notebook", 4), ("Cedar pencil", 50)]


def test_cart_total_and_count_are_computed_from_current_prices(shopper_cart, notebook, pencil):
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=2)
    CartItemFactory(cart=shopper_cart, product=pencil, quantity=3)

    summary = cart_summary(cart=shopper_cart)

    assert summary.total == 2 * 1450 + 3 * 250
    assert summary.count == 5
    assert [line.line_total for line in summary.lines] == [2900, 750]
    assert summary.can_check_out


def test_no_cart_is_an_empty_summary_that_cannot_be_checked_out():
    summary = cart_summary(cart=None)
    assert (summary.lines, summary.total, summary.count) == ([], 0, 0)
    assert not summary.can_check_out
    assert cart_summary(cart=None).problems == {}


def test_cart_problems_name_reduced_sold_out_and_withdrawn_products(shopper_cart, notebook, pencil):
    mug = ProductFactory(name="Mug", stock_on_hand=1)
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=4)
    CartItemFactory(cart=shopper_cart, product=pencil, quantity=1)
    CartItemFactory(cart=shopper_cart, product=mug, quantity=1)
    StockReservationFactory(product=notebook, quantity=3)  # someone else is paying for 3
    pencil.is_active = False
    pencil.save()
    stock_set(mug, 0)

    problems = cart_summary(cart=shopper_cart).problems

    assert problems == {
        notebook.pk: "Only 2 left — reduce the quantity",
        pencil.pk: "No longer sold — remove it",
        mug.pk: "Sold out — remove it",
    }
    assert not cart_summary(cart=shopper_cart).can_check_out


def test_a_line_above_a_lowered_per_order_cap_is_a_problem(shopper_cart, pencil, settings):
    CartItemFactory(cart=shopper_cart, product=pencil, quantity=8)
    settings.CART_MAX_QUANTITY = 5
    assert cart_summary(cart=shopper_cart).problems == {
        pencil.pk: "At most 5 per order — reduce the quantity"
    }


def test_stock_dropping_never_changes_the_quantity_in_the_cart(shopper_cart, notebook):
    item = CartItemFactory(cart=shopper_cart, product=notebook, quantity=4)
    stock_set(notebook, 1)

    cart_summary(cart=shopper_cart)

    item.refresh_from_db()
    assert item.quantity == 4


# ---------------------------------------------------------------------- services


def test_adding_a_product_twice_grows_one_line(shopper_cart, notebook):
    cart_item_add(cart=shopper_cart, product_id=notebook.pk, quantity=1)
    item = cart_item_add(cart=shopper_cart, product_id=notebook.pk, quantity=2)

    assert item.quantity == 3
    assert CartItem.objects.filter(cart=shopper_cart).count() == 1


def test_adding_more_than_available_changes_nothing(shopper_cart, notebook):
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=4)

    with pytest.raises(CartQuantityError, match="Only 5 available; you already have 4"):
        cart_item_add(cart=shopper_cart, product_id=notebook.pk, quantity=2)

    assert CartItem.objects.get(cart=shopper_cart).quantity == 4


def test_adding_beyond_the_per_order_cap_is_refused(shopper_cart, pencil):
    with pytest.raises(CartQuantityError, match="At most 10 per order"):
        cart_item_add(cart=shopper_cart, product_id=pencil.pk, quantity=11)
    assert not CartItem.objects.exists()


def test_adding_a_sold_out_or_inactive_product_is_refused(shopper_cart, notebook, pencil):
    StockReservationFactory(product=notebook, quantity=5)
    with pytest.raises(CartQuantityError, match="Sold out"):
        cart_item_add(cart=shopper_cart, product_id=notebook.pk, quantity=1)
    pencil.is_active = False
    pencil.save()
    with pytest.raises(pencil.DoesNotExist):
        cart_item_add(cart=shopper_cart, product_id=pencil.pk, quantity=1)
    assert not CartItem.objects.exists()


def test_setting_a_quantity_within_the_limit_updates_the_line(shopper_cart, notebook):
    item = CartItemFactory(cart=shopper_cart, product=notebook, quantity=1)
    cart_item_set_quantity(item=item, quantity=5)
    item.refresh_from_db()
    assert item.quantity == 5


def test_setting_a_quantity_above_availability_keeps_the_last_valid_one(shopper_cart, notebook):
    item = CartItemFactory(cart=shopper_cart, product=notebook, quantity=2)
    with pytest.raises(CartQuantityError, match="Only 5 available"):
        cart_item_set_quantity(item=item, quantity=6)
    item.refresh_from_db()
    assert item.quantity == 2


def test_lowering_a_problem_line_to_what_is_left_resolves_it(shopper_cart, notebook):
    item = CartItemFactory(cart=shopper_cart, product=notebook, quantity=4)
    StockReservationFactory(product=notebook, quantity=3)

    with pytest.raises(CartQuantityError, match="Only 2 available"):
        cart_item_set_quantity(item=item, quantity=3)
    cart_item_set_quantity(item=item, quantity=2)

    assert cart_summary(cart=shopper_cart).problems == {}


def test_setting_zero_removes_the_line(shopper_cart, notebook):
    item = CartItemFactory(cart=shopper_cart, product=notebook, quantity=2)
    assert cart_item_set_quantity(item=item, quantity=0) is None
    assert not CartItem.objects.exists()


def test_removing_a_line_twice_is_not_an_error(shopper_cart, notebook):
    item = CartItemFactory(cart=shopper_cart, product=notebook, quantity=2)
    cart_item_remove(item=item)
    cart_item_remove(item=item)
    assert not CartItem.objects.exists()


def test_changes_keep_an_anonymous_cart_alive_for_the_sweeper(notebook):
    cart = Cart.objects.create()
    Cart.objects.filter(pk=cart.pk).update(updated_at="2020-01-01T00:00:00Z")
    cart_item_add(cart=cart, product_id=notebook.pk, quantity=1)
    cart.refresh_from_db()
    assert cart.updated_at.year > 2020


# ------------------------------------------------------------------------- merge


def test_merge_sums_quantities_and_deletes_the_anonymous_cart(shopper_cart, notebook, pencil):
    anonymous = Cart.objects.create()
    CartItemFactory(cart=anonymous, product=notebook, quantity=2)
    CartItemFactory(cart=anonymous, product=pencil, quantity=4)
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=1)

    assert cart_merge(source=anonymous, target=shopper_cart) == []

    assert dict(shopper_cart.items.values_list("product_id", "quantity")) == {
        notebook.pk: 3,
        pencil.pk: 4,
    }
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_merge_clips_to_availability_and_the_cap_and_says_so(shopper_cart, notebook, pencil):
    anonymous = Cart.objects.create()
    CartItemFactory(cart=anonymous, product=notebook, quantity=4)
    CartItemFactory(cart=anonymous, product=pencil, quantity=6)
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=3)
    CartItemFactory(cart=shopper_cart, product=pencil, quantity=7)

    adjustments = cart_merge(source=anonymous, target=shopper_cart)

    assert dict(shopper_cart.items.values_list("product_id", "quantity")) == {
        notebook.pk: 5,
        pencil.pk: 10,
    }
    assert [(a.product_name, a.wanted, a.kept, a.reason) for a in adjustments] == [
        ("Dot-grid notebook", 7, 5, "Only 5 available"),
        ("Cedar pencil", 13, 10, "At most 10 per order"),
    ]


def test_merge_never_lowers_a_line_the_user_already_had(shopper_cart, notebook):
    anonymous = Cart.objects.create()
    CartItemFactory(cart=anonymous, product=notebook, quantity=1)
    CartItemFactory(cart=shopper_cart, product=notebook, quantity=4)
    StockReservationFactory(product=notebook, quantity=3)  # 2 left

    cart_merge(source=anonymous, target=shopper_cart)

    assert shopper_cart.items.get().quantity == 4  # shown as a problem, not changed


def test_merge_leaves_out_a_sold_out_product(shopper_cart, notebook):
    anonymous = Cart.objects.create()
    CartItemFactory(cart=anonymous, product=notebook, quantity=1)
    stock_set(notebook, 0)

    adjustments = cart_merge(source=anonymous, target=shopper_cart)

    assert not shopper_cart.items.exists()
    assert [(a.kept, a.reason) for a in adjustments] == [(0, "Sold out")]


# ------------------------------------------------------------------- concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_the_same_product_make_one_line_and_never_crash():
    """Real threads on PostgreSQL: each add is its own transaction, and the inserts
    race on the unique (cart, product) constraint."""
    product = ProductFactory(stock_on_hand=100)
    cart = Cart.objects.create()

    def add() -> str:
        cart_item_add(cart=cart, product_id=product.pk, quantity=1)
        return "added"

    results = run_together(add, [()] * 6)

    assert results == ["added"] * 6  # an exception would stand in its thread's place
    assert CartItem.objects.get(cart=cart).quantity == 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_never_take_a_line_beyond_its_limit():
    product = ProductFactory(stock_on_hand=3)
    cart = Cart.objects.create()

    def add() -> str:
        try:
            cart_item_add(cart=cart, product_id=product.pk, quantity=1)
        except CartQuantityError:
            return "refused"
        return "added"

    results = run_together(add, [()] * 6)

    assert sorted(results) == ["added"] * 3 + ["refused"] * 3, results
    assert CartItem.objects.get(cart=cart).quantity == 3
