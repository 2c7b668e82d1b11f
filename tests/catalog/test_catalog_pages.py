import re

import pytest
from django.urls import reverse

from catalog.factories import ProductFactory
from checkout.factories import StockReservationFactory
from tests.html import Element, one

pytestmark = pytest.mark.django_db

INDEX = reverse("catalog:index")


def card_names(response) -> list[str]:
    return re.findall(
        r'id="product-\d+-name"[^>]*>\s*<a [^>]*>([^<]+)</a>', response.content.decode()
    )


def test_catalog_lists_active_products_with_price_and_image(client):
    product = ProductFactory(name="Enamel Camp Mug", unit_amount=1600, image="products/mug.jpg")
    response = client.get(INDEX)
    html = response.content.decode()
    assert response.status_code == 200
    assert card_names(response) == ["Enamel Camp Mug"]
    assert "€16.00" in html
    assert 'src="/media/products/mug.jpg"' in html
    assert f'href="{product.get_absolute_url()}"' in html


@pytest.mark.parametrize(
    ("currency", "unit_amount", "shown"), [("usd", 1999, "$19.99"), ("jpy", 500, "¥500")]
)
def test_price_is_formatted_in_the_products_currency(
    client, settings, currency, unit_amount, shown
):
    # One currency per shop (SHOP_CURRENCY): a catalog never shows two at once.
    settings.SHOP_CURRENCY = currency
    ProductFactory(unit_amount=unit_amount)
    assert shown in client.get(INDEX).content.decode()


def test_inactive_products_are_hidden_from_the_catalog(client):
    ProductFactory(name="Shown")
    ProductFactory(name="Hidden", is_active=False)
    assert card_names(client.get(INDEX)) == ["Shown"]


def test_inactive_product_page_is_not_found(client):
    product = ProductFactory(is_active=False)
    response = client.get(product.get_absolute_url())
    assert response.status_code == 404
    assert "We couldn’t find that page" in response.content.decode()


def test_unknown_slug_is_not_found(client):
    assert (
        client.get(reverse("catalog:detail", kwargs={"slug": "no-such-thing"})).status_code == 404
    )


def test_card_has_an_add_to_cart_form_posting_one_unit_with_htmx(client):
    product = ProductFactory()
    html = client.get(INDEX).content.decode()
    cart_add = reverse("checkout:cart_add")
    form = re.search(r'<form method="post"\s+action="([^"]+)".*?</form>', html, re.S)
    assert form.group(1) == cart_add
    assert f'name="product" value="{product.pk}"' in form.group(0)
    assert 'name="quantity" value="1"' in form.group(0)
    assert "csrfmiddlewaretoken" in form.group(0)
    button = re.search(r"<button[^>]*>", form.group(0), re.S).group(0)
    assert f'hx-post="{cart_add}"' in button
    assert f'hx-target="#cart-status-{product.pk}"' in button
    assert 'hx-swap="innerHTML"' in button
    assert "disabled" not in button
    assert f'id="cart-status-{product.pk}"' in html


def add_to_cart_button(html: str, product) -> Element:
    return one(html, id=f"add-to-cart-{product.pk}")


@pytest.mark.parametrize(("held", "label"), [(False, "Sold out"), (True, "Unavailable")])
def test_add_to_cart_is_disabled_and_says_why_when_nothing_is_available(client, held, label):
    product = ProductFactory(name="Storm lantern", stock_on_hand=2 if held else 0)
    if held:
        StockReservationFactory(product=product, quantity=2)
    for url in (INDEX, product.get_absolute_url()):
        html = client.get(url).content.decode()
        button = add_to_cart_button(html, product)
        assert button.has("disabled")
        assert button.seen == label
        assert button.name == f"{label}: Storm lantern"  # screen readers hear which product
        assert "Add to cart" not in html.split("<main", 1)[1]


def test_add_to_cart_says_add_to_cart_while_units_are_available(client):
    product = ProductFactory(stock_on_hand=1)
    for url in (INDEX, product.get_absolute_url()):
        button = add_to_cart_button(client.get(url).content.decode(), product)
        assert not button.has("disabled")
        assert button.seen == "Add to cart"


