"""Orders and their lines: the payment and fulfilment lifecycles (DESIGN.md section 5)."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PROCESSING = "processing", "Payment processing"
        PAID = "paid", "Paid"
        REFUNDING = "refunding", "Refund in progress"
        REFUNDED = "refunded", "Refunded"
        CANCELED = "canceled", "Canceled"

    FINAL_STATUSES = frozenset({Status.PAID, Status.REFUNDED, Status.CANCELED})

    class Fulfilment(models.TextChoices):
        """The second axis, for paid orders only, moved by staff (DESIGN.md section 5)."""

        UNFULFILLED = "unfulfilled", "Not yet packed"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"

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

    # Shipping, exactly as Stripe reports it in the session (never from the browser).
    shipping_name = models.CharField(max_length=255, blank=True)
    shipping_address = models.JSONField(
        default=dict, blank=True, help_text="line1, line2, postal_code, city, state, country"
    )
    shipping_rate = models.ForeignKey(
        "checkout.ShippingRate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_rate_name = models.CharField(max_length=100, blank=True)
    shipping_amount = models.PositiveIntegerField(
        default=0, help_text="Minor units, as Stripe reported the shipping cost"
    )
    # The rates this checkout offered, in the order Stripe was given them:
    # [{"rate_id": 1, "name": "Standard", "amount": 490}, ...]. The amount check compares
    # the rate the shopper chose at Stripe with this.
    shipping_offered = models.JSONField(default=list, blank=True)
    amount_tax = models.PositiveIntegerField(default=0, help_text="Tax Stripe computed")
    amount_discount = models.PositiveIntegerField(default=0, help_text="Discount Stripe applied")
    shipping_address_corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shipping_address_corrected_at = models.DateTimeField(null=True, blank=True)

    fulfilment_status = models.CharField(
        max_length=12, choices=Fulfilment.choices, default=Fulfilment.UNFULFILLED, db_index=True
    )
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(
        max_length=500, blank=True, validators=[URLValidator(schemes=["http", "https"])]
    )
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    # Lets one sweeper at a time work on an order, on any database (sweep_checkouts).
    sweep_lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunding_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # Set when a delayed payment failed: an attempt, kept in the shopper's history.
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    # A new checkout of a failed order's lines ("Try again") points back at it.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_recent"),
            # The staff sales page and exports (checkout.reports): orders by the day they
            # were placed, paid and refunded. Most orders are never refunded (partial).
            models.Index(fields=["created_at"], name="order_created"),
            models.Index(fields=["paid_at"], condition=Q(paid_at__isnull=False), name="order_paid"),
            models.Index(
                fields=["refunded_at"],
                condition=Q(refunded_at__isnull=False),
                name="order_refunded",
            ),
        ]
        permissions = [
            ("refund_order", "Can refund order"),
            ("fulfil_order", "Can fulfil orders"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("dashboard:order_detail", kwargs={"pk": self.pk})

    @property
    def is_final(self) -> bool:
        """No further change is expected: the status poller can stop."""
        return self.status in self.FINAL_STATUSES

    @property
    def items_amount(self) -> int:
        """What the lines cost (minor units): the order's amount before shipping, tax
        and discounts."""
        return self.amount_total

    @property
    def total_charged(self) -> int:
        """What the shopper pays: Stripe's total once it reported one (items, shipping,
        tax and discount), the items before that."""
        return self.amount_total if self.stripe_amount_total is None else self.stripe_amount_total

    @property
    def delayed_payment_failed(self) -> bool:
        """A payment was attempted (a delayed method) and failed."""
        return self.status == self.Status.CANCELED and self.payment_failed_at is not None

    @property
    def can_be_retried(self) -> bool:
        """A failed payment the shopper may try again: not once a retry of it is paid
        or being paid (one query)."""
        return (
            self.delayed_payment_failed
            and not self.retries.filter(
                status__in=[
                    self.Status.PROCESSING,
                    self.Status.PAID,
                    self.Status.REFUNDING,
                    self.Status.REFUNDED,
                ]
            ).exists()
        )

    @property
    def fulfilment_started(self) -> bool:
        return self.fulfilment_status != self.Fulfilment.UNFULFILLED

    @property
    def can_be_fulfilled(self) -> bool:
        """Only paid orders are packed and shipped: never one being refunded."""
        return self.status == self.Status.PAID

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
