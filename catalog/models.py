from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from theme import money

if TYPE_CHECKING:
    from catalog.badges import StockBadge


class ProductQuerySet(models.QuerySet):
    def active(self) -> "ProductQuerySet":
        return self.filter(is_active=True)

    def search(self, text: str) -> "ProductQuerySet":
        """Products whose name or description contains every word of `text`.

        Case-insensitive; the ORM escapes LIKE wildcards, so `%` and `_` match
        themselves. An empty text filters nothing.
        """
        queryset = self
        for word in text.split():
            queryset = queryset.filter(Q(name__icontains=word) | Q(description__icontains=word))
        return queryset

    def with_availability(
        self, *, now: datetime | None = None, ignore_holds: Q | None = None
    ) -> "ProductQuerySet":
        """Annotate `reserved` (units held by open checkouts) and `available`.

        One subquery over active, unexpired reservations, evaluated in the same SQL
        statement as the products: never a query per product. Expired holds stop
        counting the moment they expire, whether or not the sweeper has run.

        `ignore_holds` leaves out the holds it matches (a StockReservation condition):
        the checkout passes a shopper's own awaiting-payment holds, which their next
        checkout releases first, so they do not count against that shopper.
        """
        now = now or timezone.now()
        holds = StockReservation.objects.filter(product=OuterRef("pk"))
        if ignore_holds is not None:
            holds = holds.exclude(ignore_holds)
        held = (
            holds.active(now=now)
            .order_by()
            .values("product")
            .annotate(total=Sum("quantity"))
            .values("total")
        )
        return self.annotate(
            reserved=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)),
            available=Greatest(F("stock_on_hand") - F("reserved"), Value(0)),
        )


