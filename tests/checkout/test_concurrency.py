"""Races on PostgreSQL with real threads: holds, webhooks, success pages, sweepers."""

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import Product, StockMovement, StockReservation
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import Order, OrderLine, StripeEvent
from checkout.services.start import checkout_start
from checkout.services.sweeper import checkouts_sweep
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def books_balance(transactional_db):
    """After every race: each product's stock equals its ledger (check_inventory exits 0)
    and each sale made exactly one movement per product of each paid order."""
    yield
    out = StringIO()
    call_command("check_inventory", stdout=out)
    assert "OK" in out.getvalue().splitlines()[0], out.getvalue()
    sold = Counter(
        OrderLine.objects.filter(order__paid_at__isnull=False).values_list("order_id", "product_id")
    )
    sales = Counter(
        StockMovement.objects.filter(reason=StockMovement.Reason.SALE).values_list(
            "order_id", "product_id"
        )
    )
    assert sales == sold


def test_fifty_shoppers_racing_for_five_units_get_exactly_five_holds(stripe):
    product = ProductFactory(stock_on_hand=5)
    shoppers = [UserFactory() for _ in range(50)]
    for shopper in shoppers:
        CartItemFactory(cart=CartFactory(user=shopper), product=product, quantity=1)

    def buy(shopper):
        client = Client()
        client.force_login(shopper)
        return client.post(reverse("checkout:start")).status_code

    results = run_together(buy, [(s,) for s in shoppers])

    assert all(code == 302 for code in results), results  # no 500, no exception
    holds = StockReservation.objects.filter(product=product, status="active")
    assert holds.count() == 5
    assert sum(h.quantity for h in holds) == 5
    assert Order.objects.filter(status="pending").count() == 5
    assert Product.objects.with_availability().get(pk=product.pk).available == 0
    assert Product.objects.get(pk=product.pk).stock_on_hand == 5


def test_carts_locking_the_same_products_in_opposite_orders_do_not_deadlock(stripe):
    first, second = ProductFactory(stock_on_hand=100), ProductFactory(stock_on_hand=100)
    pairs = []
    for index in range(20):
        shopper = UserFactory()
        cart = CartFactory(user=shopper)
        ordered = (first, second) if index % 2 else (second, first)
        for product in ordered:  # cart lines added in opposite orders
            CartItemFactory(cart=cart, product=product, quantity=1)
        pairs.append(shopper)

    def buy(shopper):
        return checkout_start(
            user=shopper,
            items=dict(shopper.cart.items.values_list("product_id", "quantity")),
            base_url="http://testserver",
        ).status

    results = run_together(buy, [(s,) for s in pairs])
    assert results == ["pending"] * 20
    assert StockReservation.objects.filter(status="active").count() == 40


def test_one_event_delivered_by_eight_threads_fulfils_once(checkout, stripe, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    event = stripe.events("checkout.session.completed")[0]

    results = run_together(lambda: stripe.post_event(Client(), event).status_code, [()] * 8)

    assert results == [200] * 8
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 3
    assert StripeEvent.objects.filter(stripe_id=event["id"]).count() == 1


def test_webhook_and_success_page_at_the_same_moment_fulfil_once(checkout, stripe, mug, user):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    event = stripe.events("checkout.session.completed")[0]

    def webhook():
        return stripe.post_event(Client(), event).status_code

    def success_page():
        client = Client()
        client.force_login(user)
        url = reverse("checkout:success") + f"?session_id={order.stripe_session_id}"
        return client.get(url).status_code

    results = run_together(lambda f: f(), [(webhook,), (success_page,)] * 3)

    assert results == [200] * 6
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 3
    assert StockReservation.objects.filter(order=order, status="consumed").count() == 2


def test_two_sweepers_at_once_settle_each_order_once(stripe, user):
    product = ProductFactory(stock_on_hand=20)
    orders = []
    for _ in range(6):
        order = checkout_start(
            user=UserFactory(), items={product.pk: 1}, base_url="http://testserver"
        )
        stripe.pay(order.stripe_session_id)
        orders.append(order)
    Order.objects.update(created_at=timezone.now() - timedelta(minutes=10))

    summaries = run_together(checkouts_sweep, [(), ()])

    assert not any(isinstance(s, Exception) for s in summaries), summaries
    assert sum(s.reconciled for s in summaries) == 6
    assert Counter(Order.objects.values_list("status", flat=True)) == {"paid": 6}
    assert Product.objects.get(pk=product.pk).stock_on_hand == 14


def test_paying_the_last_unit_twice_never_oversells(stripe):
    """Two shoppers hold the last unit one after the other (the first hold lapsed); both
    pay. One is fulfilled, the other refunded; stock never goes below zero."""
    product = ProductFactory(stock_on_hand=1)
    first = checkout_start(user=UserFactory(), items={product.pk: 1}, base_url="http://testserver")
    first.reservations.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = checkout_start(user=UserFactory(), items={product.pk: 1}, base_url="http://testserver")
    for order in (first, second):
        stripe.pay(order.stripe_session_id)
    events = stripe.events("checkout.session.completed")

    results = run_together(
        lambda e: stripe.post_event(Client(), e).status_code, [(e,) for e in events]
    )

    assert results == [200, 200]
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["paid", "refunding"]
    assert Product.objects.get(pk=product.pk).stock_on_hand == 0
