"""manage.py sweep_checkouts: settling what webhooks and shoppers left open."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Product, StockReservation
from checkout.factories import OrderFactory, StockReservationFactory
from checkout.models import Order
from checkout.services.refunds import order_refund_request
from tests.stock import stock_set

pytestmark = pytest.mark.django_db


def sweep() -> str:
    out = StringIO()
    call_command("sweep_checkouts", stdout=out)
    return out.getvalue()


def age(order: Order, minutes: int) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def lapse(order: Order) -> None:
    """The order's checkout expired a minute ago."""
    Order.objects.filter(pk=order.pk).update(
        checkout_expires_at=timezone.now() - timedelta(minutes=1)
    )


def test_lapsed_checkout_is_expired_at_stripe_and_canceled(checkout, stripe, mug):
    order = checkout()
    lapse(order)
    output = sweep()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert stripe.session(order.stripe_session_id)["status"] == "expired"
    assert "1 lapsed checkouts closed" in output
    assert Product.objects.with_availability().get(pk=mug.pk).available == 5


def test_paid_order_whose_webhook_never_came_is_reconciled(checkout, stripe, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    age(order, 10)
    output = sweep()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 3
    assert "1 orders reconciled" in output


def test_recent_open_checkout_is_left_alone(checkout, stripe):
    order = checkout()
    sweep()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert stripe.session(order.stripe_session_id)["status"] == "open"


def test_sweeping_twice_changes_nothing_more(checkout, stripe, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    age(order, 10)
    sweep()
    Order.objects.filter(pk=order.pk).update(sweep_lease_until=None)
    second = sweep()
    assert "0 orders reconciled" in second
    assert Product.objects.get(pk=mug.pk).stock_on_hand == 3


def test_failed_refund_request_is_retried_with_the_same_key(checkout, stripe, client, apron):
    order = checkout()
    order.reservations.update(expires_at=timezone.now() - timedelta(minutes=1))
    stock_set(apron, 0)
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)  # refund requested on commit: not run in this test
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDING and order.stripe_refund_id == ""
    Order.objects.filter(pk=order.pk).update(refunding_at=timezone.now() - timedelta(minutes=5))

    output = sweep()

    order.refresh_from_db()
    assert order.stripe_refund_id.startswith("re_")
    assert "1 refunds retried" in output
    Order.objects.filter(pk=order.pk).update(sweep_lease_until=None)
    order_refund_request(order_id=order.pk)
    assert len(stripe.events("refund.created")) == 1


def test_stale_holds_are_released(db):
    lapsed = StockReservationFactory(expires_at=timezone.now() - timedelta(minutes=5))
    current = StockReservationFactory()
    output = sweep()
    lapsed.refresh_from_db()
    current.refresh_from_db()
    assert lapsed.status == StockReservation.Status.RELEASED
    assert current.status == StockReservation.Status.ACTIVE
    assert "1 stale holds released" in output


def test_order_whose_session_was_never_stored_is_canceled(db, stripe):
    order = OrderFactory(amount_total=100)
    StockReservationFactory(order=order)
    age(order, 10)
    sweep()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}


def test_sweeper_skips_an_order_another_sweeper_holds(checkout, stripe):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    age(order, 10)
    Order.objects.filter(pk=order.pk).update(
        sweep_lease_until=timezone.now() + timedelta(minutes=1)
    )
    sweep()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_sweeper_survives_stripe_being_down(checkout, stripe, settings):
    order = checkout()
    age(order, 10)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    output = sweep()
    assert "1 errors" in output
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_while_stripes_breaker_is_open_orders_are_left_for_the_next_run(
    checkout, stripe, mug, monkeypatch
):
    from checkout import resilience

    order = checkout()
    lapse(order)
    breaker_open = True
    monkeypatch.setattr(resilience, "available", lambda: not breaker_open)

    output = sweep()

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.sweep_lease_until is None  # not leased: another sweeper may take it
    assert "0 errors, 1 left while Stripe is unavailable" in output

    breaker_open = False
    assert "1 lapsed checkouts closed" in sweep()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED


def test_while_the_breaker_is_open_a_refund_that_needs_no_stripe_still_completes(
    monkeypatch,
):
    """An order with nothing paid (a 100 % discount) is refunded without Stripe."""
    from checkout import resilience

    order = OrderFactory(status=Order.Status.REFUNDING, stripe_payment_intent_id="")
    Order.objects.filter(pk=order.pk).update(refunding_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.setattr(resilience, "available", lambda: False)

    output = sweep()

    order.refresh_from_db()
    assert "1 refunds retried" in output
    assert "left while Stripe is unavailable" not in output
    assert order.status == Order.Status.REFUNDED


def test_one_order_that_fails_unexpectedly_does_not_stop_the_sweep(
    checkout, stripe, mug, monkeypatch
):
    from checkout.services import sweeper

    broken = checkout()
    lapse(broken)
    real_sync = sweeper.order_sync_from_session
    calls = []

    def sync(*, session):
        calls.append(session.id)
        if len(calls) == 1:
            raise RuntimeError("a bug in one order")
        return real_sync(session=session)

    monkeypatch.setattr(sweeper, "order_sync_from_session", sync)
    lapsed = StockReservationFactory(
        product=mug, quantity=1, expires_at=timezone.now() - timedelta(minutes=5)
    )

    output = sweep()

    lapsed.refresh_from_db()
    assert "1 errors" in output
    assert lapsed.status == StockReservation.Status.RELEASED  # the rest of the sweep ran
