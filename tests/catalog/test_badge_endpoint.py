import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.factories import ProductFactory
from catalog.models import StockReservation
from checkout.factories import StockReservationFactory
from tests.html import one
from tests.stock import stock_set

pytestmark = pytest.mark.django_db

BADGES = reverse("catalog:badges")


def badges(client, products, **headers):
    ids = ",".join(str(p.pk) for p in products)
    return client.get(f"{BADGES}?ids={ids}", headers={"HX-Request": "true", **headers})


def badge_text(response, product) -> str:
    html = response.content.decode()
    match = re.search(
        rf'<span id="stock-badge-{product.pk}".*?data-stock-key="([^"]+)"', html, re.S
    )
    return match.group(1) if match else ""


def test_answers_every_badge_out_of_band_in_one_response(client):
    plenty, few, none = (ProductFactory(stock_on_hand=n) for n in (9, 2, 0))
    response = badges(client, [plenty, few, none])
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('hx-swap-oob="innerHTML"') == 3
    assert badge_text(response, plenty) == "In stock"
    assert badge_text(response, few) == "Only 2 left"
    assert badge_text(response, none) == "Sold out"
    assert 'aria-live="polite"' in html


def test_add_to_cart_buttons_follow_availability(client):
    available, sold_out = ProductFactory(stock_on_hand=3), ProductFactory(stock_on_hand=0)
    html = badges(client, [available, sold_out]).content.decode()
    on = re.search(rf'<button id="add-to-cart-{available.pk}"[^>]*>', html, re.S).group(0)
    off = re.search(rf'<button id="add-to-cart-{sold_out.pk}"[^>]*>', html, re.S).group(0)
    assert 'hx-swap-oob="true"' in on and "disabled" not in on
    assert "disabled" in off
    assert "buy-now-" not in html


def test_buttons_say_why_they_are_disabled_and_their_key_changes_with_the_label(client):
    available, sold_out = ProductFactory(stock_on_hand=3), ProductFactory(stock_on_hand=0)
    held = ProductFactory(stock_on_hand=2)
    StockReservationFactory(product=held, quantity=2)
    html = badges(client, [available, sold_out, held]).content.decode()
    expected = {available: ("on", "Add to cart"), sold_out: ("sold_out", "Sold out")}
    expected[held] = ("held", "Unavailable")
    for product, (key, label) in expected.items():
        button = one(html, id=f"add-to-cart-{product.pk}")
        assert button.get("data-stock-key") == key
        assert (button.seen, button.name) == (label, f"{label}: {product.name}")


def test_cards_get_the_short_held_badge_and_the_product_page_the_whole_one(client):
    product = ProductFactory(stock_on_hand=2)
    StockReservationFactory(product=product, quantity=2)
    card = one(badges(client, [product]).content.decode(), id=f"stock-badge-{product.pk}")
    page = client.get(f"{BADGES}?ids={product.pk}&detail=1").content.decode()
    page = one(page, id=f"stock-badge-{product.pk}")
    assert card.seen == "All held in checkouts"
    assert card.text == f"{product.name}: All held in checkouts — check back soon"
    assert page.seen == "All held in checkouts — check back soon"


def test_product_page_poll_also_updates_buy_now(client):
    product = ProductFactory(stock_on_hand=0)
    html = client.get(f"{BADGES}?ids={product.pk}&detail=1").content.decode()
    button = re.search(rf'<button id="buy-now-{product.pk}"[^>]*>', html, re.S).group(0)
    assert "disabled" in button


def test_response_renews_the_poller_with_its_version(client):
    product = ProductFactory()
    response = badges(client, [product])
    html = response.content.decode()
    assert '<div id="stock-poller"' in html
    assert 'hx-swap-oob="true"' in html.split('<div id="stock-poller"', 1)[1]
    etag = response["ETag"].replace('"', r"\&quot;")
    assert f"If-None-Match&quot;: &quot;{etag}&quot;" in html


def test_headers_ask_the_browser_to_revalidate(client):
    response = badges(client, [ProductFactory()])
    assert response["Cache-Control"] == "no-cache"
    assert "HX-Request" in response["Vary"]
    assert re.fullmatch(r'"[0-9a-f]+"', response["ETag"])


