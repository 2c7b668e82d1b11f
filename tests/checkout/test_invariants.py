"""The guards that keep the books, each held by a test that fails when it goes.

Every test here runs on SQLite and on PostgreSQL. Each names the guard it holds: a
mutation audit found these guards could be removed without any test noticing.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.factories import UserFactory
from catalog.factories import ProductFactory
from catalog.inventory import inventory_check
from catalog.models import Product, StockMovement, StockReservation
from checkout import gateway
from checkout.exceptions import InsufficientStock
from checkout.factories import OrderFactory, StockReservationFactory
from checkout.models import Order, StripeEvent
from checkout.services import refunds
from checkout.services.start import checkout_start
from checkout.services.sweeper import checkouts_sweep

pytestmark = pytest.mark.django_db

S = Order.Status
BASE_URL = "http://testserver"


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock_on_hand


def hold_lapse(order: Order) -> None:
    """The shopper left Stripe's page open past the hold; no sweeper has run since."""
    order.reservations.update(expires_at=timezone.now() - timedelta(minutes=1))


def paid_order(checkout, stripe, client) -> Order:
    order = checkout()
    assert stripe.pay(order.stripe_session_id).status_code == 200
    assert [r.status_code for r in stripe.deliver_new(client)] == [200]
    order.refresh_from_db()
    assert order.status == S.PAID
    return order


class Calls:
    """Counts the calls of a function it wraps, and passes them on."""

    def __init__(self, function):
        self.function = function
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self.function(*args, **kwargs)


# --- The amount check: amount AND currency ------------------------------------------------
# transitions._amount_matches compares the currency as well as the amount.


def test_the_same_amount_in_another_currency_is_flagged_for_review_and_not_fulfilled(
    checkout, stripe, client, mug, apron
):
    order = checkout()
    assert order.currency == "eur"
    stripe.pay(order.stripe_session_id)
    # Stripe reports the order's amount, in US dollars: its session, read back by the
    # shop, and the event alike.
    with stripe.emulator.store.lock:
        stripe.emulator.store.state["sessions"][order.stripe_session_id]["currency"] = "usd"
    event = stripe.events("checkout.session.completed")[0]
    event["data"]["object"]["currency"] = "usd"

    assert stripe.post_event(client, event).status_code == 200

    order.refresh_from_db()
    assert stripe.session(order.stripe_session_id)["amount_total"] == order.amount_total
    assert order.status == S.PENDING
    assert order.paid_at is None
    assert order.needs_review
    assert "USD" in order.review_reason and "EUR" in order.review_reason
    assert (stock(mug), stock(apron)) == (5, 3)
    assert set(order.reservations.values_list("status", flat=True)) == {"active"}
    assert not StockMovement.objects.filter(order=order).exists()


# --- Expired holds count for nothing ------------------------------------------------------
# start._order_create_with_holds sums only holds that are active AND unexpired.


def test_a_lapsed_hold_does_not_block_the_next_shoppers_checkout(stripe):
    product = ProductFactory(stock_on_hand=1)
    first = checkout_start(user=UserFactory(), items={product.pk: 1}, base_url=BASE_URL)
    hold_lapse(first)  # still "active": correctness must not wait for the sweeper

    second = checkout_start(user=UserFactory(), items={product.pk: 1}, base_url=BASE_URL)

    assert second.status == S.PENDING
    assert second.reservations.get().status == StockReservation.Status.ACTIVE


def test_a_live_hold_still_blocks_the_next_shoppers_checkout(stripe):
    """The other side of the test above: an unexpired hold of another shopper counts."""
    product = ProductFactory(stock_on_hand=1)
    checkout_start(user=UserFactory(), items={product.pk: 1}, base_url=BASE_URL)

    with pytest.raises(InsufficientStock) as refused:
        checkout_start(user=UserFactory(), items={product.pk: 1}, base_url=BASE_URL)

    assert refused.value.problems == {product.pk: "Sold out."}
    assert Order.objects.count() == 1