def test_product_page_shows_description_price_quantity_and_both_buttons(client, settings):
    settings.CART_MAX_QUANTITY = 10
    product = ProductFactory(
        name="Walnut Desk Tray",
        description="Turned from walnut.",
        unit_amount=3900,
        stock_on_hand=4,
    )
    response = client.get(product.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Walnut Desk Tray" in html
    assert "Turned from walnut." in html
    assert "€39.00" in html
    quantity = re.search(r'<input id="quantity"[^>]*>', html, re.S).group(0)
    assert 'type="number"' in quantity
    assert 'min="1"' in quantity
    assert 'max="4"' in quantity
    assert f'action="{reverse("checkout:cart_add")}"' in html
    assert f'formaction="{reverse("checkout:start")}"' in html
    assert "Buy now" in html


def test_quantity_is_capped_by_the_cart_maximum(client, settings):
    settings.CART_MAX_QUANTITY = 3
    product = ProductFactory(stock_on_hand=50)
    html = client.get(product.get_absolute_url()).content.decode()
    assert re.search(r'<input id="quantity"[^>]*max="3"', html, re.S)


def test_quantity_is_capped_by_what_is_available(client):
    product = ProductFactory(stock_on_hand=5)
    StockReservationFactory(product=product, quantity=3)
    html = client.get(product.get_absolute_url()).content.decode()
    assert re.search(r'<input id="quantity"[^>]*max="2"', html, re.S)


def test_each_page_has_one_badge_poller_for_its_products(client, settings):
    settings.STOCK_POLL_SECONDS = 7
    products = ProductFactory.create_batch(3)
    html = client.get(INDEX).content.decode()
    assert html.count("data-poll") == 1
    ids = ",".join(str(p.pk) for p in sorted(products, key=lambda p: p.name))
    assert f'hx-get="{reverse("catalog:badges")}?ids={ids}"' in html
    assert 'hx-trigger="every 7s, shop:visible from:document"' in html
    assert 'hx-swap="none"' in html
    detail = client.get(products[0].get_absolute_url()).content.decode()
    assert detail.count("data-poll") == 1
    assert f"?ids={products[0].pk}&amp;detail=1" in detail


# Search


def test_search_finds_words_in_name_or_description(client):
    ProductFactory(name="Enamel Camp Mug", description="A mug.")
    ProductFactory(name="Lantern", description="Bright enough for a CAMP.")
    ProductFactory(name="Notebook", description="Paper.")
    response = client.get(INDEX, {"q": "camp"})
    assert sorted(card_names(response)) == ["Enamel Camp Mug", "Lantern"]
    assert "2 products found for “camp”" in response.content.decode()


def test_htmx_search_returns_the_results_fragment(client, htmx_headers):
    ProductFactory(name="Enamel Camp Mug")
    ProductFactory(name="Notebook")
    response = client.get(INDEX, {"q": "mug"}, headers=htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="catalog-results"')
    assert "<html" not in html
    assert card_names(response) == ["Enamel Camp Mug"]
    assert 'hx-swap-oob="innerHTML:#search-status"' in html
    assert "HX-Request" in response["Vary"]


def test_full_request_returns_the_whole_page_with_vary_header(client):
    ProductFactory()
    response = client.get(INDEX, {"q": "product"})
    html = response.content.decode()
    assert "<html" in html and 'id="catalog-results"' in html
    assert 'value="product"' in html
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_whole_page(client, htmx_headers):
    ProductFactory()
    headers = {**htmx_headers, "HX-History-Restore-Request": "true"}
    assert "<html" in client.get(INDEX, headers=headers).content.decode()


def test_search_form_works_without_javascript_and_with_htmx(client):
    ProductFactory()
    html = client.get(INDEX).content.decode()
    form = re.search(r'<form role="search"[^>]*>', html, re.S).group(0)
    assert 'method="get"' in form and f'action="{INDEX}"' in form
    assert f'hx-get="{INDEX}"' in form
    assert 'hx-push-url="true"' in form
    assert "delay:" in form
    assert 'hx-target="#catalog-results"' in form


@pytest.mark.parametrize(
    "text", ["%", "_", "'", '"', "\\", "100%_'\"", "a\x00b", "<script>", "x" * 10_000]
)
def test_any_search_text_is_safe(client, text):
    ProductFactory(name="Plain")
    response = client.get(INDEX, {"q": text})
    assert response.status_code == 200
    assert card_names(response) == []
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_long_search_text_is_capped(client):
    ProductFactory(name="Notebook")
    response = client.get(INDEX, {"q": "notebook " + "x" * 10_000})
    assert response.context["query"] == ("notebook " + "x" * 10_000)[:100]


def test_a_long_search_word_may_wrap_wherever_it_is_shown(client):
    ProductFactory(description="x" * 90)
    found = client.get(INDEX, {"q": "x" * 90}).content.decode()
    summary = one(found, id="catalog-results").one(text=re.compile("^1 product found for"))
    assert "wrap-anywhere" in summary.classes
    missing = client.get(INDEX, {"q": "y" * 100}).content.decode()
    heading = one(missing, role="heading", name=re.compile("^Nothing matches"))
    assert "wrap-anywhere" in heading.classes


def test_search_with_no_results_shows_an_empty_state_with_a_way_back(client):
    ProductFactory(name="Notebook")
    html = client.get(INDEX, {"q": "zebra"}).content.decode()
    assert "Nothing matches “zebra”" in html
    assert f'href="{INDEX}"' in html and "Show all products" in html
    assert "data-poll" not in html


def test_empty_catalog_says_so(client):
    html = client.get(INDEX).content.decode()
    assert "The shelves are being stocked" in html
    assert "data-poll" not in html


# Pagination


@pytest.fixture
def thirty_products(settings):
    settings.CATALOG_PAGE_SIZE = 24
    return [ProductFactory(name=f"Item {n:02d}") for n in range(30)]


def test_catalog_shows_24_products_per_page(client, thirty_products):
    first = client.get(INDEX)
    second = client.get(INDEX, {"page": 2})
    assert card_names(first) == [f"Item {n:02d}" for n in range(24)]
    assert card_names(second) == [f"Item {n:02d}" for n in range(24, 30)]
    assert 'href="/?page=2"' in first.content.decode()
    assert 'aria-current="page">2<' in second.content.decode()


@pytest.mark.parametrize(
    ("page", "first_item"),
    [
        ("abc", "Item 00"),
        ("", "Item 00"),
        ("1.5", "Item 00"),
        ("9999", "Item 24"),
        ("0", "Item 24"),
        ("-1", "Item 24"),
        ("99999999999999999999999", "Item 24"),
    ],
)
def test_bad_page_numbers_give_a_valid_page(client, thirty_products, page, first_item):
    response = client.get(INDEX, {"page": page})
    assert response.status_code == 200
    assert card_names(response)[0] == first_item


def test_page_links_keep_the_search(client, settings):
    settings.CATALOG_PAGE_SIZE = 2
    for n in range(5):
        ProductFactory(name=f"Mug & Saucer {n}")
    html = client.get(INDEX, {"q": "mug &"}).content.decode()
    assert 'href="/?q=mug+%26&amp;page=2"' in html
    assert "page 1 of 3" in html
