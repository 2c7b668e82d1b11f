"""Order emails: queued with the change they report, sent once by the worker.

`notification_queue(order=..., kind=...)` is called inside the transaction of the change
(delayed payment failed, shipped, refunded). It records one OrderNotification per order
and kind and queues its send as a task row in that same transaction, so both commit
with the change or not at all. A replayed change (a refund confirmed again) finds the
notification and queues nothing. The payment, which its status check under the order's
row lock lets happen once per order however often it is replayed (a webhook delivered
again, the success page and the webhook racing), writes its emails with
`notifications_queue_once` without looking first; the unique (order, kind) backs both.

The worker (`manage.py db_worker`) runs `order_notification_send`:

1. it claims the notification with a conditional update (pending, or sending with a
   lapsed lease, becomes sending); a second task for it finds nothing to claim;
2. it sends outside any transaction, so a slow mail server holds no lock (on SQLite a
   transaction would hold the write lock of the whole database);
3. it marks it sent; after a failure, it queues the next attempt after
   `theme.emails.retry_delay`, or gives up after `MAX_ATTEMPTS` and logs an error.

A worker that dies between 2 and 3 leaves the notification sending; once its lease
lapses the sweeper queues it again (`notifications_requeue_stale`). That is the one case
in which an email can go twice: a mail server's acceptance and the database's record of
it cannot be made one step.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django_tasks import task

from checkout.models import Order, OrderNotification
from checkout.services.emails import order_email_build, order_email_recipients
from theme.emails import retry_delay, task_enqueue_later

logger = logging.getLogger(__name__)

S = OrderNotification.Status
Kind = OrderNotification.Kind

# How long a worker may take to send before its claim lapses; well above EMAIL_TIMEOUT.
LEASE = timedelta(minutes=10)
# A pending email this far past its time has no task that will send it.
STALE_AFTER = timedelta(minutes=15)


def notification_queue(*, order: Order, kind: str) -> OrderNotification | None:
    """Queue the email of `kind` about `order`, once per order and kind.

    Call it inside the transaction of the change it reports, holding the order's row
    lock: the notification and its task are written in that transaction and commit or
    roll back with the change. Calling it again for the same order and kind finds the
    first notification and queues nothing. Returns None, queueing nothing, when the
    email would go to nobody (a staff email while ORDER_ALERT_EMAILS is empty). Raises
    TransactionManagementError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(
            "notification_queue() belongs in the transaction of the change it reports"
        )
    if not order_email_recipients(order=order, kind=kind):
        return None
    # No savepoint (get_or_create's) around the INSERT: the caller holds the order's row
    # lock, so nobody else queues this order's emails meanwhile; should that ever fail,
    # the unique (order, kind) refuses the second and the change rolls back, emailing
    # nobody twice. Two statements fewer in every payment's transaction.
    notification = OrderNotification.objects.filter(order=order, kind=kind).first()
    if notification is None:
        notification = OrderNotification.objects.create(order=order, kind=kind)
        order_notification_send.enqueue(notification_id=notification.pk)
    return notification


def notifications_queue_once(*, order: Order, kinds: Sequence[str]) -> list[OrderNotification]:
    """Queue the emails of `kinds` about `order`, for a change that happens once per
    order: the payment, made under the order's row lock from a status the order never
    returns to once paid.

    Like notification_queue (in the transaction of the change, holding the order's row
    lock; TransactionManagementError outside a transaction; no email to nobody), but
    without looking for earlier notifications: all of them are written in one INSERT.
    Should the change ever run twice after all, the unique (order, kind) refuses the
    second INSERT (IntegrityError) and the change rolls back: an email is never queued
    twice. Returns the notifications queued.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(
            "notifications_queue_once() belongs in the transaction of the change it reports"
        )
    notifications = OrderNotification.objects.bulk_create(
        OrderNotification(order=order, kind=kind)
        for kind in kinds
        if order_email_recipients(order=order, kind=kind)
    )
    for notification in notifications:
        order_notification_send.enqueue(notification_id=notification.pk)
    return notifications


def notification_deliver(*, notification_id: int) -> str:
    """Send one order email unless it is sent, being sent, or given up. Runs in the
    worker, outside any transaction. Never raises for a failed send: it is retried
    (`retry_delay`) or given up. Returns what happened, for the task's result."""
    now = timezone.now()
    claimed = (
        OrderNotification.objects.filter(pk=notification_id)
        .filter(Q(status=S.PENDING) | Q(status=S.SENDING, lease_until__lt=now))
        .update(status=S.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "nothing to send"
    notification = OrderNotification.objects.select_related("order").get(pk=notification_id)
    try:
        message = order_email_build(order=notification.order, kind=notification.kind)
        if message.to:
            message.send()
    except Exception as exc:
        return _attempt_failed(notification=notification, error=exc)
    mine = OrderNotification.objects.filter(pk=notification_id, status=S.SENDING)
    if not message.to:
        # The order has no email address, or staff emails were turned off since.
        mine.update(status=S.FAILED, lease_until=None, last_error="Nobody to send it to")
        return "nobody to send it to"
    mine.update(status=S.SENT, sent_at=timezone.now(), lease_until=None, last_error="")
    return "sent"


def _attempt_failed(*, notification: OrderNotification, error: Exception) -> str:
    """Queue the next attempt after the policy's delay, or give up after the last."""
    text = f"{type(error).__name__}: {error}"[:2000]
    delay = retry_delay(attempts=notification.attempts)
    mine = OrderNotification.objects.filter(pk=notification.pk, status=S.SENDING)
    if delay is None:
        mine.update(status=S.FAILED, lease_until=None, last_error=text)
        logger.error(
            "%s: given up after %s attempts: %s", notification, notification.attempts, text
        )
        return f"given up after {notification.attempts} attempts"
    with transaction.atomic():
        if mine.update(
            status=S.PENDING,
            lease_until=None,
            next_attempt_at=timezone.now() + delay,
            last_error=text,
        ):
            task_enqueue_later(
                order_notification_send, delay=delay, notification_id=notification.pk
            )
    logger.warning(
        "%s: attempt %s failed, next in %s: %s", notification, notification.attempts, delay, text
    )
    return f"attempt {notification.attempts} failed; next in {delay}"


@task()
def order_notification_send(*, notification_id: int) -> str:
    """The worker's task: `notification_deliver`."""
    return notification_deliver(notification_id=notification_id)


def notifications_requeue_stale(*, now: datetime | None = None) -> int:
    """Queue again the emails that no task will send: pending long past their time (the
    task failed outside the send, or was lost with its worker) or sending with a lapsed
    lease (the worker died mid-send). Run by the sweeper; safe on several hosts (each
    notification is taken by a conditional update). Returns how many were queued."""
    now = now or timezone.now()
    stale = Q(status=S.PENDING, next_attempt_at__lt=now - STALE_AFTER) | Q(
        status=S.SENDING, lease_until__lt=now
    )
    queued = 0
    for pk in list(OrderNotification.objects.filter(stale).values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            if (
                OrderNotification.objects.filter(stale, pk=pk).update(
                    status=S.PENDING, next_attempt_at=now, lease_until=None
                )
                == 1
            ):
                order_notification_send.enqueue(notification_id=pk)
                queued += 1
    return queued
