"""A flash sale's late buyers: a cart that is clearly sold out is refused before any row
lock, so the buyers who came too late never queue behind the ones holding the locks
(checkout.services.start._availability_problems, before the locked check that grants)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from checkout.exceptions import InsufficientStock
from checkout.factories import (
    CartFactory,
    CartItemFactory,
    OrderFactory,
    StockReservationFactory,
)
from checkout.models import Order
from checkout.services.start import checkout_start
from tests.checkout.test_locking import DEADLINE, OtherCheckout

BASE_URL = "http://testserver"


@pytest.mark.django_db
def test_a_sold_out_cart_is_refused_without_locking_or_creating_anything(stripe):
    lantern = ProductFactory(name="Storm lantern", stock_on_hand=1)
    StockReservationFactory(product=lantern, quantity=1)  # another shopper's live hold

    with CaptureQueriesContext(connection) as captured, pytest.raises(InsufficientStock) as no:
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)

    assert no.value.problems == {lantern.pk: "Sold out."}
    assert not [q for q in captured.captured_queries if q["sql"].endswith("FOR UPDATE")]
    assert Order.objects.count() == 1  # the other shopper's, nothing new


@pytest.mark.django_db
def test_the_early_refusal_says_what_the_locked_check_would(stripe):
    mug = ProductFactory(name="Enamel mug", stock_on_hand=3)
    gone = ProductFactory(name="Old stock", stock_on_hand=3, is_active=False)
    StockReservationFactory(product=mug, quantity=2)

    with pytest.raises(InsufficientStock) as no:
        checkout_start(user=UserFactory(), items={mug.pk: 2, gone.pk: 1}, base_url=BASE_URL)

    assert no.value.problems == {
        mug.pk: "Only 1 available.",
        gone.pk: "This product is no longer sold.",
    }


@pytest.mark.django_db
def test_a_shoppers_own_open_checkout_does_not_make_their_cart_look_sold_out(stripe):
    lamp = ProductFactory(name="Brass lamp", stock_on_hand=1)
    shopper = UserFactory()
    first = checkout_start(user=shopper, items={lamp.pk: 1}, base_url=BASE_URL)

    again = checkout_start(user=shopper, items={lamp.pk: 1}, base_url=BASE_URL)

    assert again.pk == first.pk  # the open session is reused, not refused


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_late_buyer_is_refused_while_the_lock_is_held_by_another_checkout(stripe):
    """Another checkout holds the product's row lock (it is taking the last unit); a
    buyer for whom nothing is left is answered at once instead of waiting for it."""
    lantern = ProductFactory(name="Storm lantern", stock_on_hand=1)
    StockReservationFactory(
        product=lantern, quantity=1, expires_at=timezone.now() + timedelta(minutes=30)
    )
    other = OtherCheckout([lantern], OrderFactory())
    other.start()
    assert other.locked.wait(DEADLINE) and other.error is None
    outcome: list[object] = []

    def buy() -> None:
        try:
            checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)
        except InsufficientStock as exc:
            outcome.append(exc.problems)
        finally:
            connection.close()

    started = time.monotonic()
    buyer = threading.Thread(target=buy, daemon=True)
    buyer.start()
    buyer.join(DEADLINE)
    waited = time.monotonic() - started
    other.finish.set()
    other.join(DEADLINE)

    assert outcome == [{lantern.pk: "Sold out."}]
    assert waited < DEADLINE / 2  # answered while the lock was still held
    assert other.error is None


@pytest.fixture
def sold_out_memo(settings, monkeypatch):
    """The memory of sold-out products on (it is off in tests), emptied around the test,
    with a clock the test moves."""
    from checkout.services import start

    settings.CHECKOUT_SOLD_OUT_MEMO_SECONDS = 1
    clock = [1000.0]
    monkeypatch.setattr(start.time, "monotonic", lambda: clock[0])
    start._sold_out.clear()
    yield clock
    start._sold_out.clear()


@pytest.mark.django_db
def test_a_product_found_sold_out_is_refused_from_memory_for_a_moment(stripe, sold_out_memo):
    lantern = ProductFactory(name="Storm lantern", stock_on_hand=1)
    hold = StockReservationFactory(product=lantern, quantity=1)
    with pytest.raises(InsufficientStock):
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)
    hold.delete()  # the unit is back

    with CaptureQueriesContext(connection) as captured, pytest.raises(InsufficientStock) as no:
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)
    assert no.value.problems == {lantern.pk: "Sold out."}
    assert no.value.names == {lantern.pk: "Storm lantern"}
    assert not [q for q in captured.captured_queries if "catalog_product" in q["sql"]]

    sold_out_memo[0] += 1.0  # a second later it is asked again, and there is a unit
    order = checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)
    assert order.reservations.get().product_id == lantern.pk


@pytest.mark.django_db
def test_only_a_sold_out_product_is_remembered(stripe, sold_out_memo):
    mug = ProductFactory(name="Enamel mug", stock_on_hand=2)
    StockReservationFactory(product=mug, quantity=1)
    with pytest.raises(InsufficientStock):  # "Only 1 available." for 2
        checkout_start(user=UserFactory(), items={mug.pk: 2}, base_url=BASE_URL)

    order = checkout_start(user=UserFactory(), items={mug.pk: 1}, base_url=BASE_URL)

    assert order.reservations.get().quantity == 1


@pytest.mark.django_db
def test_the_refusal_names_the_product_for_the_shopper(shopper_client, user, stripe):
    lantern = ProductFactory(name="Storm lantern", stock_on_hand=0)
    CartItemFactory(cart=CartFactory(user=user), product=lantern, quantity=1)

    response = shopper_client.post("/checkout/", follow=True)

    assert "Storm lantern: Sold out." in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_checkout_taking_the_last_unit_makes_the_next_ones_refused_from_memory(
    stripe, sold_out_memo
):
    lantern = ProductFactory(name="Storm lantern", stock_on_hand=1)
    checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)

    with CaptureQueriesContext(connection) as captured, pytest.raises(InsufficientStock) as no:
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)

    assert no.value.problems == {lantern.pk: "Sold out."}
    assert not [q for q in captured.captured_queries if "catalog_product" in q["sql"]]


@pytest.mark.django_db
def test_a_refusal_from_memory_is_not_counted_against_the_shoppers_rate_limit(
    shopper_client, user, stripe, sold_out_memo, settings
):
    """A flash sale's late buyer who presses again is told "Sold out." each time, not
    "too many checkouts", and keeps their starts for something in stock."""
    settings.CHECKOUT_RATE_LIMIT_PER_USER = (1, 600)
    lantern = ProductFactory(name="Storm lantern", stock_on_hand=1)
    StockReservationFactory(product=lantern, quantity=1)
    mug = ProductFactory(name="Enamel mug", stock_on_hand=5)
    with pytest.raises(InsufficientStock):  # another buyer's checkout found it sold out
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)

    for _ in range(3):
        refused = shopper_client.post("/checkout/", {"product": lantern.pk}, follow=True)
        assert refused.status_code == 200
        assert "Storm lantern: Sold out." in refused.content.decode()

    started = shopper_client.post("/checkout/", {"product": mug.pk})
    assert started.status_code == 302 and started["Location"].startswith("http")
    assert Order.objects.get(user=user).lines.get().product_id == mug.pk
    again = shopper_client.post("/checkout/", {"product": mug.pk, "quantity": "2"})
    assert again.status_code == 429  # the limit still counts the starts that cost


@pytest.mark.django_db
def test_a_product_remembered_sold_out_is_refused_as_such_while_stripe_is_unavailable(
    stripe, sold_out_memo, monkeypatch
):
    from checkout import resilience

    lantern = ProductFactory(name="Storm lantern", stock_on_hand=1)
    StockReservationFactory(product=lantern, quantity=1)
    with pytest.raises(InsufficientStock):
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)
    monkeypatch.setattr(resilience, "available", lambda: False)  # the breaker is open

    with pytest.raises(InsufficientStock) as no:
        checkout_start(user=UserFactory(), items={lantern.pk: 1}, base_url=BASE_URL)

    assert no.value.problems == {lantern.pk: "Sold out."}