def test_holds_that_lapsed_or_were_released_leave_the_units_available(stripe):
    product = ProductFactory(stock_on_hand=3)
    StockReservationFactory(
        product=product, quantity=1, expires_at=timezone.now() - timedelta(seconds=1)
    )
    StockReservationFactory(product=product, quantity=1, status="released")
    StockReservationFactory(product=product, quantity=1, status="consumed")
    StockReservationFactory(product=product, quantity=1)  # the one live hold

    order = checkout_start(user=UserFactory(), items={product.pk: 2}, base_url=BASE_URL)

    assert order.status == S.PENDING
    assert Product.objects.with_availability().get(pk=product.pk).available == 0


# --- A processed event is applied once ----------------------------------------------------
# events.stripe_event_process returns early for an event already processed.


def test_a_second_delivery_of_a_processed_event_is_not_applied_again(
    checkout, stripe, client, mug, monkeypatch
):
    order = paid_order(checkout, stripe, client)
    event = stripe.events("checkout.session.completed")[0]
    recorded = StripeEvent.objects.get(stripe_id=event["id"])
    retrievals = Calls(gateway.session_retrieve)
    monkeypatch.setattr(gateway, "session_retrieve", retrievals)

    for _ in range(3):
        assert stripe.post_event(client, event).status_code == 200

    again = StripeEvent.objects.get(stripe_id=event["id"])
    assert again.attempts == 1
    assert again.processed_at == recorded.processed_at
    assert retrievals.count == 0  # not even Stripe is asked again
    order.refresh_from_db()
    assert order.status == S.PAID
    assert stock(mug) == 3


def test_a_redelivered_partial_refund_does_not_reopen_a_review_staff_closed(
    checkout, stripe, client
):
    order = paid_order(checkout, stripe, client)
    # Someone refunds part of the payment in Stripe's dashboard.
    partial = stripe.http.post(
        f"{stripe.base_url}/v1/refunds",
        data={"payment_intent": order.stripe_payment_intent_id, "amount": 100},
    )
    assert partial.status_code == 200, partial.text
    refunded = stripe.events("charge.refunded")[0]
    assert stripe.post_event(client, refunded).status_code == 200
    order.refresh_from_db()
    assert order.needs_review and order.status == S.PAID
    # Staff settle it with the shopper and close the review.
    Order.objects.filter(pk=order.pk).update(needs_review=False, review_reason="")

    assert stripe.post_event(client, refunded).status_code == 200  # Stripe delivers it again

    order.refresh_from_db()
    assert not order.needs_review
    assert order.review_reason == ""
    assert StripeEvent.objects.get(stripe_id=refunded["id"]).attempts == 1


# --- Refunds: one refund per order, asked for once ----------------------------------------
# refunds.order_refund_request: one idempotency key per order; nothing asked once Stripe
# gave a refund id. refunds.order_refund_start: only a paid order can start a refund.


