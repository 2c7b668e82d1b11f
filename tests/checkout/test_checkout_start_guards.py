"""Checkout start: the edges that mutation testing (`make mutate`) found no test held.

Each test names what the shopper or the shop relies on; all run on SQLite and
PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import StockReservation
from checkout.exceptions import InsufficientStock
from checkout.factories import OrderFactory, StockReservationFactory
from checkout.models import Order
from checkout.services.start import checkout_start
from tests.stock import stock_set

pytestmark = pytest.mark.django_db

S = Order.Status
BASE_URL = "http://testserver"


def test_a_line_of_zero_units_is_left_out_of_the_checkout(stripe):
    kept, dropped = ProductFactory(), ProductFactory()

    order = checkout_start(user=UserFactory(), items={kept.pk: 1, dropped.pk: 0}, base_url=BASE_URL)

    assert [line.product_id for line in order.lines.all()] == [kept.pk]
    assert list(order.reservations.values_list("product_id", flat=True)) == [kept.pk]


def test_exactly_the_per_order_cap_can_be_bought(stripe, settings):
    settings.CART_MAX_QUANTITY = 3
    product = ProductFactory(stock_on_hand=10)

    order = checkout_start(user=UserFactory(), items={product.pk: 3}, base_url=BASE_URL)

    assert order.reservations.get().quantity == 3


def test_stock_written_off_below_the_units_held_reads_sold_out_not_a_negative_number(stripe):
    product = ProductFactory(stock_on_hand=2)
    StockReservationFactory(product=product, quantity=2)
    stock_set(product, 1)  # a write-off: fewer units on hand than are held

    with pytest.raises(InsufficientStock) as refused:
        checkout_start(user=UserFactory(), items={product.pk: 1}, base_url=BASE_URL)

    assert refused.value.problems == {product.pk: "Sold out."}


def test_every_problem_of_a_cart_is_named_at_once(stripe):
    withdrawn = ProductFactory(is_active=False)
    foreign = ProductFactory()
    # Priced in another currency (left from before `convert_prices`); save() refuses that
    # now, an update does not.
    type(foreign).objects.filter(pk=foreign.pk).update(currency="usd")
    sold_out = ProductFactory(stock_on_hand=0)
    fine = ProductFactory()

    with pytest.raises(InsufficientStock) as refused:
        checkout_start(
            user=UserFactory(),
            items={withdrawn.pk: 1, foreign.pk: 1, sold_out.pk: 1, fine.pk: 1},
            base_url=BASE_URL,
        )

    assert set(refused.value.problems) == {withdrawn.pk, foreign.pk, sold_out.pk}
    assert not Order.objects.exists()


def test_a_changed_cart_fulfils_the_earlier_checkout_that_was_paid_meanwhile(
    shopper_client, checkout, cart, mug, stripe
):
    """The shopper paid in another tab, the webhook has not come yet, and they change
    their cart and check out again: the paid order is fulfilled, never canceled."""
    first = checkout()
    stripe.pay(first.stripe_session_id)
    cart.items.filter(product=mug).update(quantity=1)

    checkout()

    first.refresh_from_db()
    assert first.status == S.PAID
    assert first.canceled_at is None
    assert set(first.reservations.values_list("status", flat=True)) == {"consumed"}


def test_a_changed_cart_cancels_the_earlier_checkout_as_replaced(
    shopper_client, checkout, cart, mug, stripe
):
    first = checkout()
    cart.items.filter(product=mug).update(quantity=1)

    checkout()

    first.refresh_from_db()
    assert first.status == S.CANCELED
    assert first.cancel_reason == "Replaced by a newer checkout"


def test_a_checkout_that_never_got_its_session_does_not_stop_the_others_being_replaced(
    shopper_client, checkout, cart, mug, user, stripe
):
    first = checkout()
    # A later checkout of the same shopper whose Stripe session was never stored (it
    # failed half-way); it is listed first, being the newest.
    OrderFactory(user=user, status=S.PENDING, stripe_session_id=None)
    cart.items.filter(product=mug).update(quantity=1)

    checkout()

    first.refresh_from_db()
    assert first.status == S.CANCELED
    assert set(first.reservations.values_list("status", flat=True)) == {"released"}


def test_an_unchanged_cart_whose_session_was_paid_is_not_sent_back_to_that_session(
    shopper_client, checkout, stripe
):
    first = checkout()
    stripe.pay(first.stripe_session_id)

    response = shopper_client.post(reverse("checkout:start"))

    first.refresh_from_db()
    assert first.status == S.PAID
    assert response["Location"] != first.stripe_checkout_url
    assert StockReservation.objects.filter(order=first, status="consumed").count() == 2


# --- Reusing an open session: only with time left, only for its own order ----------------


def expires_in(order: Order, seconds: int) -> None:
    Order.objects.filter(pk=order.pk).update(
        checkout_expires_at=timezone.now() + timedelta(seconds=seconds)
    )


def test_an_open_session_about_to_expire_is_not_handed_out_again(shopper_client, checkout, stripe):
    first = checkout()
    expires_in(first, 90)  # under the two minutes a shopper needs to pay

    second = checkout()

    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.status == S.CANCELED


def test_an_open_session_with_minutes_left_is_handed_out_again(shopper_client, checkout, stripe):
    first = checkout()
    expires_in(first, 150)

    assert checkout().pk == first.pk


def session_names_another_order(stripe, order: Order) -> None:
    """Stripe's session for `order` carries another order's reference (forged, or
    crossed by a bug): the shop must not act on it for this order."""
    with stripe.emulator.store.lock:
        session = stripe.emulator.store.state["sessions"][order.stripe_session_id]
        session["client_reference_id"] = "999999"
        session["metadata"] = {"order_id": "999999"}


def test_a_lapsed_session_that_names_another_order_does_not_break_the_next_checkout(
    shopper_client, checkout, stripe
):
    first = checkout()
    stripe.http.post(f"{stripe.base_url}/v1/checkout/sessions/{first.stripe_session_id}/expire")
    session_names_another_order(stripe, first)

    second = checkout()  # the same cart: the old session is looked at, and set aside

    assert second.pk != first.pk
    assert second.status == S.PENDING


def test_a_changed_cart_is_checked_out_even_if_the_old_session_names_another_order(
    shopper_client, checkout, cart, mug, stripe
):
    first = checkout()
    stripe.pay(first.stripe_session_id)
    session_names_another_order(stripe, first)
    cart.items.filter(product=mug).update(quantity=1)

    second = checkout()

    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.status == S.PENDING  # not fulfilled through a session naming another order


def test_the_cancel_page_releases_the_hold_even_if_the_session_names_another_order(
    shopper_client, checkout, stripe, mug
):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    session_names_another_order(stripe, order)

    response = shopper_client.get(reverse("checkout:cancel") + f"?order={order.pk}")

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.CANCELED
