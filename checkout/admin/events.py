"""The Stripe event log: read with view permission, processed again with change."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from checkout.admin.readonly import ReadOnlyAdminMixin
from checkout.models import (
    StripeEvent,
)
from checkout.services.events import stripe_event_reprocess


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
