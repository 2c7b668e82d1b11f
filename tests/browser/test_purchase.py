"""The whole purchase in a real browser, against the Stripe emulator running as its own
process and sending signed webhooks to the live server. Each scenario checks what a
shopper sees and what the database holds afterwards."""

import re
import time

import pytest
from playwright.sync_api import expect

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import Product
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Order, StripeEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_polls(settings):
    settings.STOCK_POLL_SECONDS = 1


def stock(product) -> int:
    return Product.objects.get(pk=product.pk).stock_on_hand


def wait_for(condition, timeout: float = 15.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.1)


def pay_on_stripe(page, card: str = "4242 4242 4242 4242", delayed: bool = False) -> None:
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_be_visible()
    name = page.get_by_label("Full name")
    if name.count() and not name.input_value():  # the shop ships goods: Stripe asks where
        name.fill("Aoife Byrne")
        page.get_by_label("Address", exact=True).fill("12 Harbour Road")
        page.get_by_label("City").fill("Dublin")
    page.get_by_label("Card number").fill(card)
    if delayed:
        page.get_by_label("Delayed bank payment").check()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def test_sign_up_browse_search_fill_the_cart_pay_and_find_the_order(
    new_page, stripe_process, screenshot
):
    mug = ProductFactory(name="Enamel camp mug", slug="mug", unit_amount=1800, stock_on_hand=4)
    notebook = ProductFactory(
        name="Linen field notebook", slug="notebook", unit_amount=1250, stock_on_hand=10
    )
    ProductFactory(name="Brass pencil", slug="pencil", unit_amount=900, stock_on_hand=7)
    page = new_page()

    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("walker@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase")
    page.get_by_label("Password (again)").fill("a-long-pass-phrase")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_test_id("account-email")).to_have_text("walker@example.com")
    screenshot(page, "1-signed-up")

    page.goto("/")
    page.get_by_label("Search products").fill("mug")
    expect(page.locator("#catalog-results article")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=mug"))
    page.get_by_role("button", name=re.compile("Add to cart.*Enamel camp mug")).click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.get_by_label("Search products").fill("notebook")
    expect(page.locator("#catalog-results article")).to_have_count(1)
    page.get_by_role("button", name=re.compile("Add to cart.*Linen field notebook")).click()
    expect(page.locator("#cart-count")).to_have_text("2")
    screenshot(page, "2-added")

    page.goto("/cart/")
    quantity = page.get_by_label("Quantity").first
    quantity.fill("9")
    expect(page.get_by_role("alert")).to_contain_text("Only 4 available")
    expect(page.get_by_test_id("cart-total")).to_have_text("€30.50")
    screenshot(page, "3-inline-error")
    quantity.fill("2")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_test_id("cart-total")).to_have_text("€48.50")

    page.get_by_test_id("checkout-button").click()
    screenshot(page, "4-stripe-page")
    pay_on_stripe(page)

    expect(page).to_have_url(re.compile(r"/checkout/success/\?session_id=cs_"))
    expect(page.get_by_text("Payment confirmed.")).to_be_visible()
    screenshot(page, "5-success")
    order = Order.objects.get(user__email="walker@example.com")
    assert order.status == Order.Status.PAID
    assert order.amount_total == 4850

    page.get_by_role("link", name="Orders", exact=True).first.click()
    expect(page.locator("main")).to_contain_text(f"#{order.pk}")
    expect(page.locator("main")).to_contain_text("€48.50")
    screenshot(page, "6-orders")

    # Stock went down by exactly what was bought, once, whatever the webhooks did.
    wait_for(lambda: StripeEvent.objects.filter(processed_at__isnull=False).exists())
    assert (stock(mug), stock(notebook)) == (2, 9)


def test_declined_card_stays_on_stripe_then_cancel_releases_the_hold(
    new_page, stripe_process, screenshot
):
    shopper = UserFactory()
    lamp = ProductFactory(name="Storm lantern", slug="lantern", unit_amount=4200, stock_on_hand=1)
    CartItemFactory(cart=CartFactory(user=shopper), product=lamp, quantity=1)
    page = new_page(shopper)

    page.goto("/cart/")
    page.get_by_test_id("checkout-button").click()
    pay_on_stripe(page, card="4000 0000 0000 0002")
    expect(page.get_by_text("Your card was declined.")).to_be_visible()
    screenshot(page, "1-declined")
    assert Product.objects.with_availability().get(pk=lamp.pk).available == 0  # held

    page.get_by_role("link", name=re.compile("Back to shop")).click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.locator("#toasts")).to_contain_text("Checkout canceled")
    screenshot(page, "2-back-in-cart")
    order = Order.objects.get(user=shopper)
    assert order.status == Order.Status.CANCELED

    page.goto("/products/lantern/")
    expect(page.locator(f"#stock-badge-{lamp.pk}")).to_contain_text("Only 1 left")
    expect(page.get_by_role("button", name="Buy now")).to_be_enabled()
    assert stock(lamp) == 1


