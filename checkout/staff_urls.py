"""The staff sales page, under /admin/sales/ (config/urls.py), inside the admin site:
each view goes through `admin.site.admin_view` (active staff, the admin's login,
never cached, CSRF-protected) and checks its own model permissions."""

from django.contrib import admin
from django.urls import path

from checkout.views import staff

app_name = "sales"
urlpatterns = [
    path("", admin.site.admin_view(staff.sales), name="index"),
    path("orders.csv", admin.site.admin_view(staff.orders_export), name="orders_csv"),
    path(
        "stock-ledger.csv",
        admin.site.admin_view(staff.stock_ledger_export),
        name="stock_ledger_csv",
    ),
    path("reconcile/", admin.site.admin_view(staff.reconcile_request), name="reconcile"),
]
