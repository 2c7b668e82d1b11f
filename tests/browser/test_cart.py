"""The cart in a real browser: quantities validated as the shopper types."""

import pytest
from playwright.sync_api import expect

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory, StockReservationFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shopper_with_cart():
    user = UserFactory()
    cart = CartFactory(user=user)
    notebook = ProductFactory(name="Dot-grid notebook", unit_amount=1450, stock_on_hand=5)
    pencil = ProductFactory(name="Cedar pencils, set of 6", unit_amount=950, stock_on_hand=40)
    mug = ProductFactory(name="Enamel camp mug", unit_amount=1800, stock_on_hand=8)
    lines = {
        "notebook": CartItemFactory(cart=cart, product=notebook, quantity=2),
        "pencil": CartItemFactory(cart=cart, product=pencil, quantity=1),
        "mug": CartItemFactory(cart=cart, product=mug, quantity=1),
    }
    return user, lines


def test_typing_quantities_shows_inline_errors_and_updates_totals_without_reload(
    new_page, screenshot, shopper_with_cart
):
    user, lines = shopper_with_cart
    notebook = lines["notebook"].pk
    page = new_page(user)
    page.goto("/cart/")
    total = page.get_by_test_id("cart-total")
    expect(total).to_have_text("€56.50")  # 2 × 14.50 + 9.50 + 18.00
    screenshot(page, "three-lines")
    # Survives only as long as the page is not reloaded.
    page.evaluate("window.cartPageMarker = 'same page'")

    quantity = page.locator(f"#quantity-{notebook}")
    feedback = page.locator(f"#line-{notebook}-feedback")
    quantity.fill("7")
    expect(feedback.get_by_role("alert")).to_have_text("Only 5 available. Your cart keeps 2.")
    expect(total).to_have_text("€56.50")
    screenshot(page, "error")

    quantity.fill("1.5")
    expect(feedback.get_by_role("alert")).to_contain_text("Enter a whole number")

    quantity.fill("4")
    expect(feedback.get_by_role("alert")).to_have_count(0)
    expect(page.locator(f"#line-{notebook}-total")).to_have_text("€58.00")
    expect(total).to_have_text("€85.50")
    expect(page.locator("#cart-count")).to_have_text("6")
    expect(quantity).to_be_focused()  # the input being typed in is never replaced
    assert page.evaluate("window.cartPageMarker") == "same page"

    # 0 removes the line; Undo brings it back with its quantity.
    page.locator(f"#quantity-{lines['mug'].pk}").fill("0")
    expect(page.get_by_role("status").filter(has_text="Removed")).to_contain_text(
        "Removed Enamel camp mug from your cart."
    )
    expect(total).to_have_text("€67.50")
    expect(page.locator("#cart-count")).to_have_text("5")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(3)
    expect(total).to_have_text("€85.50")
    expect(page.locator("#cart-count")).to_have_text("6")
    assert page.evaluate("window.cartPageMarker") == "same page"


def test_removing_every_line_leaves_the_empty_state(new_page, screenshot, shopper_with_cart):
    user, lines = shopper_with_cart
    page = new_page(user, width=390, height=844)
    page.goto("/cart/")
    screenshot(page, "phone-three-lines")
    for _ in lines:
        page.get_by_role("button", name="Remove").first.click()
        expect(page.get_by_role("button", name="Undo")).to_be_focused()
    expect(page.get_by_test_id("cart-empty")).to_contain_text("Your cart is empty")
    expect(page.locator("#cart-count")).to_be_hidden()
    screenshot(page, "phone-empty")


def test_a_line_whose_stock_ran_out_blocks_checkout_until_resolved(
    new_page, screenshot, shopper_with_cart
):
    user, lines = shopper_with_cart
    StockReservationFactory(product=lines["notebook"].product, quantity=4)  # 1 left
    page = new_page(user, width=390, height=844)
    page.goto("/cart/")
    expect(page.get_by_test_id("line-problem")).to_have_text("Only 1 left — reduce the quantity")
    expect(page.get_by_test_id("checkout-button")).to_be_disabled()
    screenshot(page, "phone-stock-problem")

    page.locator(f"#quantity-{lines['notebook'].pk}").fill("1")

    expect(page.get_by_test_id("line-problem")).to_have_count(0)
    expect(page.get_by_test_id("checkout-button")).to_be_enabled()
