"""Row locks on PostgreSQL, made deterministic: who waits for whom is checked in
pg_locks (pg_blocking_pids), never guessed from a sleep.

The shop takes product row locks in one order everywhere (by id, in one statement) and
reads the holds only once it has them; every order transition first locks the order
row. These tests fail at once, every run, when a lock is dropped, when the holds are
read before it, or when products are locked one at a time or in another order; the
thread races in test_concurrency.py catch the same mistakes only now and then.
"""

import dataclasses
import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import Product, StockReservation
from checkout import gateway
from checkout.exceptions import InsufficientStock
from checkout.factories import OrderFactory
from checkout.models import Order
from checkout.services import refunds
from checkout.services.start import checkout_start
from checkout.services.transitions import order_cancel, order_fulfil, order_mark_processing

pytestmark = pytest.mark.postgres

BASE_URL = "http://testserver"
DEADLINE = 15  # seconds; only ever reached when the test is failing


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


class OtherCheckout(threading.Thread):
    """Another checkout caught mid-flight: in its own transaction it locks `products`
    (by id, as the shop does), inserts a hold on the first, then waits for `finish`
    and commits (or rolls back)."""

    def __init__(
        self,
        products: list[Product],
        order: Order,
        *,
        commit: bool = True,
        then_lock: Product | None = None,
    ):
        super().__init__(daemon=True)
        self.products, self.order, self.commit = products, order, commit
        self.then_lock = then_lock  # locked after `finish`, before committing
        self.locked = threading.Event()
        self.finish = threading.Event()
        self.pid: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.pid = backend_pid()
            with transaction.atomic():
                ids = sorted(p.pk for p in self.products)
                list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
                StockReservation.objects.create(
                    product_id=ids[0],
                    order=self.order,
                    quantity=1,
                    expires_at=timezone.now() + timedelta(minutes=30),
                )
                self.locked.set()
                if not self.finish.wait(DEADLINE):
                    raise TimeoutError("never told to finish")
                if self.then_lock is not None:
                    with connection.cursor() as cursor:  # fail rather than hang
                        cursor.execute("SET LOCAL lock_timeout = '5s'")
                    Product.objects.select_for_update().get(pk=self.then_lock.pk)
                if not self.commit:
                    transaction.set_rollback(True)
        except BaseException as exc:  # asserted on by the test
            self.error = exc
        finally:
            self.locked.set()
            connection.close()


class Call(threading.Thread):
    """`function()` in a thread of its own, with its own database connection."""

    def __init__(self, function: Callable[[], object]):
        super().__init__(daemon=True)
        self.function = function
        self.pid: int | None = None
        self.result: object = None
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            self.pid = backend_pid()
            self.connected.set()
            self.result = self.function()
        except BaseException as exc:  # asserted on by the test
            self.result = exc
        finally:
            self.connected.set()
            connection.close()


def wait_until_blocked(call: Call, by: "OtherCheckout | PaymentInProgress") -> None:
    """Return once PostgreSQL reports `call` waiting for a lock that `by` holds; fail if
    `call` finishes first (it did not wait) or the deadline passes."""
    assert call.connected.wait(DEADLINE)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Any backend `by` blocks, not only `call.pid`: a Stripe call gives the
            # thread's connection back to the pool (checkout.resilience), so the step
            # after it may run on another pooled connection.
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                [by.pid],
            )
            if cursor.fetchone()[0]:
                return
        if not call.is_alive():
            pytest.fail(f"did not wait for the other transaction's row lock: {call.result!r}")
        time.sleep(0.01)
    pytest.fail("still not waiting for the other transaction's row lock")


def finish(other: "OtherCheckout | PaymentInProgress", call: Call) -> None:
    other.finish.set()
    other.join(DEADLINE)
    call.join(DEADLINE)
    assert not other.is_alive() and not call.is_alive()
    assert other.error is None, other.error


