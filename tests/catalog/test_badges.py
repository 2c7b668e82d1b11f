import pytest
from django.urls import reverse

from catalog.badges import StockState, stock_badge, stock_version
from catalog.factories import ProductFactory
from checkout.factories import StockReservationFactory


@pytest.mark.parametrize(
    ("stock", "available", "state", "text", "tone"),
    [
        (6, 6, StockState.IN_STOCK, "In stock", "green"),
        (5, 5, StockState.LOW, "Only 5 left", "amber"),
        (1, 1, StockState.LOW, "Only 1 left", "amber"),
        (0, 0, StockState.SOLD_OUT, "Sold out", "red"),
        (3, 0, StockState.HELD, "All held in checkouts — check back soon", "blue"),
        (20, 2, StockState.LOW, "Only 2 left", "amber"),
    ],
)
def test_badge_at_each_threshold(stock, available, state, text, tone):
    badge = stock_badge(stock_on_hand=stock, available=available)
    assert (badge.state, badge.text, badge.tone) == (state, text, tone)


def test_only_products_with_units_available_can_be_bought():
    assert stock_badge(stock_on_hand=1, available=1).can_buy
    assert not stock_badge(stock_on_hand=0, available=0).can_buy
    assert not stock_badge(stock_on_hand=4, available=0).can_buy


def test_low_stock_threshold_comes_from_settings(settings):
    settings.LOW_STOCK_THRESHOLD = 10
    assert stock_badge(stock_on_hand=8, available=8).text == "Only 8 left"


class Row:
    def __init__(self, pk, stock_on_hand, available):
        self.pk, self.stock_on_hand, self.available = pk, stock_on_hand, available


def test_version_ignores_order_and_changes_with_stock_or_availability():
    base = stock_version([Row(1, 5, 5), Row(2, 3, 1)])
    assert base == stock_version([Row(2, 3, 1), Row(1, 5, 5)])
    assert base.startswith('"') and base.endswith('"')
    assert base != stock_version([Row(1, 4, 4), Row(2, 3, 1)])
    assert base != stock_version([Row(1, 5, 4), Row(2, 3, 1)])
    assert base != stock_version([Row(1, 5, 5)])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stock", "held", "text"),
    [
        (6, 0, "In stock"),
        (5, 0, "Only 5 left"),
        (1, 0, "Only 1 left"),
        (0, 0, "Sold out"),
        (2, 2, "All held in checkouts — check back soon"),
    ],
)
def test_catalog_and_product_pages_show_the_badge(client, stock, held, text):
    product = ProductFactory(stock_on_hand=stock)
    if held:
        StockReservationFactory(product=product, quantity=held)
    for url in (reverse("catalog:index"), product.get_absolute_url()):
        html = client.get(url).content.decode()
        assert f'id="stock-badge-{product.pk}"' in html
        assert text in html
