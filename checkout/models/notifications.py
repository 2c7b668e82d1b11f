"""The emails an order sends, each once (queued with the change it reports)."""

from django.db import models
from django.utils import timezone

from checkout.models.order import Order


class OrderNotification(models.Model):
    """One email about one order: created with the change it reports, in the same
    transaction, at most once per order and kind, however often the change is replayed.
    The worker sends it once (checkout.services.notifications)."""

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Order confirmed"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        SHIPPED = "shipped", "Order shipped"
        REFUNDED = "refunded", "Order refunded"
        STAFF_NEW_ORDER = "staff_new_order", "New paid order (to staff)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Given up"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due (a retry waits); long past it, the sweeper queues
    # the send again (its worker died).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending it holds it until then; a worker that died lets it go.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="order_notification_once")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="order_notification_due")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} email for order #{self.order_id}"