# --- Waiting for the lock, and seeing what the lock holder did ----------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("other_commits", [True, False], ids=["commit", "rollback"])
def test_checkout_start_waits_for_a_locked_product_then_counts_the_hold_made_under_that_lock(
    stripe, other_commits
):
    lamp = ProductFactory(name="Brass lamp", stock_on_hand=1)
    other = OtherCheckout([lamp], OrderFactory(), commit=other_commits)
    other.start()
    assert other.locked.wait(DEADLINE) and other.error is None
    shopper = UserFactory()
    call = Call(lambda: checkout_start(user=shopper, items={lamp.pk: 1}, base_url=BASE_URL))
    call.start()

    wait_until_blocked(call, by=other)
    finish(other, call)

    holds = StockReservation.objects.filter(product=lamp, status="active")
    if other_commits:
        assert isinstance(call.result, InsufficientStock), call.result
        assert call.result.problems == {lamp.pk: "Sold out."}
        assert not Order.objects.filter(user=shopper).exists()
        assert list(holds.values_list("order_id", flat=True)) == [other.order.pk]
    else:  # the other checkout gave up: the unit is this shopper's
        assert isinstance(call.result, Order), call.result
        assert list(holds.values_list("order_id", flat=True)) == [call.result.pk]


@pytest.mark.django_db(transaction=True)
def test_a_payment_waits_for_a_locked_product_then_counts_the_hold_made_under_that_lock(stripe):
    """A payment whose hold lapsed meets a checkout that holds the product row and is
    taking the last unit: the payment waits, sees that hold, and is refunded."""
    lamp = ProductFactory(name="Brass lamp", stock_on_hand=1)
    late = checkout_start(user=UserFactory(), items={lamp.pk: 1}, base_url=BASE_URL)
    late.reservations.update(expires_at=timezone.now() - timedelta(minutes=1))
    stripe.pay(late.stripe_session_id)
    other = OtherCheckout([lamp], OrderFactory())
    other.start()
    assert other.locked.wait(DEADLINE) and other.error is None
    call = Call(lambda: order_fulfil(session_id=late.stripe_session_id).status)
    call.start()

    wait_until_blocked(call, by=other)
    finish(other, call)

    assert call.result == Order.Status.REFUNDING
    assert Product.objects.get(pk=lamp.pk).stock_on_hand == 1
    assert StockReservation.objects.get(order=other.order).status == "active"


@pytest.mark.django_db(transaction=True)
def test_a_checkout_waiting_for_one_product_holds_no_lock_on_the_others(stripe):
    """Locks are taken by id, all in one statement: a checkout of two products that
    waits for the first holds nothing, so a transaction holding the first can go on to
    lock the second (a payment does exactly that). Locked in another order, or one at a
    time in cart order, the two would deadlock."""
    first = ProductFactory(name="Zinc tray", stock_on_hand=5)  # lower id, later name
    second = ProductFactory(name="Ash bowl", stock_on_hand=5)
    other = OtherCheckout([first], OrderFactory(), then_lock=second)
    other.start()
    assert other.locked.wait(DEADLINE) and other.error is None
    items = {second.pk: 1, first.pk: 1}  # the cart lists the second product first
    call = Call(lambda: checkout_start(user=UserFactory(), items=items, base_url=BASE_URL))
    call.start()

    wait_until_blocked(call, by=other)
    finish(other, call)  # the other transaction locks `second` too, then commits

    assert isinstance(call.result, Order), call.result
    assert sorted(call.result.reservations.values_list("product_id", flat=True)) == sorted(items)


# --- The locking statement itself ---------------------------------------------------------


def locking_statements(queries: list[dict], table: str) -> list[int]:
    return [
        index
        for index, query in enumerate(queries)
        if query["sql"].endswith("FOR UPDATE") and f'FROM "{table}"' in query["sql"]
    ]


def hold_sums(queries: list[dict]) -> list[int]:
    return [
        index
        for index, query in enumerate(queries)
        if 'FROM "checkout_stockreservation"' in query["sql"] and "SUM(" in query["sql"]
    ]


@pytest.mark.django_db
def test_checkout_start_locks_its_products_in_one_statement_by_id_before_summing_holds(stripe):
    first = ProductFactory(name="Zinc tray", stock_on_hand=5)
    second = ProductFactory(name="Ash bowl", stock_on_hand=5)

    with CaptureQueriesContext(connection) as captured:
        checkout_start(user=UserFactory(), items={second.pk: 1, first.pk: 2}, base_url=BASE_URL)

    queries = captured.captured_queries
    locks = locking_statements(queries, "catalog_product")
    assert len(locks) == 1, [queries[i]["sql"] for i in locks]
    sql = queries[locks[0]]["sql"]
    assert re.search(r'ORDER BY "catalog_product"\."id" ASC FOR UPDATE$', sql), sql
    assert re.search(rf"IN \(({first.pk}, {second.pk}|{second.pk}, {first.pk})\)", sql), sql
    # Holds may be summed before the lock too, to refuse a clearly sold-out cart without
    # waiting (start._products_unlocked); what grants the hold is a sum under the lock.
    sums = hold_sums(queries)
    assert any(index > locks[0] for index in sums), "holds were not summed under the lock"


