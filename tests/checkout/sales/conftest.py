"""The staff sales page's tests: days in Berlin, and a shop with known sales figures."""

from datetime import datetime, timedelta

import pytest

from catalog.factories import ProductFactory
from catalog.models import StockReservation
from checkout.factories import StockReservationFactory
from tests.checkout.sales.known_shop import BERLIN, S, at, make_order


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.SHOP_TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def shop():
    """Known totals, EUR, Berlin days, November 2026:

    sales   3 Nov 4,500 (2 orders; one at 23:30 Berlin), 4 Nov 6,000 (00:30 Berlin,
            still 3 Nov in UTC), 5 Nov 3,000 (refunded on 9 Nov)
    refunds 2 Nov 1,000 (an order paid in October), 9 Nov 3,000
    net     13,500 - 4,000 = 9,500
    """
    a = ProductFactory(name="Notebook", unit_amount=1000, stock_on_hand=20)
    b = ProductFactory(name="Pen case", unit_amount=2500, stock_on_hand=7)
    made = {
        "o1": make_order([(a, 2)], status=S.PAID, created=at(3, 9, 55), paid=at(3, 10)),
        "o2": make_order([(b, 1)], status=S.PAID, created=at(3, 23, 25), paid=at(3, 23, 30)),
        "o3": make_order([(a, 1), (b, 2)], status=S.PAID, created=at(4, 0, 25), paid=at(4, 0, 30)),
        "o4": make_order(
            [(a, 3)], status=S.REFUNDED, created=at(5, 12), paid=at(5, 12, 5), refunded=at(9, 16)
        ),
        "o5": make_order([(b, 1)], status=S.CANCELED, created=at(6, 8)),
        "o6": make_order([(a, 1)], status=S.PENDING, created=at(7, 8)),
        "o7": make_order(
            [(a, 1)],
            status=S.REFUNDED,
            created=at(31, 10, month=10),
            paid=at(31, 10, 5, month=10),
            refunded=at(2, 11),
        ),
        # Refunded because its stock was gone before the payment was confirmed: never
        # revenue, so never taken off it.
        "o8": make_order([(b, 1)], status=S.REFUNDED, created=at(8, 9), refunded=at(8, 9, 10)),
        "o9": make_order(
            [(a, 5)], status=S.PAID, created=at(3, 11), paid=at(3, 11, 5), currency="usd"
        ),
        "o10": make_order(
            [(b, 4)], status=S.PAID, created=at(1, 9, month=12), paid=at(1, 9, 5, month=12)
        ),
    }
    StockReservationFactory(
        product=a,
        order=made["o6"],
        quantity=1,
        expires_at=datetime.now(BERLIN) + timedelta(minutes=20),
    )
    StockReservationFactory(
        product=b,
        order=made["o5"],
        quantity=1,
        status=StockReservation.Status.RELEASED,
        expires_at=datetime.now(BERLIN) + timedelta(minutes=20),
    )
    return {"a": a, "b": b, **made}
