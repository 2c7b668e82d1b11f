"""The same race on whichever database the suite runs on: on SQLite, IMMEDIATE
transactions serialize the check-then-hold; on PostgreSQL, the product row locks do."""

import pytest

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import Product, StockReservation
from checkout.exceptions import InsufficientStock
from checkout.models import Order
from checkout.services.start import checkout_start
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_twelve_shoppers_racing_for_three_units_get_exactly_three_holds(stripe):
    product = ProductFactory(stock_on_hand=3)
    shoppers = [UserFactory() for _ in range(12)]

    def buy(shopper):
        try:
            checkout_start(user=shopper, items={product.pk: 1}, base_url="http://testserver")
        except InsufficientStock:
            return "refused"
        return "held"

    results = run_together(buy, [(s,) for s in shoppers])

    assert sorted(results) == ["held"] * 3 + ["refused"] * 9, results
    assert StockReservation.objects.filter(product=product, status="active").count() == 3
    assert Order.objects.filter(status="pending").count() == 3
    assert Product.objects.get(pk=product.pk).stock_on_hand == 3