def test_a_refund_whose_answer_was_lost_is_retried_into_the_same_refund(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    # Stripe makes the refund, but every answer is lost on the way back (the SDK's own
    # retries included): the shop does not know the refund id.
    stripe.control("POST", "api_faults", {"paths": ["/v1/refunds"], "drop_next": 3})
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    order.refresh_from_db()
    assert order.status == S.REFUNDING and order.stripe_refund_id == ""
    assert len(stripe.events("refund.created")) == 1
    stripe.control("DELETE", "api_faults")

    # The sweeper asks again a minute later, with the same key: Stripe answers with the
    # refund it already made.
    summary = checkouts_sweep(now=timezone.now() + timedelta(minutes=5))

    assert summary.refunds_retried == 1
    order.refresh_from_db()
    made = stripe.events("refund.created")
    assert len(made) == 1
    assert order.stripe_refund_id == made[0]["data"]["object"]["id"]
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == S.REFUNDED


def test_a_refund_stripe_acknowledged_is_never_asked_for_again(
    checkout, stripe, client, monkeypatch, django_capture_on_commit_callbacks
):
    """Stripe forgets an idempotency key after 24 hours: past that, asking again with
    the same key would be a new request. So once the refund id is stored, Stripe is not
    asked again, whoever calls."""
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    order.refresh_from_db()
    refund_id = order.stripe_refund_id
    assert refund_id.startswith("re_")
    creates = Calls(gateway.refund_create)
    monkeypatch.setattr(gateway, "refund_create", creates)

    refunds.order_refund_request(order_id=order.pk)
    checkouts_sweep(now=timezone.now() + timedelta(minutes=5))

    assert creates.count == 0
    order.refresh_from_db()
    assert order.stripe_refund_id == refund_id
    assert len(stripe.events("refund.created")) == 1


def test_a_refunded_order_cannot_start_another_refund(
    checkout, stripe, client, mug, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds.order_refund_start(order_id=order.pk, restock=True, reason="damaged")
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == S.REFUNDED and stock(mug) == 5

    with django_capture_on_commit_callbacks(execute=True):
        accepted = refunds.order_refund_start(order_id=order.pk, restock=True, reason="again")
    stripe.deliver_new(client)
    checkouts_sweep(now=timezone.now() + timedelta(minutes=5))

    assert accepted is False
    order.refresh_from_db()
    assert order.status == S.REFUNDED  # not "refunding", waiting for a refund that never comes
    assert order.refund_reason == "damaged"
    assert stock(mug) == 5  # restocked once
    assert len(stripe.events("refund.created")) == 1


def test_a_refunding_order_cannot_start_another_refund(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    staff = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds.order_refund_start(
            order_id=order.pk, restock=False, reason="damaged", staff=staff
        )
    order.refresh_from_db()
    first_started = order.refunding_at

    accepted = refunds.order_refund_start(
        order_id=order.pk, restock=True, reason="changed my mind", staff=UserFactory()
    )

    assert accepted is False
    order.refresh_from_db()
    assert order.status == S.REFUNDING
    assert (order.refund_reason, order.restock_on_refund) == ("damaged", False)
    assert order.refund_requested_by == staff
    assert order.refunding_at == first_started


# --- Fulfilment respects other shoppers' live holds ---------------------------------------
# transitions._lines_short_of_stock subtracts the live holds of OTHER orders only.


def test_a_payment_after_the_hold_lapsed_does_not_take_the_unit_another_shopper_holds(
    stripe, client, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(name="Brass lamp", stock_on_hand=1)
    first = checkout_start(user=UserFactory(), items={lamp.pk: 1}, base_url=BASE_URL)
    hold_lapse(first)
    second = checkout_start(user=UserFactory(), items={lamp.pk: 1}, base_url=BASE_URL)
    stripe.pay(first.stripe_session_id)  # the first shopper pays late

    with django_capture_on_commit_callbacks(execute=True):
        assert [r.status_code for r in stripe.deliver_new(client)] == [200]

    first.refresh_from_db()
    assert first.status == S.REFUNDING
    assert first.refund_reason.endswith("Brass lamp")
    assert first.stripe_refund_id.startswith("re_")
    assert set(first.reservations.values_list("status", flat=True)) == {"released"}
    assert stock(lamp) == 1
    assert second.reservations.get().status == StockReservation.Status.ACTIVE
    assert Product.objects.with_availability().get(pk=lamp.pk).available == 0

    stripe.deliver_new(client)  # Stripe confirms the refund
    stripe.pay(second.stripe_session_id)
    stripe.deliver_new(client)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.REFUNDED, S.PAID)
    assert second.reservations.get().status == StockReservation.Status.CONSUMED
    assert stock(lamp) == 0
    sales = StockMovement.objects.filter(product=lamp, reason=StockMovement.Reason.SALE)
    assert list(sales.values_list("order_id", "delta")) == [(second.pk, -1)]
    assert inventory_check().mismatches == []


def test_a_payment_counts_its_own_live_hold_as_its_own(stripe, client):
    """The last unit, held by this very order: the payment takes it (its own hold is
    not someone else's)."""
    lamp = ProductFactory(stock_on_hand=1)
    order = checkout_start(user=UserFactory(), items={lamp.pk: 1}, base_url=BASE_URL)
    OrderFactory(user=UserFactory())  # another shopper's order, holding nothing
    stripe.pay(order.stripe_session_id)

    stripe.deliver_new(client)

    order.refresh_from_db()
    assert order.status == S.PAID
    assert stock(lamp) == 0


# --- What Stripe took is recorded against the order --------------------------------------
# transitions._record_stripe_fields keeps a session id the order lacked.


def test_a_paid_session_whose_id_the_order_never_stored_is_recorded_on_the_order(
    checkout, stripe, client, mug
):
    """The session was made, but the shop crashed before saving its id: the webhook
    finds the order through client_reference_id, fulfils it and records the session,
    so reconciling with Stripe finds both."""
    order = checkout()
    session_id = order.stripe_session_id
    Order.objects.filter(pk=order.pk).update(stripe_session_id=None)
    stripe.pay(session_id)

    assert [r.status_code for r in stripe.deliver_new(client)] == [200]

    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.stripe_session_id == session_id
    assert stock(mug) == 3


def test_a_refund_with_no_payment_reference_is_flagged_for_a_person(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    """Money was taken but the shop lost the payment's reference: it cannot ask Stripe
    for the refund, so a person is told rather than the money silently kept."""
    order = paid_order(checkout, stripe, client)
    Order.objects.filter(pk=order.pk).update(stripe_payment_intent_id="")

    with django_capture_on_commit_callbacks(execute=True):
        assert refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")

    order.refresh_from_db()
    assert order.status == S.REFUNDING
    assert order.needs_review
    assert "no payment reference" in order.review_reason
    assert stripe.events("refund.created") == []


# --- A refund Stripe could not make reaches a person -------------------------------------


def refund_failed_event(refund: dict) -> dict:
    return {
        "id": f"evt_{refund['id']}_failed",
        "object": "event",
        "type": "refund.failed",
        "data": {"object": refund},
    }


def test_a_refund_stripe_reports_failed_flags_the_order_for_a_person(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    order.refresh_from_db()
    with stripe.emulator.store.lock:  # the bank sends the money back: the refund failed
        refund = stripe.emulator.store.state["refunds"][order.stripe_refund_id]
        refund["status"] = "failed"
        failed = dict(refund)

    assert stripe.post_event(client, refund_failed_event(failed)).status_code == 200

    order.refresh_from_db()
    assert order.needs_review
    assert order.stripe_refund_id in order.review_reason


def test_a_refund_failure_for_a_payment_the_shop_does_not_know_is_recorded_as_ignored(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    order.refresh_from_db()
    Order.objects.filter(pk=order.pk).update(stripe_payment_intent_id="pi_somebody_else")
    with stripe.emulator.store.lock:
        refund = stripe.emulator.store.state["refunds"][order.stripe_refund_id]
        refund["status"] = "failed"
        refund["metadata"] = {}
        failed = dict(refund)

    assert stripe.post_event(client, refund_failed_event(failed)).status_code == 200

    recorded = StripeEvent.objects.get(stripe_id=f"evt_{failed['id']}_failed")
    assert recorded.error.startswith("ignored:")
    assert not Order.objects.filter(needs_review=True).exists()


def test_a_refund_update_that_is_not_a_failure_changes_nothing(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    order.refresh_from_db()
    with stripe.emulator.store.lock:
        succeeded = dict(stripe.emulator.store.state["refunds"][order.stripe_refund_id])
    assert succeeded["status"] == "succeeded"
    updated = dict(refund_failed_event(succeeded), type="refund.updated", id="evt_refund_ok")

    assert stripe.post_event(client, updated).status_code == 200

    order.refresh_from_db()
    assert not order.needs_review


def test_a_refund_failure_that_names_no_payment_is_recorded_as_ignored(
    checkout, stripe, client, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(order_id=order.pk, restock=False, reason="damaged")
    order.refresh_from_db()
    with stripe.emulator.store.lock:
        refund = stripe.emulator.store.state["refunds"][order.stripe_refund_id]
        refund.update(status="failed", payment_intent=None, metadata={})
        failed = dict(refund)

    assert stripe.post_event(client, refund_failed_event(failed)).status_code == 200

    recorded = StripeEvent.objects.get(stripe_id=f"evt_{failed['id']}_failed")
    assert recorded.error.startswith("ignored:")
    assert not Order.objects.filter(needs_review=True).exists()