def test_two_shoppers_race_for_the_last_unit(new_page, stripe_process, screenshot):
    first, second = UserFactory(), UserFactory()
    knife = ProductFactory(name="Folding knife", slug="knife", unit_amount=5600, stock_on_hand=1)
    CartItemFactory(cart=CartFactory(user=second), product=knife, quantity=1)
    page_a, page_b = new_page(first), new_page(second)

    page_a.goto("/products/knife/")
    page_b.goto("/cart/")
    expect(page_b.get_by_test_id("checkout-button")).to_be_enabled()

    page_a.get_by_role("button", name="Buy now").click()
    expect(page_a.get_by_role("button", name=re.compile(r"^Pay "))).to_be_visible()

    # The second shopper is told before paying: the cart refuses, the product page says so.
    page_b.get_by_test_id("checkout-button").click()
    expect(page_b).to_have_url(re.compile(r"/cart/$"))
    expect(page_b.locator("main")).to_contain_text("Sold out")
    expect(page_b.get_by_test_id("checkout-button")).to_be_disabled()
    screenshot(page_b, "second-shopper-refused")
    page_b.goto("/products/knife/")
    expect(page_b.get_by_role("button", name="Buy now")).to_be_disabled()

    pay_on_stripe(page_a)
    expect(page_a.get_by_text("Payment confirmed.")).to_be_visible()
    assert Order.objects.get(user=first).status == Order.Status.PAID
    assert not Order.objects.filter(user=second).exists()
    assert stock(knife) == 0
    expect(page_b.locator(f"#stock-badge-{knife.pk}")).to_contain_text("Sold out")


def test_webhook_faults_still_end_paid_exactly_once(new_page, stripe_process, screenshot):
    shopper = UserFactory()
    tent = ProductFactory(name="Ridge tent", slug="tent", unit_amount=18900, stock_on_hand=3)
    CartItemFactory(cart=CartFactory(user=shopper), product=tent, quantity=2)
    stripe_process.control("POST", "faults", {"duplicate": 2, "shuffle": True, "fail_first": 2})
    page = new_page(shopper)

    page.goto("/cart/")
    page.get_by_test_id("checkout-button").click()
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_be_visible()
    order = Order.objects.get(user=shopper)
    # Paid on Stripe's side while the shopper never comes back: only webhooks confirm.
    assert stripe_process.pay(order.stripe_session_id).status_code == 200

    wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID, 20, "paid")
    stripe_process.control("GET", "wait_idle?timeout=10")
    deliveries = stripe_process.control("GET", "deliveries")
    deliveries = deliveries if isinstance(deliveries, list) else deliveries["data"]
    failed = [d for d in deliveries if d.get("status_code") != 200]
    assert failed, "the faults were injected"
    completed = [d for d in deliveries if d["type"] == "checkout.session.completed"]
    assert sum(1 for d in completed if d.get("status_code") == 200) >= 2  # duplicated
    assert stock(tent) == 1
    assert StripeEvent.objects.filter(type="checkout.session.completed").count() == 1

    page.goto(f"/orders/{order.pk}/")
    expect(page.locator("main")).to_contain_text("Paid")
    screenshot(page, "paid-despite-faults")


def test_a_purchase_elsewhere_changes_an_open_catalog_badge(new_page, stripe_process):
    buyer = UserFactory()
    flask = ProductFactory(name="Steel flask", slug="flask", unit_amount=2900, stock_on_hand=8)
    watcher = new_page()
    watcher.goto("/")
    badge = watcher.locator(f"#stock-badge-{flask.pk}")
    expect(badge).to_contain_text("In stock")
    watcher.evaluate("window.__sameDocument = true")

    buyer_page = new_page(buyer)
    buyer_page.goto("/products/flask/")
    buyer_page.get_by_label("Quantity").fill("4")
    buyer_page.get_by_role("button", name="Buy now").click()
    pay_on_stripe(buyer_page)
    expect(buyer_page.get_by_text("Payment confirmed.")).to_be_visible()

    expect(badge).to_contain_text("Only 4 left", timeout=10_000)
    assert watcher.evaluate("window.__sameDocument") is True  # no reload
    assert stock(flask) == 4


def test_delayed_payment_shows_processing_then_flips_to_paid(new_page, stripe_process, screenshot):
    shopper = UserFactory()
    stove = ProductFactory(name="Camp stove", slug="stove", unit_amount=7400, stock_on_hand=2)
    CartItemFactory(cart=CartFactory(user=shopper), product=stove, quantity=1)
    page = new_page(shopper)

    page.goto("/cart/")
    page.get_by_test_id("checkout-button").click()
    pay_on_stripe(page, delayed=True)

    expect(page).to_have_url(re.compile(r"/checkout/success/"))
    status = page.locator("[id^=order-status-]")
    expect(status).to_contain_text("Payment processing")
    screenshot(page, "1-processing")
    page.evaluate("window.__sameDocument = true")
    assert stock(stove) == 2

    expect(status).to_contain_text("Paid", timeout=15_000)
    expect(page.locator("#toasts")).to_contain_text("Payment confirmed")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "2-paid")
    assert stock(stove) == 1
