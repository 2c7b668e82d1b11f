import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from catalog.models import StockReservation
from checkout.models import Cart, CartItem, Order, OrderLine, StripeEvent
from checkout.services.events import stripe_event_reprocess
from checkout.services.refunds import order_refund_start
from theme.templatetags.shop import money


class ReadOnlyAdminMixin:
    """Records that only the shop's own code writes: staff look, never edit."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fields = ("name", "product", "unit_price", "quantity", "line_total_display")
    readonly_fields = fields
    extra = 0

    @admin.display(description="Unit price")
    def unit_price(self, line: OrderLine) -> str:
        return money(line.unit_amount, line.order.currency)

    @admin.display(description="Line total")
    def line_total_display(self, line: OrderLine) -> str:
        return money(line.line_total, line.order.currency)


class ReservationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StockReservation
    fields = ("product", "quantity", "status", "expires_at", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "status", "total", "created_at", "paid_at", "needs_review"]
    list_filter = ["status", "needs_review", "created_at"]
    search_fields = ["=id", "email", "stripe_session_id", "stripe_payment_intent_id"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, ReservationInline]
    actions = ["refund", "refund_and_restock", "mark_reviewed"]
    list_select_related = ["user"]
    fieldsets = [
        (None, {"fields": ["user", "email", "status", "total", "from_cart"]}),
        ("Review", {"fields": ["needs_review", "review_reason"]}),
        (
            "Stripe",
            {
                "fields": [
                    "stripe_session_id",
                    "stripe_payment_intent_id",
                    "stripe_paid",
                    "stripe_refund_id",
                    "checkout_expires_at",
                ]
            },
        ),
        (
            "Cancel and refund",
            {
                "fields": [
                    "cancel_reason",
                    "refund_reason",
                    "refund_requested_by",
                    "restock_on_refund",
                    "stock_restored",
                ]
            },
        ),
        (
            "Timeline",
            {
                "fields": [
                    "created_at",
                    "processing_at",
                    "paid_at",
                    "refunding_at",
                    "refunded_at",
                    "canceled_at",
                ]
            },
        ),
    ]
    # Status and money change only through the order services; staff may clear a review.
    readonly_fields = [
        "user",
        "email",
        "status",
        "total",
        "from_cart",
        "review_reason",
        "stripe_session_id",
        "stripe_payment_intent_id",
        "stripe_paid",
        "stripe_refund_id",
        "checkout_expires_at",
        "cancel_reason",
        "refund_reason",
        "refund_requested_by",
        "restock_on_refund",
        "stock_restored",
        "created_at",
        "processing_at",
        "paid_at",
        "refunding_at",
        "refunded_at",
        "canceled_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Total", ordering="amount_total")
    def total(self, order: Order) -> str:
        return money(order.amount_total, order.currency)

    @admin.display(description="Amount Stripe reported")
    def stripe_paid(self, order: Order) -> str:
        if order.stripe_amount_total is None:
            return "—"
        return money(order.stripe_amount_total, order.stripe_currency or order.currency)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("checkout.refund_order")

    def _refund(
        self, request: HttpRequest, queryset: QuerySet[Order], *, restock: bool
    ) -> TemplateResponse | None:
        # The action declares the permission; checked here too, as the view's own guard.
        if not self.has_refund_permission(request):
            raise PermissionDenied
        reason = " ".join(request.POST.get("reason", "").split())[:255]
        if request.POST.get("confirm") != "yes" or not reason:
            # Money leaves the shop: ask first, as Django does before deleting.
            paid = [order for order in queryset if order.status == Order.Status.PAID]
            return TemplateResponse(
                request,
                "admin/checkout/order/refund_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Confirm refund",
                    "orders": paid,
                    "skipped": len(queryset) - len(paid),
                    "queryset": queryset,
                    "restock": restock,
                    "action": request.POST.get("action", ""),
                    "reason": reason,
                    "reason_missing": request.POST.get("confirm") == "yes" and not reason,
                },
            )
        started = skipped = 0
        # Always a User here (the admin lets in signed-in staff only); the check tells mypy.
        staff = request.user if request.user.is_authenticated else None
        for order in queryset:
            if order_refund_start(order_id=order.pk, restock=restock, reason=reason, staff=staff):
                started += 1
            else:
                skipped += 1
        if started:
            self.message_user(
                request,
                f"Refund requested for {started} order(s); each becomes refunded when Stripe "
                "confirms.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} order(s) skipped: only paid orders can be refunded.",
                messages.WARNING,
            )
        return None

    @admin.action(description="Refund in full", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse | None:
        return self._refund(request, queryset, restock=False)

    @admin.action(
        description="Refund in full and put the units back on hand", permissions=["refund"]
    )
    def refund_and_restock(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> TemplateResponse | None:
        return self._refund(request, queryset, restock=True)

    @admin.action(description="Mark as reviewed", permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = queryset.filter(needs_review=True).update(needs_review=False)
        self.message_user(request, f"{count} order(s) marked as reviewed.", messages.SUCCESS)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_id", "type", "received_at", "processed_at", "attempts", "short_error"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_id", "type"]
    fields = (
        "stripe_id",
        "type",
        "received_at",
        "processed_at",
        "attempts",
        "error",
        "pretty_payload",
    )
    readonly_fields = fields
    actions = ["reprocess"]
    # Payloads hold customer data: the log follows model permissions (view to read,
    # change to process again), not merely is_staff.

    @admin.display(description="Error / note")
    def short_error(self, event: StripeEvent) -> str:
        return event.error[:80]

    @admin.display(description="Payload")
    def pretty_payload(self, event: StripeEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Needed for the action; the fields stay read-only.
        return request.user.has_perm("checkout.change_stripeevent")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Process again", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        done = failed = 0
        for event in queryset:
            try:
                stripe_event_reprocess(event=event)
                done += 1
            except Exception as exc:
                failed += 1
                self.message_user(request, f"{event.stripe_id}: {exc}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} event(s) processed again.", messages.SUCCESS)


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "created_at", "updated_at"]
    search_fields = ["user__email"]
    inlines = [CartItemInline]
    raw_id_fields = ["user"]
