"""Payment confirmation: the webhook, the success page and exactly-once fulfilment."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, StockReservation
from checkout.models import CartItem, Order, StripeEvent
from checkout.services import refunds, transitions
from tests.stock import stock_set
from tests.tasks import tasks_run

pytestmark = pytest.mark.django_db


def stock(product) -> int:
    return Product.objects.get(pk=product.pk).stock_on_hand


def paid_order(checkout, stripe, client):
    order = checkout()
    assert stripe.pay(order.stripe_session_id).status_code == 200
    responses = stripe.deliver_new(client)
    assert [r.status_code for r in responses] == [200]
    order.refresh_from_db()
    return order


def test_completed_webhook_marks_paid_and_decrements_stock_once(
    checkout, stripe, client, mug, apron, mailoutbox, django_capture_on_commit_callbacks
):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        responses = stripe.deliver_new(client)

    assert [r.status_code for r in responses] == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.paid_at is not None
    assert order.stripe_payment_intent_id.startswith("pi_")
    assert order.stripe_amount_total == order.amount_total
    assert (stock(mug), stock(apron)) == (3, 2)
    assert set(order.reservations.values_list("status", flat=True)) == {"consumed"}
    assert not CartItem.objects.filter(cart__user=order.user).exists()
    assert mailoutbox == []  # queued with the payment, sent by the worker
    tasks_run()
    assert len(mailoutbox) == 1 and f"Order #{order.pk}" in mailoutbox[0].subject
    event = StripeEvent.objects.get(type="checkout.session.completed")
    assert event.processed_at is not None and event.attempts == 1


def test_second_delivery_of_same_event_changes_nothing(checkout, stripe, client, mug):
    order = paid_order(checkout, stripe, client)
    event = stripe.events("checkout.session.completed")[0]
    for _ in range(3):
        assert stripe.post_event(client, event).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert stock(mug) == 3
    assert StripeEvent.objects.filter(type="checkout.session.completed").count() == 1


def test_success_page_fulfils_when_the_webhook_is_lost(shopper_client, checkout, stripe, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id)

    response = shopper_client.get(
        reverse("checkout:success") + f"?session_id={order.stripe_session_id}"
    )

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert stock(mug) == 3
    assert "Payment confirmed." in response.content.decode()
    # The header counts the cart this page emptied, not the one the shopper came with
    # (checkout.auth reads the shopper with the cart as the request began).
    assert 'aria-label="0 items in cart"' in response.content.decode()
    # The webhook arriving afterwards changes nothing.
    stripe.deliver_new(shopper_client)
    assert stock(mug) == 3


def test_success_page_for_another_users_session_is_404(
    checkout, stripe, client, other_user, shopper_client
):
    order = checkout()
    client.force_login(other_user)
    url = reverse("checkout:success") + f"?session_id={order.stripe_session_id}"
    assert client.get(url).status_code == 404
    assert shopper_client.get(reverse("checkout:success")).status_code == 404
    assert (
        shopper_client.get(reverse("checkout:success") + "?session_id=cs_nope").status_code == 404
    )


def test_success_page_while_stripe_is_unreachable_shows_confirming(
    shopper_client, checkout, stripe, settings
):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    response = shopper_client.get(
        reverse("checkout:success") + f"?session_id={order.stripe_session_id}"
    )
    assert response.status_code == 200
    assert "received confirmation of your payment yet" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_expired_event_before_completed_still_ends_paid(checkout, stripe, client, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    completed = stripe.events("checkout.session.completed")[0]
    expired = dict(completed, id="evt_fake_expired_first", type="checkout.session.expired")
    expired["data"] = {"object": dict(completed["data"]["object"], status="expired")}

    assert stripe.post_event(client, expired).status_code == 200
    assert stripe.post_event(client, completed).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # Stripe's session says complete, not expired
    assert stock(mug) == 3


def test_expired_after_paid_changes_nothing(checkout, stripe, client, mug):
    order = paid_order(checkout, stripe, client)
    transitions.order_cancel(order_id=order.pk, reason="late expiry")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.canceled_at is None
    assert stock(mug) == 3


def test_session_expiry_cancels_the_order_and_releases_the_hold(checkout, stripe, client, mug):
    order = checkout()
    stripe.http.post(f"{stripe.base_url}/v1/checkout/sessions/{order.stripe_session_id}/expire")
    assert [r.status_code for r in stripe.deliver_new(client)] == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    assert stock(mug) == 5


def test_amount_mismatch_flags_the_order_and_fulfils_nothing(checkout, stripe, client, mug):
    order = checkout()
    Order.objects.filter(pk=order.pk).update(amount_total=order.amount_total + 100)
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.needs_review
    assert "not fulfilled" in order.review_reason
    assert stock(mug) == 5


def test_payment_after_the_hold_lapsed_and_stock_sold_is_refunded_once(
    checkout, stripe, client, apron, django_capture_on_commit_callbacks
):
    order = checkout()
    # The hold lapses, and someone else buys the last aprons meanwhile.
    order.reservations.update(expires_at=timezone.now() - timedelta(minutes=1))
    stock_set(apron, 0)
    stripe.pay(order.stripe_session_id)

    with django_capture_on_commit_callbacks(execute=True):
        stripe.deliver_new(client)
        event = stripe.events("checkout.session.completed")[0]
        stripe.post_event(client, event)  # a repeat must not ask for a second refund

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDING
    assert "Linen apron" in order.refund_reason
    assert order.stripe_refund_id.startswith("re_")
    assert len(stripe.events("refund.created")) == 1
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}

    stripe.deliver_new(client)  # charge.refunded, refund.created ...
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_at is not None
    assert stock(apron) == 0


def test_payment_after_the_hold_lapsed_with_stock_left_is_still_fulfilled(
    checkout, stripe, client, mug
):
    order = checkout()
    order.reservations.update(expires_at=timezone.now() - timedelta(minutes=1))
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert stock(mug) == 3


def test_delayed_payment_is_processing_then_paid(checkout, stripe, client, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
    assert stock(mug) == 5
    hold = order.reservations.first()
    assert hold.expires_at > timezone.now() + timedelta(hours=24)  # the hold was extended

    stripe.complete_async(order.stripe_session_id, succeed=True)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert stock(mug) == 3


def test_delayed_payment_that_fails_cancels_and_releases(checkout, stripe, client, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id, card="4000000000000002", delayed=True)
    stripe.deliver_new(client)
    stripe.complete_async(order.stripe_session_id, succeed=False)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.cancel_reason == "The delayed payment failed"
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    assert stock(mug) == 5


def test_completed_after_refunded_stays_refunded(
    checkout, stripe, client, mug, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        assert refunds.order_refund_start(order_id=order.pk, restock=False, reason="test")
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED

    completed = stripe.events("checkout.session.completed")[0]
    late = dict(completed, id="evt_late_redelivery")
    assert stripe.post_event(client, late).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert stock(mug) == 3


def test_staff_refund_with_restock_puts_units_back_once(
    checkout, stripe, client, mug, apron, django_capture_on_commit_callbacks
):
    order = paid_order(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(order_id=order.pk, restock=True, reason="damaged")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDING
    stripe.deliver_new(client)
    refunded = stripe.events("charge.refunded")[0]
    stripe.post_event(client, dict(refunded, id="evt_refunded_again"))

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.stock_restored
    assert (stock(mug), stock(apron)) == (5, 3)


def test_refund_of_an_unpaid_order_is_refused(checkout, stripe):
    order = checkout()
    assert not refunds.order_refund_start(order_id=order.pk, restock=False, reason="x")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_cancel_page_expires_the_session_and_releases_the_hold(
    shopper_client, checkout, stripe, mug
):
    order = checkout()
    response = shopper_client.get(reverse("checkout:cancel") + f"?order={order.pk}")
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout:cart")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert stripe.session(order.stripe_session_id)["status"] == "expired"
    assert Product.objects.with_availability().get(pk=mug.pk).available == 5
    assert CartItem.objects.filter(cart__user=order.user).count() == 2  # the cart is kept


def test_cancel_page_of_a_session_paid_meanwhile_fulfils_it(shopper_client, checkout, stripe):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    response = shopper_client.get(reverse("checkout:cancel") + f"?order={order.pk}")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert response["Location"] == order.get_absolute_url()


def test_cancel_page_for_another_users_order_is_404(checkout, client, other_user):
    order = checkout()
    client.force_login(other_user)
    assert client.get(reverse("checkout:cancel") + f"?order={order.pk}").status_code == 404
    assert client.get(reverse("checkout:cancel") + "?order=abc").status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_a_reservation_cannot_be_consumed_twice_by_direct_calls(checkout, stripe, mug):
    order = checkout()
    stripe.pay(order.stripe_session_id)
    for _ in range(3):
        transitions.order_fulfil(session_id=order.stripe_session_id)
    assert stock(mug) == 3
    assert StockReservation.objects.filter(order=order, status="consumed").count() == 2


def test_cancel_page_while_stripe_is_unreachable_still_releases_the_hold(
    shopper_client, checkout, stripe, settings, mug
):
    order = checkout()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    response = shopper_client.get(reverse("checkout:cancel") + f"?order={order.pk}")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert Product.objects.with_availability().get(pk=mug.pk).available == 5


def test_a_payment_stripe_took_after_the_shop_canceled_is_fulfilled_not_kept(
    checkout, stripe, client, mug, apron, django_capture_on_commit_callbacks
):
    """If the session could not be expired (Stripe unreachable on cancel) and the shopper
    pays anyway, the paid money is matched with goods or refunded: never kept."""
    order = checkout()
    transitions.order_cancel(order_id=order.pk, reason="Canceled by the shopper")
    stripe.pay(order.stripe_session_id)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (stock(mug), stock(apron)) == (3, 2)

    CartItem.objects.create(cart=order.user.cart, product=apron, quantity=1)
    second = checkout()
    assert second.pk != order.pk
    transitions.order_cancel(order_id=second.pk, reason="Canceled by the shopper")
    stock_set(apron, 0)
    stripe.pay(second.stripe_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        stripe.deliver_new(client)
    second.refresh_from_db()
    assert second.status == Order.Status.REFUNDING
    assert second.stripe_refund_id.startswith("re_")