def test_unchanged_badges_answer_304_without_a_body(client):
    product = ProductFactory()
    etag = badges(client, [product])["ETag"]
    response = badges(client, [product], **{"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert response["Cache-Control"] == "no-cache"
    assert "HX-Request" in response["Vary"]


def test_a_stale_etag_gets_the_new_badges(client):
    product = ProductFactory()
    response = badges(client, [product], **{"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert badge_text(response, product) == "In stock"


def test_the_page_carries_the_same_version_as_the_endpoint(client):
    products = ProductFactory.create_batch(3)
    page = client.get(reverse("catalog:index")).content.decode()
    etag = badges(client, products)["ETag"]
    assert etag.replace('"', r"\&quot;") in page


def test_etag_changes_after_a_stock_change(client):
    product = ProductFactory(stock_on_hand=10)
    etag = badges(client, [product])["ETag"]
    stock_set(product, 4)
    response = badges(client, [product], **{"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert badge_text(response, product) == "Only 4 left"


def test_etag_changes_after_a_reservation_is_made(client):
    product = ProductFactory(stock_on_hand=3)
    etag = badges(client, [product])["ETag"]
    StockReservationFactory(product=product, quantity=3)
    response = badges(client, [product], **{"If-None-Match": etag})
    assert response.status_code == 200
    assert badge_text(response, product) == "All held in checkouts — check back soon"


def test_etag_changes_when_a_hold_expires_with_time_alone(client, monkeypatch):
    product = ProductFactory(stock_on_hand=3)
    now = timezone.now()
    StockReservationFactory(product=product, quantity=3, expires_at=now + timedelta(minutes=1))
    held = badges(client, [product])
    assert badge_text(held, product) == "All held in checkouts — check back soon"
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(minutes=2))
    response = badges(client, [product], **{"If-None-Match": held["ETag"]})
    assert response.status_code == 200
    assert badge_text(response, product) == "Only 3 left"


def test_etag_changes_when_a_hold_is_released(client):
    product = ProductFactory(stock_on_hand=3)
    hold = StockReservationFactory(product=product, quantity=1)
    etag = badges(client, [product])["ETag"]
    StockReservation.objects.filter(pk=hold.pk).update(status=StockReservation.Status.RELEASED)
    assert badges(client, [product], **{"If-None-Match": etag}).status_code == 200


def test_a_change_to_another_product_keeps_the_304(client):
    watched, other = ProductFactory(), ProductFactory()
    etag = badges(client, [watched])["ETag"]
    StockReservationFactory(product=other, quantity=1)
    assert badges(client, [watched], **{"If-None-Match": etag}).status_code == 304


def test_inactive_products_get_no_badge(client):
    shown, hidden = ProductFactory(), ProductFactory(is_active=False)
    response = badges(client, [shown, hidden])
    html = response.content.decode()
    assert f"stock-badge-{shown.pk}" in html
    assert f"stock-badge-{hidden.pk}" not in html
    assert f"add-to-cart-{hidden.pk}" not in html


def test_deactivating_a_product_changes_the_version(client):
    product = ProductFactory()
    etag = badges(client, [product])["ETag"]
    product.is_active = False
    product.save()
    assert badges(client, [product], **{"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize(
    "ids",
    ["{pk},abc", "abc,{pk},,", "{pk},-3,1.5", "{pk},99999999", "{pk},99999999999999999999999"],
)
def test_bad_and_unknown_ids_are_ignored(client, ids):
    product = ProductFactory()
    response = client.get(f"{BADGES}?ids={ids.format(pk=product.pk)}")
    assert response.status_code == 200
    assert f"stock-badge-{product.pk}" in response.content.decode()


@pytest.mark.parametrize("query", ["", "?ids=", "?ids=abc,,x", "?ids=%00", "?other=1"])
def test_a_request_without_any_id_is_a_bad_request(client, query):
    assert client.get(f"{BADGES}{query}").status_code == 400


def test_at_most_100_ids_are_looked_at(client):
    products = ProductFactory.create_batch(3)
    ids = ",".join(str(n) for n in range(10_000, 10_100)) + "," + str(products[0].pk)
    response = client.get(f"{BADGES}?ids={ids}")
    assert response.status_code == 200
    assert "stock-badge-" not in response.content.decode()


def test_only_get_is_allowed(client):
    assert client.post(f"{BADGES}?ids=1").status_code == 405
