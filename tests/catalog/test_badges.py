import pytest
from django.urls import reverse

from catalog.badges import StockState, stock_badge, stock_version
from catalog.factories import ProductFactory
from checkout.factories import StockReservationFactory
from tests.html import one


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


def test_held_badge_has_a_short_form_for_cards_that_starts_the_whole_message():
    badge = stock_badge(stock_on_hand=3, available=0)
    assert badge.short_text == "All held in checkouts"
    assert badge.short_text + badge.text_after_short == badge.text
    assert badge.text_after_short == " — check back soon"


@pytest.mark.parametrize(("stock", "available"), [(6, 6), (2, 2), (0, 0)])
def test_other_badges_have_no_short_form(stock, available):
    badge = stock_badge(stock_on_hand=stock, available=available)
    assert (badge.short_text, badge.text_after_short) == ("", "")


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
    ],
)
def test_catalog_and_product_pages_show_the_badge(client, stock, held, text):
    product = ProductFactory(stock_on_hand=stock)
    if held:
        StockReservationFactory(product=product, quantity=held)
    for url in (reverse("catalog:index"), product.get_absolute_url()):
        html = client.get(url).content.decode()
        assert f'id="stock-badge-{product.pk}"' in html
        assert f'data-stock-key="{text}"' in html
        assert visible_badge_text(html, product) == text


def visible_badge_text(html: str, product) -> str:
    return one(html, id=f"stock-badge-{product.pk}").seen


def spoken_badge_text(html: str, product) -> str:
    """After the product's name, which screen readers hear first."""
    return one(html, id=f"stock-badge-{product.pk}").text.split(":", 1)[1].strip()


@pytest.mark.django_db
def test_held_badge_is_short_on_cards_and_whole_on_the_product_page(client):
    product = ProductFactory(stock_on_hand=2)
    StockReservationFactory(product=product, quantity=2)
    card = client.get(reverse("catalog:index")).content.decode()
    page = client.get(product.get_absolute_url()).content.decode()
    assert visible_badge_text(card, product) == "All held in checkouts"
    assert visible_badge_text(page, product) == "All held in checkouts — check back soon"
    for html in (card, page):
        assert spoken_badge_text(html, product) == "All held in checkouts — check back soon"
