"""The order admin's fulfilment tools: pack, ship (with tracking), deliver, one at a time
or in bulk, the "to pack" and "to ship" queues, and correcting a shipping address.

Every step goes through checkout.services.fulfilment (conditional, under the order's
row lock) and needs the "can fulfil orders" permission, checked here in the views.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.models import User
from checkout.models import Order
from checkout.services.fulfilment import (
    FulfilmentRefused,
    Tracking,
    order_deliver,
    order_pack,
    order_ship,
)
from checkout.services.shipping import AddressCorrectionRefused, order_shipping_address_correct
from checkout.sessions import ADDRESS_FIELDS

F = Order.Fulfilment
FULFIL_PERMISSION = "checkout.fulfil_order"


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (admin views run only for them)."""
    assert isinstance(request.user, User)
    return request.user


class FulfilmentQueueFilter(admin.SimpleListFilter):
    title = "fulfilment"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("to_pack", "To pack"),
            ("to_ship", "To ship"),
            ("shipped", "Shipped, not delivered"),
            ("delivered", "Delivered"),
        ]

    def queryset(self, request, queryset):
        paid = queryset.filter(status=Order.Status.PAID)
        match self.value():
            case "to_pack":
                return paid.filter(fulfilment_status=F.UNFULFILLED)
            case "to_ship":
                return paid.filter(fulfilment_status=F.PACKED)
            case "shipped":
                return queryset.filter(fulfilment_status=F.SHIPPED)
            case "delivered":
                return queryset.filter(fulfilment_status=F.DELIVERED)
        return queryset


class TrackingForm(forms.Form):
    carrier = forms.CharField(max_length=100)
    tracking_number = forms.CharField(max_length=100)
    tracking_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="A link the shopper can follow (http or https).",
    )

    def clean_tracking_url(self) -> str:
        url = self.cleaned_data["tracking_url"]
        if url and not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http and https links.")
        return url


class AddressForm(forms.Form):
    name = forms.CharField(max_length=255)
    line1 = forms.CharField(label="Address line 1", max_length=200)
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100)
    state = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, min_length=2, help_text="ISO code, e.g. IE")

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].upper()
        if country not in settings.SHIPPING_COUNTRIES:
            raise forms.ValidationError(
                "The shop does not ship there (SHIPPING_COUNTRIES: "
                f"{', '.join(settings.SHIPPING_COUNTRIES)})."
            )
        return country


