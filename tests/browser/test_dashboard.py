"""The shopper watches an order flip to paid on its page, without reloading."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checkout.factories import OrderFactory, OrderLineFactory
from checkout.models import Order


def pending_order(user) -> Order:
    order = OrderFactory(
        user=user,
        status=Order.Status.PENDING,
        amount_total=2400 * 2 + 1250,
        stripe_checkout_url="https://checkout.stripe.com/c/pay/cs_test_browser",
        checkout_expires_at=timezone.now() + timedelta(minutes=30),
    )
    OrderLineFactory(order=order, name="Linen apron", unit_amount=2400, quantity=2)
    OrderLineFactory(order=order, name="Enamel mug", unit_amount=1250, quantity=1)
    return order


@pytest.mark.django_db(transaction=True)
def test_order_page_turns_paid_without_a_reload_and_stops_polling(new_page, user, screenshot):
    order = pending_order(user)
    page = new_page(user=user)
    status_requests: list[float] = []
    page.on(
        "request",
        lambda request: (
            status_requests.append(time.monotonic())
            if f"/orders/{order.pk}/status/" in request.url
            else None
        ),
    )

    page.goto(f"/orders/{order.pk}/")
    status = page.locator(f"#order-status-{order.pk}")
    expect(status).to_contain_text("Awaiting payment")
    # The fragment polls while the order is pending.
    with page.expect_request(lambda request: "/status/" in request.url, timeout=5_000):
        pass
    screenshot(page, "pending")
    page.evaluate("window.__sameDocument = true")

    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.PAID, paid_at=timezone.now(), stripe_payment_intent_id="pi_3Nbrowser"
    )

    expect(status).to_contain_text("Paid", timeout=6_000)
    expect(status).not_to_contain_text("Awaiting payment")
    expect(page.locator("#toasts")).to_contain_text("Payment confirmed")
    # The timeline and payment reference follow the status.
    expect(page.locator(f"#order-progress-{order.pk}")).to_contain_text("pi_3Nbrowser")
    expect(page.locator(f'#order-progress-{order.pk} [data-step="paid"]')).to_be_visible()
    # The live region that announces the change is still the one the page loaded with.
    expect(
        page.locator(f'[role="status"][aria-live="polite"] > #order-status-{order.pk}')
    ).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert status.get_attribute("hx-trigger") is None
    assert status.get_attribute("data-poll") is None
    screenshot(page, "paid")

    requests_at_flip = len(status_requests)
    page.wait_for_timeout(5_000)  # two and a half polling intervals
    assert len(status_requests) == requests_at_flip, "polling went on after the order was final"


@pytest.mark.django_db(transaction=True)
def test_order_list_shows_a_processing_order_turn_paid(new_page, user):
    order = pending_order(user)
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.PROCESSING, processing_at=timezone.now()
    )
    page = new_page(user=user, width=390, height=844)

    page.goto("/orders/")
    row = page.get_by_test_id("order-row")
    expect(row).to_contain_text("Payment processing")
    expect(row).to_contain_text("Linen apron × 2 and Enamel mug")

    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())

    expect(row).to_contain_text("Paid", timeout=6_000)
    expect(page.locator("#toasts")).to_contain_text("Payment confirmed")
