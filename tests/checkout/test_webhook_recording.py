"""How the webhook records what it applies: the event of a settled session is recorded
as processed in the transaction that applies it, so the mark and the effects commit
together or not at all; a storm of such events stays within a statement budget, and a
duplicate costs one statement. Runs on SQLite and PostgreSQL (transaction=True: no test
transaction around the code, so its own BEGIN, COMMIT and SAVEPOINTs are all seen)."""

import dataclasses

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.models import Product, StockMovement
from checkout import gateway
from checkout.exceptions import UnknownOrder
from checkout.factories import CartFactory, CartItemFactory
from checkout.models import CartItem, Order, OrderNotification, StripeEvent
from checkout.services import transitions
from checkout.services.start import checkout_start

pytestmark = pytest.mark.django_db(transaction=True)

# One new paid event, one order line bought from the cart, two emails (shopper and
# staff), BEGIN and COMMIT included. It took 22 before the event was recorded in the
# transaction that applies it (a SELECT, an INSERT and a last UPDATE of the event, each
# outside it; a read of the order before locking it; a look for each email first).
NEW_PAID_EVENT_BUDGET = 17


@pytest.fixture
def paid(stripe, settings):
    """An order of one cart line, paid at Stripe; returns it and its completed event."""
    settings.ORDER_ALERT_EMAILS = ["orders@example.com"]
    product = ProductFactory(stock_on_hand=50, unit_amount=1200)
    user = UserFactory()
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)
    order = checkout_start(user=user, items={product.pk: 2}, base_url="http://testserver")
    assert stripe.pay(order.stripe_session_id).status_code == 200
    event = next(
        event
        for event in stripe.events("checkout.session.completed")
        if event["data"]["object"]["id"] == order.stripe_session_id
    )
    return order, event


def statements(queries) -> str:
    return "\n".join(query["sql"][:120] for query in queries)


def test_a_new_paid_event_is_applied_within_its_statement_budget(paid, stripe):
    order, event = paid

    with CaptureQueriesContext(connection) as captured:
        assert stripe.post_event(Client(), event).status_code == 200

    queries = captured.captured_queries
    assert len(queries) <= NEW_PAID_EVENT_BUDGET, statements(queries)
    assert not any("SAVEPOINT" in query["sql"] for query in queries), statements(queries)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.notifications.count() == 2


def test_a_duplicate_of_a_processed_event_costs_one_statement_and_changes_nothing(
    paid, stripe, monkeypatch
):
    order, event = paid
    assert stripe.post_event(Client(), event).status_code == 200
    recorded = StripeEvent.objects.get(stripe_id=event["id"])
    monkeypatch.setattr(gateway, "session_retrieve", None)  # asking Stripe would fail

    with CaptureQueriesContext(connection) as captured:
        assert stripe.post_event(Client(), event).status_code == 200

    assert len(captured.captured_queries) == 1, statements(captured.captured_queries)
    again = StripeEvent.objects.get(stripe_id=event["id"])
    assert (again.processed_at, again.attempts) == (recorded.processed_at, 1)
    assert StockMovement.objects.filter(order_id=order.pk).count() == 1


def test_the_event_is_marked_processed_in_the_transaction_of_its_effects(paid, stripe, monkeypatch):
    """A failure after the sale was written takes the sale and the mark back together:
    the event is kept unprocessed with its error, and the retry applies it once."""
    order, event = paid
    product = Product.objects.get(pk=order.lines.get().product_id)

    def emails_fail(**kwargs):
        # Inside the transaction: the stock is sold and the event already reads processed.
        assert StripeEvent.objects.get(stripe_id=event["id"]).processed_at is not None
        assert Product.objects.get(pk=product.pk).stock_on_hand == 48
        raise RuntimeError("the task queue is down")

    monkeypatch.setattr(transitions, "notifications_queue_once", emails_fail)
    assert stripe.post_event(Client(), event).status_code == 500

    recorded = StripeEvent.objects.get(stripe_id=event["id"])
    assert recorded.processed_at is None and recorded.attempts == 1
    assert recorded.error == "RuntimeError: the task queue is down"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert Product.objects.get(pk=product.pk).stock_on_hand == 50
    assert not StockMovement.objects.filter(order_id=order.pk).exists()
    assert CartItem.objects.filter(cart__user_id=order.user_id).exists()

    monkeypatch.undo()
    assert stripe.post_event(Client(), event).status_code == 200

    recorded.refresh_from_db()
    assert recorded.processed_at is not None and recorded.attempts == 2
    assert recorded.error == ""
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=product.pk).stock_on_hand == 48
    assert StockMovement.objects.filter(order_id=order.pk).count() == 1
    assert not CartItem.objects.filter(cart__user_id=order.user_id).exists()
    assert sorted(order.notifications.values_list("kind", flat=True)) == sorted(
        [OrderNotification.Kind.CONFIRMED, OrderNotification.Kind.STAFF_NEW_ORDER]
    )


def test_a_payment_joins_its_callers_transaction_without_a_savepoint(paid):
    order, _event = paid
    session = gateway.session_retrieve(session_id=order.stripe_session_id)

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        transitions.order_mark_paid(order_id=order.pk, session=session)

    assert not any("SAVEPOINT" in query["sql"] for query in captured.captured_queries)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_a_session_of_another_order_is_refused_under_the_lock_and_the_caller_carries_on(paid):
    """UnknownOrder is raised once the payment's block is left: nothing changed, and a
    caller's transaction that catches it can go on using the database."""
    order, _event = paid
    other = checkout_start(
        user=UserFactory(), items={order.lines.get().product_id: 1}, base_url="http://testserver"
    )
    session = gateway.session_retrieve(session_id=order.stripe_session_id)
    crossed = dataclasses.replace(session, client_reference_id=str(other.pk), metadata={})

    with transaction.atomic():
        with pytest.raises(UnknownOrder, match="is not the session of order"):
            transitions.order_sync_from_session(session=crossed)
        with pytest.raises(UnknownOrder, match="names no order"):
            transitions.order_mark_paid(order_id=other.pk + 1000, session=session)
        assert Order.objects.filter(status=Order.Status.PENDING).count() == 2

    other.refresh_from_db()
    assert other.status == Order.Status.PENDING and other.paid_at is None
