from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.factories import ProductFactory
from catalog.models import Product, StockReservation
from checkout.factories import StockReservationFactory

pytestmark = pytest.mark.django_db


def annotated(product: Product) -> Product:
    return Product.objects.with_availability().get(pk=product.pk)


def test_product_without_reservations_has_all_stock_available():
    product = annotated(ProductFactory(stock_on_hand=7))
    assert (product.reserved, product.available) == (0, 7)


def test_active_unexpired_reservations_are_subtracted():
    product = ProductFactory(stock_on_hand=10)
    StockReservationFactory(product=product, quantity=3)
    StockReservationFactory(product=product, quantity=2)
    product = annotated(product)
    assert (product.reserved, product.available) == (5, 5)


def test_expired_released_and_consumed_reservations_do_not_count():
    product = ProductFactory(stock_on_hand=10)
    past = timezone.now() - timedelta(seconds=1)
    StockReservationFactory(product=product, quantity=4, expires_at=past)
    StockReservationFactory(product=product, quantity=2, status=StockReservation.Status.RELEASED)
    StockReservationFactory(product=product, quantity=1, status=StockReservation.Status.CONSUMED)
    StockReservationFactory(product=product, quantity=3)
    product = annotated(product)
    assert (product.reserved, product.available) == (3, 7)


def test_a_hold_stops_counting_the_moment_it_expires_without_any_write():
    product = ProductFactory(stock_on_hand=4)
    expires = timezone.now() + timedelta(minutes=5)
    StockReservationFactory(product=product, quantity=4, expires_at=expires)
    before = Product.objects.with_availability(now=expires - timedelta(seconds=1)).get()
    after = Product.objects.with_availability(now=expires).get()
    assert before.available == 0
    assert after.available == 4


def test_reservations_of_other_products_do_not_count():
    product = ProductFactory(stock_on_hand=5)
    StockReservationFactory(quantity=5)
    assert annotated(product).available == 5


def test_available_never_goes_below_zero():
    product = ProductFactory(stock_on_hand=2)
    # Stock taken away by staff after the holds were made.
    StockReservationFactory(product=product, quantity=3)
    product = annotated(product)
    assert (product.reserved, product.available) == (3, 0)


def test_availability_of_many_products_is_one_query(django_assert_num_queries):
    for stock in range(10):
        StockReservationFactory(product=ProductFactory(stock_on_hand=stock + 1), quantity=1)
    with django_assert_num_queries(1):
        rows = list(Product.objects.with_availability().order_by("pk"))
    assert [p.available for p in rows] == list(range(10))


def test_search_matches_every_word_in_name_or_description_ignoring_case():
    mug = ProductFactory(name="Enamel Camp Mug", description="Steel rim.")
    ProductFactory(name="Camp Lantern", description="Folds flat.")
    ProductFactory(name="Notebook", description="Linen cover, enamel clasp.")
    assert list(Product.objects.search("camp STEEL")) == [mug]
    assert Product.objects.search("enamel").count() == 2
    assert Product.objects.search("").count() == 3


def test_search_treats_like_wildcards_literally():
    ProductFactory(name="Plain")
    percent = ProductFactory(name="100% wool")
    underscore = ProductFactory(name="snake_case pencil")
    assert list(Product.objects.search("%")) == [percent]
    assert list(Product.objects.search("_")) == [underscore]
