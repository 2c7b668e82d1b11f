"""From paid to delivered in a real browser: the shopper buys with an address and a
chosen rate on Stripe's page, staff ship it with tracking, the shopper sees it."""

import re

import pytest
from playwright.sync_api import expect

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Order, ShippingRate
from tests.browser.test_purchase import pay_on_stripe, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_buy_with_an_address_and_express_then_staff_ship_and_the_shopper_tracks_it(
    new_page, stripe_process, screenshot
):
    shopper = UserFactory()
    lantern = ProductFactory(name="Storm lantern", slug="lantern", unit_amount=4200)
    CartItemFactory(cart=CartFactory(user=shopper), product=lantern, quantity=1)
    ShippingRate.objects.create(name="Standard", amount=490, min_days=3, max_days=5)
    ShippingRate.objects.create(name="Express", amount=1290, min_days=1, max_days=2, sort_order=1)
    page = new_page(shopper)

    page.goto("/cart/")
    page.get_by_test_id("checkout-button").click()
    page.get_by_label("Full name").fill("Aoife Byrne")
    page.get_by_label("Address", exact=True).fill("12 Harbour Road")
    page.get_by_label("City").fill("Dún Laoghaire")
    page.get_by_label("Postal code").fill("A96 X2Y4")
    page.get_by_label(re.compile("^Express")).check()
    screenshot(page, "1-stripe-address-and-rate")
    pay_on_stripe(page)
    expect(page.get_by_text("Payment confirmed.")).to_be_visible()
    order = Order.objects.get(user=shopper)
    wait_for(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    order.refresh_from_db()
    assert order.shipping_rate_name == "Express" and order.shipping_amount == 1290
    assert order.total_charged == 4200 + 1290

    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_test_id("shipping-address")).to_contain_text("12 Harbour Road")
    expect(page.get_by_test_id("order-shipping")).to_have_text("€12.90")
    expect(page.get_by_test_id("order-total")).to_have_text("€54.90")
    expect(page.get_by_test_id("fulfilment-status")).to_have_text("Not yet packed")

    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = new_page(staff)
    admin.goto("/admin/checkout/order/?queue=to_pack")
    admin.get_by_role("checkbox", name=re.compile("Select this object")).first.check()
    admin.get_by_role("combobox", name="Action").select_option("mark_shipped")
    admin.get_by_role("button", name="Go").first.click()
    admin.get_by_label("Carrier").fill("An Post")
    admin.get_by_label("Tracking number").fill("CE123456789IE")
    admin.get_by_label("Tracking url").fill("https://track.example/CE123456789IE")
    admin.get_by_role("button", name="Mark shipped").click()
    expect(admin.locator(".messagelist")).to_contain_text("1 order(s) shipped")
    screenshot(admin, "2-staff-shipped")

    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_test_id("fulfilment-status")).to_have_text("Shipped")
    link = page.get_by_role("link", name="CE123456789IE")
    expect(link).to_have_attribute("href", "https://track.example/CE123456789IE")
    expect(page.get_by_test_id("timeline")).to_contain_text("Tracking: An Post CE123456789IE")
    screenshot(page, "3-shopper-tracks")