@pytest.mark.django_db
def test_a_payment_locks_the_order_then_its_products_by_id_before_summing_holds(stripe):
    first = ProductFactory(name="Zinc tray", stock_on_hand=5)
    second = ProductFactory(name="Ash bowl", stock_on_hand=5)
    order = checkout_start(user=UserFactory(), items={second.pk: 1, first.pk: 2}, base_url=BASE_URL)
    stripe.pay(order.stripe_session_id)

    with CaptureQueriesContext(connection) as captured:
        assert order_fulfil(session_id=order.stripe_session_id).status == Order.Status.PAID

    queries = captured.captured_queries
    order_locks = locking_statements(queries, "checkout_order")
    product_locks = locking_statements(queries, "catalog_product")
    assert len(order_locks) == 1 and len(product_locks) == 1
    assert order_locks[0] < product_locks[0]
    sql = queries[product_locks[0]]["sql"]
    assert re.search(r'ORDER BY "catalog_product"\."id" ASC FOR UPDATE$', sql), sql
    sums = hold_sums(queries)
    assert sums and min(sums) > product_locks[0]


# --- The order row: a cancel or a delayed-payment step waits for a payment ---------------


class PaymentInProgress(threading.Thread):
    """A payment confirmation caught mid-flight: it holds `order`'s row lock and has
    marked it paid, uncommitted; it commits when told to."""

    def __init__(self, order: Order):
        super().__init__(daemon=True)
        self.order = order
        self.locked = threading.Event()
        self.finish = threading.Event()
        self.pid: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.pid = backend_pid()
            with transaction.atomic():
                order = Order.objects.select_for_update().get(pk=self.order.pk)
                order.status, order.paid_at = Order.Status.PAID, timezone.now()
                order.save()
                self.locked.set()
                if not self.finish.wait(DEADLINE):
                    raise TimeoutError("never told to finish")
        except BaseException as exc:  # asserted on by the test
            self.error = exc
        finally:
            self.locked.set()
            connection.close()


def processing(order: Order) -> Order:
    # Stripe's session as a delayed payment method leaves it: complete, not yet paid.
    session = dataclasses.replace(
        gateway.session_retrieve(session_id=order.stripe_session_id),
        status="complete",
        payment_status="unpaid",
    )
    return order_mark_processing(order_id=order.pk, session=session)


def cancel(order: Order) -> Order:
    return order_cancel(order_id=order.pk, reason="The checkout expired")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", [cancel, processing], ids=["cancel", "processing"])
def test_a_late_step_waits_for_the_payment_holding_the_order_and_then_changes_nothing(stripe, step):
    """An expired session or a delayed-payment notice arriving while the payment is
    being confirmed waits for the order's row lock, then finds the order paid and leaves
    it so: it never overwrites the payment with a status read before it."""
    lamp = ProductFactory(stock_on_hand=1)
    order = checkout_start(user=UserFactory(), items={lamp.pk: 1}, base_url=BASE_URL)
    payment = PaymentInProgress(order)
    payment.start()
    assert payment.locked.wait(DEADLINE) and payment.error is None
    call = Call(lambda: step(order).status)
    call.start()

    wait_until_blocked(call, by=payment)
    finish(payment, call)

    assert call.result == Order.Status.PAID
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.canceled_at is None and order.processing_at is None


@pytest.mark.django_db(transaction=True)
def test_stripes_refund_confirmation_locks_the_order_in_a_transaction_of_its_own(
    checkout, stripe, client
):
    """charge.refunded takes the order's row lock; on PostgreSQL that needs the
    service's own transaction (a test wrapped in one would hide its absence)."""
    order = checkout()
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    refund = stripe.http.post(
        f"{stripe.base_url}/v1/refunds", data={"payment_intent": order.stripe_payment_intent_id}
    )
    assert refund.status_code == 200, refund.text

    responses = stripe.deliver_new(client)

    assert {r.status_code for r in responses} == {200}
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


@pytest.mark.django_db(transaction=True)
def test_a_staff_refund_locks_the_order_in_a_transaction_of_its_own(checkout, stripe, client):
    """Starting a refund takes the order's row lock; on PostgreSQL that needs the
    service's own transaction (a test wrapped in one would hide its absence)."""
    order = checkout()
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)

    assert refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDING
    assert order.stripe_refund_id.startswith("re_")
