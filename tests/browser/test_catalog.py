"""The catalog in a real browser: live badges, the 304 path, search as you type."""

import re

import pytest
from playwright.sync_api import expect

from catalog.factories import ProductFactory
from checkout.factories import StockReservationFactory
from tests.stock import stock_set

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_polling(settings):
    settings.STOCK_POLL_SECONDS = 1


def watch_badge_polls(page) -> list[int]:
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: statuses.append(response.status) if "/badges/" in response.url else None,
    )
    return statuses


def mark_badges(page) -> None:
    """Tag the badges now in the page, to tell later whether they were replaced."""
    page.evaluate(
        "document.querySelectorAll('[data-stock-key]').forEach(e => e.dataset.seen = '1')"
    )


def test_badge_changes_when_stock_changes_without_a_reload(page, live_server, screenshot):
    notebook = ProductFactory(name="Linen Field Notebook", stock_on_hand=10)
    mug = ProductFactory(name="Enamel Camp Mug", stock_on_hand=10)
    polls = watch_badge_polls(page)
    page.goto(live_server.url + "/")
    notebook_badge = page.locator(f"#stock-badge-{notebook.pk}")
    mug_badge = page.locator(f"#stock-badge-{mug.pk}")
    expect(notebook_badge).to_contain_text("In stock")
    mark_badges(page)

    # Nothing changed: the poller asks and gets 304s, and the page is left alone.
    page.wait_for_timeout(2_500)
    assert polls and set(polls) == {304}
    assert page.locator("[data-seen]").count() == 4

    stock_set(notebook, 3)
    expect(notebook_badge).to_contain_text("Only 3 left", timeout=5_000)
    assert 200 in polls
    # Only what changed was replaced: the mug's badge and both buttons are the same nodes.
    expect(mug_badge.locator("[data-seen]")).to_have_count(1)
    expect(page.locator(f"#add-to-cart-{notebook.pk}")).to_have_attribute("data-seen", "1")

    StockReservationFactory(product=notebook, quantity=3)
    expect(notebook_badge).to_contain_text("All held in checkouts", timeout=5_000)
    expect(page.locator(f"#add-to-cart-{notebook.pk}")).to_be_disabled()
    expect(page.locator(f"#add-to-cart-{notebook.pk}")).to_have_text(
        "Unavailable: Linen Field Notebook"
    )
    expect(page.locator(f"#add-to-cart-{mug.pk}")).to_be_enabled()
    screenshot(page, "held")

    # After a change, the poller carries the new version: back to 304s.
    count = len(polls)
    page.wait_for_timeout(2_500)
    assert polls[count:] and set(polls[count:]) == {304}


def test_product_page_badge_and_buttons_follow_stock(page, live_server, screenshot):
    product = ProductFactory(name="Walnut Desk Tray", stock_on_hand=2)
    page.goto(live_server.url + product.get_absolute_url())
    expect(page.locator(f"#stock-badge-{product.pk}")).to_contain_text("Only 2 left")
    expect(page.get_by_role("button", name="Buy now")).to_be_enabled()

    stock_set(product, 0)
    expect(page.locator(f"#stock-badge-{product.pk}")).to_contain_text("Sold out", timeout=5_000)
    expect(page.get_by_role("button", name="Buy now")).to_be_disabled()
    expect(page.locator(f"#add-to-cart-{product.pk}")).to_be_disabled()
    screenshot(page, "sold-out")


def test_search_as_you_type_updates_results_and_address(page, live_server):
    ProductFactory(name="Enamel Camp Mug")
    ProductFactory(name="Brass Pocket Pencil")
    page.goto(live_server.url + "/")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search products").fill("mug")
    expect(page.locator("#catalog-results article")).to_have_count(1)
    expect(page.locator("#catalog-results")).to_contain_text("Enamel Camp Mug")
    expect(page).to_have_url(re.compile(r"/\?q=mug$"))
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#search-status")).to_contain_text("1 product found for “mug”")

    page.get_by_label("Search products").fill("zebra")
    expect(page.locator("#catalog-results")).to_contain_text("Nothing matches “zebra”")
    page.get_by_role("link", name="Show all products").click()
    expect(page.locator("#catalog-results article")).to_have_count(2)


def test_add_to_cart_from_a_card_confirms_in_place(page, live_server):
    product = ProductFactory(name="Enamel Camp Mug", stock_on_hand=5)
    page.goto(live_server.url + "/")
    page.get_by_role("button", name=re.compile(r"Add to cart\W+Enamel Camp Mug")).click()
    expect(page.locator(f"#cart-status-{product.pk}")).not_to_be_empty()
    expect(page.locator("#cart-count")).to_have_text("1")


def test_sold_out_button_says_so_and_turns_back_when_stock_returns(page, live_server, screenshot):
    lantern = ProductFactory(name="Storm Lantern", stock_on_hand=0)
    page.goto(live_server.url + "/")
    button = page.locator(f"#add-to-cart-{lantern.pk}")
    expect(button).to_be_disabled()
    expect(button).to_have_text("Sold out: Storm Lantern")
    expect(
        page.get_by_role("button", name=re.compile(r"^Sold out\W+Storm Lantern$"))
    ).to_be_visible()
    screenshot(page, "sold-out")

    stock_set(lantern, 3)
    expect(page.locator(f"#stock-badge-{lantern.pk}")).to_contain_text("Only 3 left", timeout=5_000)
    expect(button).to_be_enabled()
    expect(button).to_have_text("Add to cart: Storm Lantern")
    button.click()
    expect(page.locator(f"#cart-status-{lantern.pk}")).not_to_be_empty()


@pytest.mark.parametrize("width", [1280, 390])
def test_held_badge_keeps_to_one_line_on_a_card(new_page, live_server, screenshot, width):
    held = ProductFactory(name="Beechwood Spatula (Fern)", stock_on_hand=2)
    ProductFactory(name="Brass Pocket Pencil", stock_on_hand=30)
    StockReservationFactory(product=held, quantity=2)
    page = new_page(width=width)
    page.goto(live_server.url + "/")
    badges = page.locator("#catalog-results [data-stock-state]")
    expect(badges.first).to_be_visible()
    heights = badges.evaluate_all("nodes => nodes.map(n => n.getBoundingClientRect().height)")
    assert len(heights) == 2 and heights[0] == heights[1]
    expect(page.locator(f"#stock-badge-{held.pk}")).to_have_text(
        re.compile(r"All held in checkouts — check back soon")
    )
    screenshot(page, f"held-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_long_search_word_never_widens_the_page(new_page, live_server, screenshot, width):
    word = "x" * 100
    ProductFactory(name="Long notebook", description=f"Code {word[:90]}")
    page = new_page(width=width)
    for query, shown in ((word, "Nothing matches"), (word[:90], "1 product found")):
        page.goto(f"{live_server.url}/?q={query}")
        expect(page.locator("#catalog-results")).to_contain_text(shown)
        assert page.evaluate("document.documentElement.scrollWidth") == width
        screenshot(page, f"{width}-{shown.split()[0].lower()}")
