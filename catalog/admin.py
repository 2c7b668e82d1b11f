from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html

from catalog.models import Product
from theme.templatetags.shop import money


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("in_stock", "In stock"),
            ("low", f"Low stock (1–{settings.LOW_STOCK_THRESHOLD} on hand)"),
            ("sold_out", "Sold out"),
            ("held", "All held in checkouts"),
        ]

    def queryset(self, request, queryset):
        # The changelist's queryset carries with_availability()'s annotations.
        threshold = settings.LOW_STOCK_THRESHOLD
        match self.value():
            case "in_stock":
                return queryset.filter(available__gt=0)
            case "low":
                return queryset.filter(stock_on_hand__gte=1, stock_on_hand__lte=threshold)
            case "sold_out":
                return queryset.filter(stock_on_hand=0)
            case "held":
                return queryset.filter(stock_on_hand__gt=0, available=0)
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "name",
        "price",
        "stock_on_hand",
        "reserved",
        "available",
        "is_active",
        "updated_at",
    ]
    list_display_links = ["thumbnail", "name"]
    list_editable = ["stock_on_hand", "is_active"]
    list_filter = ["is_active", StockFilter]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "image_preview",
        "price",
        "reserved",
        "available",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "is_active"]}),
        ("Image", {"fields": ["image", "image_preview"]}),
        ("Price", {"fields": ["unit_amount", "currency", "price"]}),
        ("Stock", {"fields": ["stock_on_hand", "reserved", "available"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    list_per_page = 50

    def get_queryset(self, request):
        # Reserved and available come from the same query as the rows, never one per row.
        return super().get_queryset(request).with_availability()

    @admin.display(description="Image")
    def thumbnail(self, product: Product) -> str:
        if not product.image:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="48" height="48" '
            'style="object-fit:cover;border-radius:8px;display:block">',
            product.image.url,
        )

    @admin.display(description="Preview")
    def image_preview(self, product: Product) -> str:
        if not product.image:
            return "No image yet"
        return format_html(
            '<img src="{}" alt="{}" width="240" height="240" '
            'style="object-fit:cover;border-radius:12px">',
            product.image.url,
            product.name,
        )

    @admin.display(description="Price", ordering="unit_amount")
    def price(self, product: Product) -> str:
        return money(product.unit_amount, product.currency)

    @admin.display(description="Reserved", ordering="reserved")
    def reserved(self, product: Product) -> int | str:
        # An unsaved product (the add form) has no annotation.
        return getattr(product, "reserved", "—")

    @admin.display(description="Available", ordering="available")
    def available(self, product: Product) -> int | str:
        return getattr(product, "available", "—")
