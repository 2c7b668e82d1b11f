"""The staff sales page (/admin/sales/): the business at a glance, CSV exports, and
reconciliation with Stripe.

Each view is wrapped in the admin site's `admin_view` (checkout/staff_urls.py): active
staff only, signed in through the admin's login, never cached. What a staff member
sees follows their model permissions, checked here: the page and the orders export
need "view order", stock figures "view product", the stock ledger export "view stock
movement", the last reconciliation "view reconciliation", asking for one "add
reconciliation".
"""

from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from checkout import charts, exports
from checkout.models import ReconciliationRun
from checkout.periods import DEFAULT_DAYS, MAX_DAYS, Period, period_default, period_of, shop_today
from checkout.reports import report_currencies, sales_report
from checkout.services.reconciliation_runs import (
    discrepancies_of,
    reconciliation_latest,
    reconciliation_request,
)

VIEW_ORDERS = "checkout.view_order"
VIEW_PRODUCTS = "catalog.view_product"
VIEW_LEDGER = "catalog.view_stockmovement"
VIEW_RUNS = "checkout.view_reconciliationrun"
REQUEST_RUN = "checkout.add_reconciliationrun"
# Quick links above the form: (days, label).
QUICK_RANGES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "12 months")]
DISCREPANCIES_SHOWN = 20


class SalesRangeForm(forms.Form):
    """The period (whole days, in the shop's time zone) and the currency of the page."""

    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    currency = forms.ChoiceField(label="Currency", required=False)

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = [(c, c.upper()) for c in currencies]
        self.currencies = currencies

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        default = period_default()
        span = default.last - default.first
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if start is None:
            end = end or default.last
            start = end - span
        elif end is None:
            end = min(start + span, max(start, shop_today()))
        if end < start:
            raise forms.ValidationError("“To” must be on or after “From”.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        data["currency"] = data.get("currency") or self.currencies[0]
        return data

    def period(self) -> Period:
        return period_of(self.cleaned_data["start"], self.cleaned_data["end"])


def _form(request: HttpRequest) -> SalesRangeForm:
    currencies = report_currencies()
    params = request.GET if any(k in request.GET for k in ("start", "end", "currency")) else None
    return SalesRangeForm(params or {}, currencies=currencies)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _query(period: Period, currency: str | None = None) -> str:
    params = {"start": period.first.isoformat(), "end": period.last.isoformat()}
    if currency:
        params["currency"] = currency
    return urlencode(params)


@require_GET
def sales(request: HttpRequest) -> TemplateResponse:
    _require(request, VIEW_ORDERS)
    user = request.user
    form = _form(request)
    context: dict = {
        **admin.site.each_context(request),
        "title": "Sales",
        "form": form,
        "quick_ranges": [
            (label, _query(period_of(shop_today() - timedelta(days=days - 1), shop_today())))
            for days, label in QUICK_RANGES
        ],
        "default_days": DEFAULT_DAYS,
        "many_currencies": len(form.currencies) > 1,
        "can_view_products": user.has_perm(VIEW_PRODUCTS),
        "can_export_ledger": user.has_perm(VIEW_LEDGER),
        "can_view_runs": user.has_perm(VIEW_RUNS),
        "can_request_run": user.has_perm(REQUEST_RUN),
    }
    if form.is_valid():
        period, currency = form.period(), form.cleaned_data["currency"]
        # Shown filled in with the period it resolved to (the default one included).
        context["form"] = SalesRangeForm(
            initial={"start": period.first, "end": period.last, "currency": currency},
            currencies=form.currencies,
        )
        report = sales_report(
            period=period, currency=currency, with_stock=context["can_view_products"]
        )
        context.update(
            report=report,
            period=period,
            currency=currency,
            chart=charts.daily_revenue_chart(
                days=report.days, parts=report.parts, currency=currency
            ),
            status_rows=list(
                zip(
                    report.statuses, charts.shares([s.orders for s in report.statuses]), strict=True
                )
            ),
            units_rows=list(
                zip(
                    report.top_by_units,
                    charts.shares([p.units for p in report.top_by_units]),
                    strict=True,
                )
            ),
            revenue_rows=list(
                zip(
                    report.top_by_revenue,
                    charts.shares([p.revenue for p in report.top_by_revenue]),
                    strict=True,
                )
            ),
            conversion_percent=(
                round(100 * report.conversion, 1) if report.conversion is not None else None
            ),
            export_query=_query(period),
            orders_link_query=urlencode(
                {
                    "created_at__gte": period.start.isoformat(),
                    "created_at__lt": period.end.isoformat(),
                }
            ),
        )
    if context["can_view_runs"]:
        run = reconciliation_latest()
        context.update(
            run=run,
            run_discrepancies=discrepancies_of(run)[:DISCREPANCIES_SHOWN] if run else [],
            run_waiting=run is not None
            and run.status
            in (ReconciliationRun.Status.REQUESTED, ReconciliationRun.Status.RUNNING),
        )
    return TemplateResponse(request, "admin/checkout/sales.html", context)


def _csv_response(request: HttpRequest, chunks, filename: str) -> StreamingHttpResponse:
    # Under ASGI an async iterator is streamed as it is produced; Django would read a
    # sync iterator whole into memory first (and warn).
    content = exports.as_async(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_period(request: HttpRequest) -> Period | HttpResponse:
    form = _form(request)
    if not form.is_valid():
        problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponseBadRequest(f"Bad period: {problems}", content_type="text/plain")
    return form.period()


@require_GET
def orders_export(request: HttpRequest) -> HttpResponseBase:
    _require(request, VIEW_ORDERS)
    period = _export_period(request)
    if isinstance(period, HttpResponse):
        return period
    return _csv_response(
        request,
        exports.orders_csv(period=period),
        f"orders-{period.first.isoformat()}-{period.last.isoformat()}.csv",
    )


@require_GET
def stock_ledger_export(request: HttpRequest) -> HttpResponseBase:
    _require(request, VIEW_LEDGER)
    period = _export_period(request)
    if isinstance(period, HttpResponse):
        return period
    return _csv_response(
        request,
        exports.stock_ledger_csv(period=period),
        f"stock-ledger-{period.first.isoformat()}-{period.last.isoformat()}.csv",
    )


@require_POST
def reconcile_request(request: HttpRequest) -> HttpResponse:
    """Store a requested run; the reconcile worker runs it (never this request)."""
    _require(request, REQUEST_RUN)
    staff = request.user if request.user.is_authenticated else None
    run, created = reconciliation_request(staff=staff)
    if created:
        messages.success(
            request,
            f"Reconciliation #{run.pk} requested; it runs within a minute and shows below.",
        )
    else:
        messages.info(
            request, f"Reconciliation #{run.pk} is already {run.get_status_display().lower()}."
        )
    back = reverse("sales:index")
    if query := request.POST.get("query", ""):
        form = SalesRangeForm(dict(parse_qsl(query)[:3]), currencies=report_currencies())
        if form.is_valid():
            back += "?" + _query(form.period(), form.cleaned_data["currency"])
    return redirect(back)
