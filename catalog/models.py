from django.conf import settings
from django.db import models
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone


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

    def with_availability(self, *, now=None, for_user_id: int | None = None) -> "ProductQuerySet":
        """Annotate `reserved` (units held by open checkouts) and `available`.

        One subquery over active, unexpired reservations, evaluated in the same SQL
        statement as the products: never a query per product. Expired holds stop
        counting the moment they expire, whether or not the sweeper has run.

        With `for_user_id`, the holds of that shopper's own awaiting-payment checkouts
        do not count against them: their next checkout releases those first.
        """
        from checkout.models import Order, StockReservation

        now = now or timezone.now()
        holds = StockReservation.objects.filter(product=OuterRef("pk"))
        if for_user_id is not None:
            holds = holds.exclude(order__user_id=for_user_id, order__status=Order.Status.PENDING)
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
    # Prices are integers in the currency's minor unit (cents): never floats.
    unit_amount = models.PositiveIntegerField(help_text="Price in minor units, e.g. 1250 = 12.50")
    currency = models.CharField(max_length=3, default=settings.SHOP_CURRENCY)
    stock_on_hand = models.PositiveIntegerField(
        default=0, help_text="Units in the warehouse. Changes only when a payment is confirmed."
    )
    is_active = models.BooleanField(default=True, help_text="Shown in the shop")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_on_hand__gte=0), name="product_stock_on_hand_not_negative"
            ),
            models.CheckConstraint(condition=Q(unit_amount__gt=0), name="product_price_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:detail", kwargs={"slug": self.slug})
