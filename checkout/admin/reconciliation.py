"""The admin's list of reconciliations with Stripe (registered from checkout/admin.py).

Runs are written only by checkout.services.reconciliation: staff look, never edit.
Staff ask for a new run on the sales page (/admin/sales/), which needs the "add"
permission; the admin's own add form is not offered.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from checkout.models import ReconciliationRun
from checkout.services.reconciliation_runs import discrepancies_of
from theme.templatetags.shop import money


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "trigger", "status", "ok", "since", "until", "finished_at"]
    list_filter = ["status", "ok", "trigger"]
    date_hierarchy = "requested_at"
    list_select_related = ["requested_by"]
    fields = readonly_fields = (
        "status",
        "trigger",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
        "since",
        "until",
        "ok",
        "summary",
        "discrepancy_table",
        "counts",
        "error",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # asked for on the sales page, run by the worker

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Discrepancies")
    def discrepancy_table(self, run: ReconciliationRun) -> str:
        items = discrepancies_of(run)
        if not items:
            return "None"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    item.label,
                    item.stripe_id or "—",
                    money(item.amount, item.currency) if item.amount is not None else "",
                    format_html(
                        '<a href="{}">#{}</a>',
                        reverse("admin:checkout_order_change", args=[item.order_id]),
                        item.order_id,
                    )
                    if item.order_id
                    else "",
                    item.detail,
                )
                for item in items
            ),
        )
        return format_html(
            "<table><thead><tr><th>What</th><th>Stripe id</th><th>Amount</th><th>Order</th>"
            "<th>Detail</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )
