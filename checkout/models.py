from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Cart(models.Model):
    """One cart per signed-in shopper; an anonymous shopper's cart is found through
    the session (its id is kept there) and merged into the user's cart at login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="cart",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart {self.pk} ({self.user or 'anonymous'})"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cart_item_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PROCESSING = "processing", "Payment processing"
        PAID = "paid", "Paid"
        REFUNDING = "refunding", "Refund in progress"
        REFUNDED = "refunded", "Refunded"
        CANCELED = "canceled", "Canceled"

    FINAL_STATUSES = frozenset({Status.PAID, Status.REFUNDED, Status.CANCELED})

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    currency = models.CharField(max_length=3)
    amount_total = models.PositiveIntegerField(help_text="Minor units, computed by the shop")
    # A digest of the cart's lines, so an unchanged cart can reuse its open session.
    cart_fingerprint = models.CharField(max_length=64, blank=True)
    from_cart = models.BooleanField(
        default=True, help_text="Bought from the cart (its lines leave the cart once paid)"
    )

    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_checkout_url = models.URLField(max_length=2000, blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_amount_total = models.PositiveIntegerField(null=True, blank=True)
    stripe_currency = models.CharField(max_length=3, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)

    needs_review = models.BooleanField(default=False, db_index=True)
    review_reason = models.TextField(blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    # Shown to the shopper: staff write it for them. Who asked for the refund is kept
    # for staff alone.
    refund_reason = models.CharField(max_length=255, blank=True)
    refund_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The staff member who asked for the refund (never shown to the shopper)",
    )
    restock_on_refund = models.BooleanField(
        default=False, help_text="Put the units back on hand when the refund is confirmed"
    )
    stock_restored = models.BooleanField(default=False)

    # Lets one sweeper at a time work on an order, on any database (sweep_checkouts).
    sweep_lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunding_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="order_user_recent")]
        permissions = [("refund_order", "Can refund order")]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("dashboard:order_detail", kwargs={"pk": self.pk})

    @property
    def is_final(self) -> bool:
        """No further change is expected: the status poller can stop."""
        return self.status in self.FINAL_STATUSES

    @property
    def checkout_is_open(self) -> bool:
        return (
            self.status == self.Status.PENDING
            and bool(self.stripe_checkout_url)
            and self.checkout_expires_at is not None
            and self.checkout_expires_at > timezone.now()
        )


class OrderLine(models.Model):
    """A snapshot of what was bought, at the price of the moment of checkout."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=120)
    unit_amount = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    @property
    def line_total(self) -> int:
        return self.unit_amount * self.quantity


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
