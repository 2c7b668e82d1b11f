"""Order emails leave through the background worker: queued in the transaction of the
change they report, sent once per order and kind, retried with backoff when the mail
server fails, given up after a bounded number of attempts."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalog.alerts import low_stock_alert_queue
from catalog.factories import ProductFactory
from checkout.models import Order, OrderNotification
from checkout.services import refunds
from checkout.services.notifications import (
    notification_queue,
    notifications_requeue_stale,
    order_notification_send,
)
from tests.tasks import tasks_queued, tasks_run
from theme.emails import MAX_ATTEMPTS, RETRY_DELAYS, email_queue

pytestmark = pytest.mark.django_db

K = OrderNotification.Kind
S = OrderNotification.Status


@pytest.fixture(autouse=True)
def staff_alerts(settings):
    settings.ORDER_ALERT_EMAILS = ["owner@shop.example.com"]


def paid(checkout, stripe, client) -> Order:
    order = checkout()
    assert stripe.pay(order.stripe_session_id).status_code == 200
    assert [r.status_code for r in stripe.deliver_new(client)] == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def sent_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


class FailingBackend(EmailBackend):
    """A mail server that refuses the next `failures` messages, then accepts."""

    failures = 0

    def send_messages(self, messages):
        if FailingBackend.failures > 0:
            FailingBackend.failures -= 1
            raise ConnectionRefusedError("the mail server is down")
        return super().send_messages(messages)


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = "tests.checkout.test_notifications.FailingBackend"

    def fail(times: int) -> None:
        FailingBackend.failures = times

    yield fail
    FailingBackend.failures = 0


# --- Queued with the change, sent by the worker ---------------------------------------


def test_a_payment_queues_its_emails_and_the_worker_sends_them(checkout, stripe, client):
    order = paid(checkout, stripe, client)

    # The webhook answered without sending anything: the emails wait in the queue.
    assert mail.outbox == []
    assert set(order.notifications.values_list("kind", "status")) == {
        (K.CONFIRMED, S.PENDING),
        (K.STAFF_NEW_ORDER, S.PENDING),
    }
    assert len(tasks_queued()) == 2

    assert tasks_run() == 2
    [confirmation] = sent_to(order.email)
    assert confirmation.subject.endswith(f"Order #{order.pk} is confirmed")
    [alert] = sent_to("owner@shop.example.com")
    assert f"New order #{order.pk}" in alert.subject
    assert set(order.notifications.values_list("status", flat=True)) == {S.SENT}
    assert all(n.sent_at and n.attempts == 1 for n in order.notifications.all())


def test_the_email_is_queued_inside_the_transaction_not_on_commit(checkout, stripe):
    order = checkout()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        notification_queue(order=order, kind=K.CONFIRMED)
        assert DBTaskResult.objects.count() == 1  # written now, in this transaction
        raise Boom

    # Rolled back with the change: no notification, no task, nothing ever sent.
    assert not OrderNotification.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert tasks_run() == 0 and mail.outbox == []


def test_queueing_outside_a_transaction_is_refused(checkout, stripe, settings):
    order = checkout()
    connection = transaction.get_connection()
    # pytest-django wraps each test in a transaction; step outside it for this check.
    in_block, connection.in_atomic_block = connection.in_atomic_block, False
    try:
        with pytest.raises(TransactionManagementError):
            notification_queue(order=order, kind=K.CONFIRMED)
    finally:
        connection.in_atomic_block = in_block


def test_no_staff_email_is_queued_when_nobody_should_get_it(checkout, stripe, client, settings):
    settings.ORDER_ALERT_EMAILS = []
    order = paid(checkout, stripe, client)
    assert list(order.notifications.values_list("kind", flat=True)) == [K.CONFIRMED]


# --- Once per order and kind ----------------------------------------------------------


def test_a_replayed_webhook_sends_no_second_email(checkout, stripe, client, shopper_client):
    order = paid(checkout, stripe, client)
    tasks_run()
    completed = stripe.events("checkout.session.completed")[0]
    for n in range(3):
        assert stripe.post_event(client, completed).status_code == 200
        assert stripe.post_event(client, dict(completed, id=f"evt_redelivered_{n}")).status_code
    shopper_client.get(reverse("checkout:success"), {"session_id": order.stripe_session_id})
    tasks_run()

    assert len(sent_to(order.email)) == 1
    assert order.notifications.count() == 2


def test_two_tasks_for_one_email_send_it_once(checkout, stripe, client):
    order = paid(checkout, stripe, client)
    confirmation = order.notifications.get(kind=K.CONFIRMED)
    order_notification_send.enqueue(notification_id=confirmation.pk)  # a stray duplicate
    tasks_run()
    assert len(sent_to(order.email)) == 1


def test_the_refund_email_is_sent_once_however_often_stripe_confirms(
    checkout, stripe, client, django_capture_on_commit_callbacks, admin_user
):
    order = paid(checkout, stripe, client)
    with django_capture_on_commit_callbacks(execute=True):
        refunds.order_refund_start(
            order_id=order.pk, restock=False, reason="Out of stock, sorry", staff=admin_user
        )
    stripe.deliver_new(client)
    refunded = stripe.events("charge.refunded")[0]
    stripe.post_event(client, dict(refunded, id="evt_refunded_again"))
    tasks_run()

    [message] = [m for m in sent_to(order.email) if "refunded" in m.subject]
    assert "Reason: Out of stock, sorry" in message.body
    for body in (message.body, message.alternatives[0][0]):
        assert admin_user.email not in body


# --- Delayed payments -----------------------------------------------------------------


def test_a_delayed_payment_that_fails_tells_the_shopper(checkout, stripe, client):
    order = checkout()
    stripe.pay(order.stripe_session_id, delayed=True)
    stripe.deliver_new(client)
    stripe.complete_async(order.stripe_session_id, succeed=False)
    stripe.deliver_new(client)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    tasks_run()

    [message] = sent_to(order.email)
    assert message.subject.endswith(f"The payment for order #{order.pk} did not go through")
    assert not sent_to("owner@shop.example.com")


def test_a_card_declined_on_stripes_page_sends_nothing(checkout, stripe, client):
    order = checkout()
    assert stripe.pay(order.stripe_session_id, card="4000000000000002").status_code != 200
    stripe.deliver_new(client)
    tasks_run()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert mail.outbox == [] and not order.notifications.exists()


def test_an_expired_checkout_sends_nothing(checkout, stripe, client):
    order = checkout()
    stripe.http.post(f"{stripe.base_url}/v1/checkout/sessions/{order.stripe_session_id}/expire")
    stripe.deliver_new(client)
    tasks_run()
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert mail.outbox == []


# --- Retries --------------------------------------------------------------------------


def test_a_send_that_fails_is_retried_later_and_sent_once(
    checkout, stripe, client, mail_server_down, settings, caplog
):
    settings.ORDER_ALERT_EMAILS = []
    order = paid(checkout, stripe, client)
    mail_server_down(times=1)

    with caplog.at_level(logging.WARNING, logger="checkout.services.notifications"):
        tasks_run()
    confirmation = order.notifications.get(kind=K.CONFIRMED)
    assert (confirmation.status, confirmation.attempts) == (S.PENDING, 1)
    assert "the mail server is down" in confirmation.last_error
    assert "attempt 1 failed" in caplog.text
    [retry] = tasks_queued()
    wait = retry.run_after - timezone.now()
    assert RETRY_DELAYS[0] - timedelta(seconds=5) < wait <= RETRY_DELAYS[0]

    assert tasks_run() == 0  # not due yet: the backoff holds
    assert mail.outbox == []
    assert tasks_run(later=RETRY_DELAYS[0]) == 1

    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts) == (S.SENT, 2)
    assert confirmation.last_error == ""
    assert len(sent_to(order.email)) == 1
    assert tasks_queued() == []


def test_a_send_that_keeps_failing_is_given_up_after_the_last_attempt(
    checkout, stripe, client, mail_server_down, settings, caplog
):
    settings.ORDER_ALERT_EMAILS = []
    order = paid(checkout, stripe, client)
    mail_server_down(times=100)

    with caplog.at_level(logging.WARNING, logger="checkout.services.notifications"):
        for _ in range(MAX_ATTEMPTS + 2):
            tasks_run(later=max(RETRY_DELAYS))
    confirmation = order.notifications.get()
    assert (confirmation.status, confirmation.attempts) == (S.FAILED, MAX_ATTEMPTS)
    assert tasks_queued() == []
    assert f"given up after {MAX_ATTEMPTS} attempts" in caplog.text
    assert mail.outbox == []


def test_an_email_whose_worker_died_mid_send_is_queued_again_by_the_sweeper(
    checkout, stripe, client, settings
):
    settings.ORDER_ALERT_EMAILS = []
    order = paid(checkout, stripe, client)
    # A worker claimed it and died: the task is gone, the claim lapses.
    DBTaskResult.objects.all().delete()
    order.notifications.update(
        status=S.SENDING, attempts=1, lease_until=timezone.now() - timedelta(seconds=1)
    )

    assert notifications_requeue_stale() == 1
    assert notifications_requeue_stale() == 0  # queued once, not on every sweep
    tasks_run()
    assert len(sent_to(order.email)) == 1
    assert order.notifications.get().status == S.SENT


def test_a_pending_email_long_past_its_time_is_queued_again(checkout, stripe, client, settings):
    settings.ORDER_ALERT_EMAILS = []
    order = paid(checkout, stripe, client)
    DBTaskResult.objects.all().delete()  # its task was lost
    assert notifications_requeue_stale() == 0  # not yet stale
    order.notifications.update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert notifications_requeue_stale() == 1
    tasks_run()
    assert len(sent_to(order.email)) == 1


# --- Shipping: the fulfilment side calls notification_queue in its transaction ---------


def test_the_shipped_email_is_queued_with_the_ship_transition(checkout, stripe, client):
    order = paid(checkout, stripe, client)
    tasks_run()
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        notification_queue(order=locked, kind=K.SHIPPED)
        notification_queue(order=locked, kind=K.SHIPPED)  # shipped twice: one email
    tasks_run()
    shipped = [m for m in sent_to(order.email) if "on its way" in m.subject]
    assert len(shipped) == 1


def test_staff_see_in_the_admin_which_emails_went(checkout, stripe, client, admin_client):
    order = paid(checkout, stripe, client)
    tasks_run()
    page = admin_client.get(reverse("admin:checkout_order_change", args=[order.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Emails" in html and "Order confirmed" in html and "Sent" in html


# --- The other queued emails retry the same way ---------------------------------------


def test_a_low_stock_alert_that_fails_is_retried_and_sent_once(mail_server_down, settings):
    settings.STOCK_ALERT_EMAILS = ["buyer@shop.example.com"]
    mug = ProductFactory(name="Enamel mug", stock_on_hand=2, reorder_level=3)
    with transaction.atomic():
        low_stock_alert_queue(product_ids=[mug.pk])
    mail_server_down(times=1)

    tasks_run()
    [retry] = tasks_queued()
    assert retry.args_kwargs["kwargs"] == {"product_ids": [mug.pk], "attempt": 2}
    assert tasks_run(later=RETRY_DELAYS[0]) == 1
    [alert] = mail.outbox
    assert alert.subject.endswith("Low stock: Enamel mug")


def test_a_queued_account_email_that_fails_is_retried_and_sent_once(mail_server_down):
    message = EmailMultiAlternatives("Reset your password", "Follow the link", to=["a@example.com"])
    message.attach_alternative("<p>Follow the link</p>", "text/html")
    email_queue(message)
    mail_server_down(times=2)

    tasks_run()
    tasks_run(later=RETRY_DELAYS[0])
    assert mail.outbox == []
    tasks_run(later=RETRY_DELAYS[1])
    [sent] = mail.outbox
    assert (sent.subject, sent.body, sent.to) == (
        "Reset your password",
        "Follow the link",
        ["a@example.com"],
    )
    assert sent.alternatives[0][0] == "<p>Follow the link</p>"
    assert tasks_queued() == []
