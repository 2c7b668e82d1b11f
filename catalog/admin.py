from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog import inventory
from catalog.forms import ProductAdminForm
from catalog.models import Product, ProductQuerySet, StockMovement, StockReservation
from theme.templatetags.shop import money

HISTORY_ROWS = 50


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("in_stock", "In stock"),
            ("low", "Low stock (at or below the reorder level, sold out included)"),
            ("sold_out", "Sold out"),
            ("held", "All held in checkouts"),
        ]

    def queryset(self, request, queryset):
        # The changelist's queryset carries with_availability()'s annotations.
        match self.value():
            case "in_stock":
                return queryset.filter(available__gt=0)
            case "low":
                return queryset.filter(stock_on_hand__lte=F("reorder_level"))
            case "sold_out":
                return queryset.filter(stock_on_hand=0)
            case "held":
                return queryset.filter(stock_on_hand__gt=0, available=0)
        return queryset


class StockOperationForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000)
    note = forms.CharField(max_length=255, required=False)


class StockCountForm(forms.Form):
    quantity = forms.IntegerField(
        label="Units counted on the shelf",
        min_value=0,
        max_value=1_000_000,
        help_text="Everything on the shelf, units of paid orders waiting to ship included.",
    )
    note = forms.CharField(max_length=255, required=False)


# name -> (title, permission, form, service, what it says it did)
STOCK_OPERATIONS = {
    "receive": ("Receive stock", "catalog.receive_stock", StockOperationForm),
    "count": ("Stock count", "catalog.count_stock", StockCountForm),
    "write-off": ("Write off", "catalog.write_off_stock", StockOperationForm),
}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    # The price is typed as "12.50"; the currency is the shop's, shown and never edited.
    form = ProductAdminForm
    list_display = [
        "thumbnail",
        "name",
        "price",
        "stock_on_hand",
        "reserved",
        "available",
        "reorder_level",
        "is_active",
        "updated_at",
    ]
    list_display_links = ["thumbnail", "name"]
    # Stock is never edited as a number: it changes through the stock operations.
    list_editable = ["is_active"]
    list_filter = ["is_active", StockFilter]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "image_preview",
        "currency",
        "price",
        "reserved",
        "available",
        "movement_history",
        "created_at",
        "updated_at",
    ]
    list_per_page = 50
    # Its object tools offer the stock operations the staff member may use.
    change_form_template = "admin/catalog/product/change_form.html"

    def get_fieldsets(self, request, obj=None):
        stock = (
            ["stock_on_hand", "reorder_level"]
            if obj is None
            else ["stock_on_hand", "reserved", "available", "reorder_level"]
        )
        fieldsets = [
            (None, {"fields": ["name", "slug", "description", "is_active"]}),
            ("Image", {"fields": ["image", "image_preview"]}),
            ("Price", {"fields": ["unit_amount", "currency", "price", "tax_code"]}),
            ("Stock", {"fields": stock}),
        ]
        if obj is not None:
            fieldsets.append(("Stock movements", {"fields": ["movement_history"]}))
        fieldsets.append(
            ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]})
        )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # A new product's stock is its opening balance; after that, only the stock
        # operations change it (a saved form never writes back a number read earlier).
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "stock_on_hand"] if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> ProductQuerySet:
        # Reserved and available come from the same query as the rows, never one per row.
        # (The cast: ModelAdmin is not generic at run time, so the stubs see QuerySet[Any].)
        return cast(ProductQuerySet, super().get_queryset(request)).with_availability()

    def save_model(self, request, obj, form, change):
        # Saving an existing product never writes stock_on_hand (Product.save leaves it
        # out), so a sale that lands while this form was open is kept.
        super().save_model(request, obj, form, change)
        if not change:
            inventory.stock_opening_record(product=obj, staff=request.user)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/stock/<str:operation>/",
                self.admin_site.admin_view(self.stock_operation_view),
                name="catalog_product_stock",
            ),
            *super().get_urls(),
        ]

    def stock_operation_view(
        self, request: HttpRequest, object_id: int, operation: str
    ) -> HttpResponse:
        """Receive, count or write off stock: each its own permission, each one movement
        worked out under the row lock when the form is saved."""
        if operation not in STOCK_OPERATIONS:
            raise Http404("No such stock operation")
        title, permission, form_class = STOCK_OPERATIONS[operation]
        if not request.user.has_perm(permission):
            raise PermissionDenied
        product = Product.objects.with_availability().filter(pk=object_id).first()
        if product is None:
            raise Http404("No such product")
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            quantity, note = form.cleaned_data["quantity"], form.cleaned_data["note"]
            try:
                change = self._stock_apply(operation, product, quantity, request.user, note)
            except inventory.StockError as exc:
                form.add_error("quantity", str(exc))
            else:
                if change is None:
                    done = f"{product.name}: the count agrees with the books; nothing changed."
                else:
                    done = (
                        f"{product.name}: {title.lower()} recorded "
                        f"({change.after - change.before:+d}); {change.after} on hand."
                    )
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:catalog_product_change", args=[product.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {product.name}",
            "operation": operation,
            "operation_title": title,
            "product": product,
            "awaiting_shipment": inventory.units_awaiting_shipment(product_id=product.pk),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalog/product/stock_operation.html", context)

    @staticmethod
    def _stock_apply(operation, product, quantity, staff, note):
        if operation == "receive":
            return inventory.stock_receive(
                product_id=product.pk, quantity=quantity, staff=staff, note=note
            )
        if operation == "write-off":
            return inventory.stock_write_off(
                product_id=product.pk, quantity=quantity, staff=staff, note=note
            )
        return inventory.stock_count(
            product_id=product.pk, counted=quantity, staff=staff, note=note
        )

    @admin.display(description="Newest first")
    def movement_history(self, product: Product) -> str:
        movements = list(
            product.movements.select_related("staff").order_by("-created_at", "-id")[:HISTORY_ROWS]
        )
        if not movements:
            return "No movements yet."
        rows, balance = [], product.stock_on_hand
        for movement in movements:
            rows.append(
                (
                    movement.created_at.strftime("%Y-%m-%d %H:%M"),
                    movement.get_reason_display(),
                    f"{movement.delta:+d}",
                    balance,
                    f"#{movement.order_id}" if movement.order_id else "",
                    movement.staff.email if movement.staff else "",
                    movement.note,
                )
            )
            balance -= movement.delta
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            rows,
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Reason</th><th>Change</th>"
            "<th>Balance after</th><th>Order</th><th>Staff</th><th>Note</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

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


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The stock ledger: append-only, so staff read it and never edit or delete a row."""

    list_display = ["created_at", "product", "delta", "reason", "order", "staff", "note"]
    list_filter = ["reason"]
    search_fields = ["product__name", "=order__id", "note"]
    list_select_related = ["product", "staff"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(StockReservation)
class StockReservationAdmin(admin.ModelAdmin):
    """Holds: taken by checkouts, consumed by payments, released by the shop; read only."""

    list_display = ["id", "product", "order", "quantity", "status", "expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["=order__id", "product__name"]
    list_select_related = ["product", "order"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
