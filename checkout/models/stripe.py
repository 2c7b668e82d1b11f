"""Stripe's side of the books: every webhook event, and reconciliation runs."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class StripeEvent(models.Model):
    """Every webhook event received: the audit log and the de-duplication record."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "Stripe event"

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class ReconciliationRun(models.Model):
    """One comparison of what Stripe has with the shop's orders over a period
    (`manage.py reconcile_stripe`, checkout.services.reconciliation).

    Staff ask for one from the sales page: the run is stored as requested, and the
    reconcile worker (`reconcile_stripe --queue`) claims and runs it; the page never
    calls Stripe itself.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COMMAND = "command", "Command line"
        STAFF = "staff", "Staff (sales page)"
        SCHEDULE = "schedule", "Daily schedule"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField()
    # Empty until the run starts: a requested run covers up to the moment it runs.
    until = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="No discrepancy (empty until finished)")
    summary = models.TextField(blank=True)
    # [{"kind", "stripe_id", "amount", "currency", "order_id", "detail"}, ...]
    discrepancies = models.JSONField(default=list, blank=True)
    # What was looked at: {"sessions": n, "payment_intents": n, "refunds": n, ...}
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "reconciliation with Stripe"
        verbose_name_plural = "reconciliations with Stripe"

    def __str__(self) -> str:
        return f"Reconciliation #{self.pk} ({self.get_status_display()})"
