"""Orders in the admin: lines, holds and emails inline; fulfilment, refunds, review."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from catalog.models import StockReservation
from checkout.admin.fulfilment import FulfilmentAdmin, FulfilmentQueueFilter
from checkout.admin.readonly import ReadOnlyAdminMixin
from checkout.models import (
    Order,
    OrderLine,
    OrderNotification,
)
from checkout.resilience import shopper_budget
from checkout.services.refunds import order_refund_start
from theme.templatetags.shop import money


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


class OrderNotificationInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The emails about the order: whether each went, and why not yet."""

    model = OrderNotification
    fields = ("kind", "status", "attempts", "sent_at", "next_attempt_at", "last_error")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "Emails"

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Whoever may see the order may see what it was emailed about.
        return request.user.has_perm("checkout.view_order")


class ReservationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StockReservation
    fields = ("product", "quantity", "status", "expires_at", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Order)
class OrderAdmin(FulfilmentAdmin):
    # The order's own page is the shopper's, which staff cannot open as themselves.
    view_on_site = False
    list_display = [
        "__str__",
        "email",
        "status",
        "fulfilment_status",
        "total",
        "created_at",
        "paid_at",
        "needs_review",
    ]
    list_filter = [
        FulfilmentQueueFilter,
        "status",
        "fulfilment_status",
        "needs_review",
        "created_at",
    ]
    search_fields = ["=id", "email", "stripe_session_id", "stripe_payment_intent_id"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, ReservationInline, OrderNotificationInline]
    actions = [
        "mark_packed",
        "mark_shipped",
        "mark_delivered",
        "refund",
        "refund_and_restock",
        "mark_reviewed",
    ]
    list_select_related = ["user"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "user",
                    "email",
                    "status",
                    "items_total",
                    "shipping_paid",
                    "discount",
                    "tax",
                    "total",
                    "from_cart",
                ]
            },
        ),
        ("Review", {"fields": ["needs_review", "review_reason"]}),
        (
            "Shipping and fulfilment",
            {
                "fields": [
                    "shipping_block",
                    "shipping_rate_name",
                    "fulfilment_status",
                    "tracking_block",
                    "packed_at",
                    "shipped_at",
                    "delivered_at",
                ]
            },
        ),
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
        "items_total",
        "discount",
        "tax",
        "total",
        "shipping_block",
        "shipping_rate_name",
        "shipping_paid",
        "fulfilment_status",
        "tracking_block",
        "packed_at",
        "shipped_at",
        "delivered_at",
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

    def get_urls(self):
        return [*self.get_fulfilment_urls(), *super().get_urls()]

    @admin.display(description="Shipping")
    def shipping_paid(self, order: Order) -> str:
        return money(order.shipping_amount, order.currency) if order.shipping_rate_name else "—"

    @admin.display(description="Total")
    def total(self, order: Order) -> str:
        """What the shopper pays (items, shipping, tax and discount as Stripe reported)."""
        return money(order.total_charged, order.currency)

    @admin.display(description="Items")
    def items_total(self, order: Order) -> str:
        return money(order.items_amount, order.currency)

    @admin.display(description="Discount")
    def discount(self, order: Order) -> str:
        return f"−{money(order.amount_discount, order.currency)}" if order.amount_discount else "—"

    @admin.display(description="Tax")
    def tax(self, order: Order) -> str:
        return money(order.amount_tax, order.currency) if order.amount_tax else "—"

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
        # Each refund request goes to Stripe as its order's transaction commits, with no
        # connection held; a staff member waits on this page, so all of them share one
        # time budget. A request that does not get through is asked again by the sweeper.
        with shopper_budget():
            for order in queryset:
                if order_refund_start(
                    order_id=order.pk, restock=restock, reason=reason, staff=staff
                ):
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