class FulfilmentAdmin(admin.ModelAdmin):
    """The base of OrderAdmin: its fulfilment actions, views and fields."""

    fulfilment_actions = ["mark_packed", "mark_shipped", "mark_delivered"]

    def has_fulfil_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(FULFIL_PERMISSION)

    def _require_fulfil(self, request: HttpRequest) -> None:
        if not self.has_fulfil_permission(request):
            raise PermissionDenied

    def _step(self, request: HttpRequest, queryset: QuerySet[Order], step, done: str) -> None:
        moved, refused = 0, []
        for order in queryset.order_by("pk"):
            try:
                step(order_id=order.pk, staff=_staff(request))
                moved += 1
            except FulfilmentRefused as exc:
                refused.append(str(exc))
        if moved:
            self.message_user(request, f"{moved} order(s) {done}.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Mark packed", permissions=["fulfil"])
    def mark_packed(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._require_fulfil(request)
        self._step(request, queryset, order_pack, "marked packed")

    @admin.action(description="Mark delivered", permissions=["fulfil"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._require_fulfil(request)
        self._step(request, queryset, order_deliver, "marked delivered")

    @admin.action(description="Mark shipped (tracking for each order)", permissions=["fulfil"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        """A page with a tracking form per selected order; saving ships each one."""
        self._require_fulfil(request)
        # Only orders that can ship get a tracking form; the others are named, not asked.
        selected = list(queryset.order_by("pk"))
        orders = [
            order
            for order in selected
            if order.can_be_fulfilled and order.fulfilment_status in (F.UNFULFILLED, F.PACKED)
        ]
        skipped = [order for order in selected if order not in orders]
        if not orders:
            self.message_user(
                request, "None of the selected orders can be shipped now.", messages.WARNING
            )
            return None
        forms_by_order = [
            (
                order,
                TrackingForm(
                    request.POST if request.POST.get("ship") == "yes" else None,
                    prefix=f"o{order.pk}",
                ),
            )
            for order in orders
        ]
        if request.POST.get("ship") == "yes" and all(f.is_valid() for _, f in forms_by_order):
            shipped, refused = 0, []
            for order, form in forms_by_order:
                data = form.cleaned_data
                try:
                    order_ship(
                        order_id=order.pk,
                        tracking=Tracking(
                            carrier=data["carrier"],
                            number=data["tracking_number"],
                            url=data["tracking_url"],
                        ),
                        staff=_staff(request),
                    )
                    shipped += 1
                except FulfilmentRefused as exc:
                    refused.append(str(exc))
            if shipped:
                self.message_user(
                    request,
                    f"{shipped} order(s) shipped; the shoppers are emailed.",
                    messages.SUCCESS,
                )
            for reason in refused:
                self.message_user(request, reason, messages.WARNING)
            return None
        return TemplateResponse(
            request,
            "admin/checkout/order/ship.html",
            {
                **self.admin_site.each_context(request),
                "title": "Ship orders",
                "forms": forms_by_order,
                "queryset": orders,
                "skipped": skipped,
                "action": request.POST.get("action", ""),
                "opts": Order._meta,
            },
        )

    # --- Shipping address ----------------------------------------------------------

    def get_fulfilment_urls(self):
        return [
            path(
                "<int:object_id>/address/",
                self.admin_site.admin_view(self.address_view),
                name="checkout_order_address",
            ),
        ]

    def address_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Staff correct the shipping address before the order ships."""
        self._require_fulfil(request)
        order = Order.objects.filter(pk=object_id).first()
        if order is None:
            raise Http404("No such order")
        initial = {"name": order.shipping_name, **order.shipping_address}
        form = AddressForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                order_shipping_address_correct(
                    order_id=order.pk,
                    name=data["name"],
                    address={key: data.get(key, "") for key in ADDRESS_FIELDS},
                    staff=_staff(request),
                )
            except AddressCorrectionRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, "Shipping address corrected.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:checkout_order_change", args=[order.pk]))
        return TemplateResponse(
            request,
            "admin/checkout/order/address.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Shipping address of order #{order.pk}",
                "order": order,
                "form": form,
                "opts": Order._meta,
            },
        )

    # --- Display -------------------------------------------------------------------

    @admin.display(description="Ship to")
    def shipping_block(self, order: Order) -> str:
        if not order.shipping_address:
            return "—"
        lines = [order.shipping_name] + [
            order.shipping_address[key]
            for key in ("line1", "line2", "postal_code", "city", "state", "country")
            if order.shipping_address.get(key)
        ]
        text = format_html_join("", "{}<br>", ((line,) for line in lines))
        link = reverse("admin:checkout_order_address", args=[order.pk])
        corrected = ""
        if order.shipping_address_corrected_at:
            corrected = format_html(
                "<br><small>Corrected by {} on {}</small>",
                order.shipping_address_corrected_by,
                order.shipping_address_corrected_at.strftime("%Y-%m-%d %H:%M"),
            )
        return format_html('{}{} <a href="{}">Correct</a>', text, corrected, link)

    @admin.display(description="Tracking")
    def tracking_block(self, order: Order) -> str:
        if not order.tracking_number:
            return "—"
        if order.tracking_url:
            return format_html(
                '{} <a href="{}" rel="noopener noreferrer">{}</a>',
                order.carrier,
                order.tracking_url,
                order.tracking_number,
            )
        return f"{order.carrier} {order.tracking_number}"