class Product(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    image = models.ImageField(upload_to="products/", blank=True)
    # Prices are integers in the currency's minor unit as Stripe counts it (cents): never
    # floats. Staff type "12.50" (theme.forms.PriceField); theme.money formats them.
    unit_amount = models.PositiveIntegerField(help_text="Price in minor units, e.g. 1250 = 12.50")
    # Always the shop's currency (SHOP_CURRENCY), kept with the price so that a changed
    # setting never relabels it: catalog.checks refuses to start until convert_prices ran.
    currency = models.CharField(
        max_length=3,
        default=money.shop_currency,
        help_text="The shop's currency (SHOP_CURRENCY); changed only by manage.py convert_prices.",
    )
    # Written only by catalog.inventory, one StockMovement per change (an F() update
    # under the row lock), never from a number read earlier.
    stock_on_hand = models.PositiveIntegerField(
        default=0,
        help_text="Units the shop can sell: a payment takes its units off (they stay on the "
        "shelf until shipped). Changes with sales and the stock operations, each recorded "
        "as a stock movement.",
    )
    tax_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Stripe tax code (e.g. txcd_99999999); empty: the shop's default",
    )
    reorder_level = models.PositiveIntegerField(
        default=settings.STOCK_REORDER_LEVEL,
        help_text="Staff are emailed when a sale takes the stock on hand to this level or below.",
    )
    is_active = models.BooleanField(default=True, help_text="Shown in the shop")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    # Only on some products, for type checkers (bare annotations make no attribute):
    # with_availability() annotates `reserved` and `available`; catalog.badges sets `badge`.
    reserved: int
    available: int
    badge: "StockBadge"

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("receive_stock", "Can receive stock"),
            ("count_stock", "Can record a stock count"),
            ("write_off_stock", "Can write off stock"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_on_hand__gte=0), name="product_stock_on_hand_not_negative"
            ),
            models.CheckConstraint(condition=Q(unit_amount__gt=0), name="product_price_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Saving an existing product writes every field but stock_on_hand: stock
        changes only through catalog.inventory (a movement and an F() update under the
        row lock), so a form opened before a sale can never write the old figure back.
        A new product is saved whole; its stock becomes its opening balance.

        Raises ValueError when the currency it would write is not the shop's: no product
        is saved in another currency (`manage.py convert_prices` changes them all at once).
        """
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "stock_on_hand"
            ]
        update_fields = kwargs.get("update_fields")
        if (update_fields is None or "currency" in update_fields) and (
            self.currency != money.shop_currency()
        ):
            raise ValueError(
                f"{self.name!r} would be saved in {self.currency!r}, but the shop sells in "
                f"{money.shop_currency()!r} (SHOP_CURRENCY); see `manage.py convert_prices`."
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("catalog:detail", kwargs={"slug": self.slug})

    def clean_fields(self, exclude=None) -> None:
        """Its price is an amount Stripe can charge in its currency (3.125 KWD is not).
        Here rather than in clean(), so that a form without the price is never told."""
        super().clean_fields(exclude=exclude)
        if (exclude and "unit_amount" in exclude) or self.unit_amount is None:
            return
        try:
            problem = money.amount_problem(self.unit_amount, self.currency)
        except money.UnknownCurrency:
            problem = None  # clean() says what is wrong with the currency
        if problem:
            raise ValidationError({"unit_amount": problem})

    def clean(self) -> None:
        """A product is priced in the shop's currency (model validation: the admin's
        form runs it, its price field Stripe's rules for the amount)."""
        super().clean()
        shop = money.shop_currency()
        if self.currency != shop:
            # Not keyed to "currency": forms never edit it, and a ModelForm refuses an
            # error for a field it does not have.
            raise ValidationError(
                f"This product is priced in {self.currency.upper()}, but the shop sells in "
                f"{shop.upper()} (SHOP_CURRENCY): convert its price with `python manage.py "
                "convert_prices` before changing it."
            )


class StockReservationQuerySet(models.QuerySet):
    def active(self, *, now: datetime | None = None) -> "StockReservationQuerySet":
        """Holds that still count against availability."""
        return self.filter(
            status=StockReservation.Status.ACTIVE, expires_at__gt=now or timezone.now()
        )

    def held_by_product(self) -> dict[int, int]:
        """{product id: units} held by the reservations of this queryset, in one query."""
        return dict(
            self.order_by()
            .values("product")
            .annotate(total=models.Sum("quantity"))
            .values_list("product", "total")
        )


class StockReservation(models.Model):
    """Units held for an order while its shopper pays (active), then sold and awaiting
    shipment (consumed), then gone from the shelf (shipped), or given back (released).
    Stock on hand changes only at payment.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONSUMED = "consumed", "Consumed (paid)"
        SHIPPED = "shipped", "Shipped"
        RELEASED = "released", "Released"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reservations")
    # Named by string: catalog never imports checkout.
    order = models.ForeignKey(
        "checkout.Order", on_delete=models.CASCADE, related_name="reservations"
    )
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockReservationQuerySet.as_manager()

    class Meta:
        # The table it had when checkout owned it: moving the model kept every hold.
        db_table = "checkout_stockreservation"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
        ]
        indexes = [
            # "active and unexpired by product": the availability subquery.
            models.Index(
                fields=["product", "expires_at"],
                condition=Q(status="active"),
                name="reservation_active_by_product",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product} for order #{self.order_id} ({self.status})"


class StockMovement(models.Model):
    """One change of a product's stock on hand: the append-only stock ledger.

    For every product, stock_on_hand equals the sum of its movements
    (`manage.py check_inventory`). Rows are only ever added, by catalog.inventory.
    """

    class Reason(models.TextChoices):
        OPENING = "opening", "Opening balance"
        RECEIVED = "received", "Received"
        SALE = "sale", "Sale"
        REFUND_RESTOCK = "refund_restock", "Refund restock"
        COUNT = "count", "Count correction"
        WRITE_OFF = "write_off", "Write-off"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    delta = models.IntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    order = models.ForeignKey(
        "checkout.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_movements",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_movements",
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="stock_movement_delta_not_zero"),
        ]
        indexes = [models.Index(fields=["product", "-created_at"], name="movement_by_product")]

    def __str__(self) -> str:
        return f"{self.delta:+d} × {self.product} ({self.get_reason_display()})"
