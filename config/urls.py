from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, include, path, re_path
from django.views.static import serve

from theme import views as theme_views
from theme.contact import contact

admin.site.site_header = f"{settings.SHOP_NAME} admin"
admin.site.site_title = f"{settings.SHOP_NAME} admin"
admin.site.index_title = "Run the shop"
# The admin's home page, with a link to the sales page above the apps.
admin.site.index_template = "admin/checkout/index.html"
# Staff sign in through allauth's login page, with its rate limits, instead of the
# admin's own form, which has none (allauth's docs: "Admin"). A signed-in staff member
# is sent on to the admin; a signed-in shopper gets a 403.
# (mypy: replacing a method of this one instance is the point.)
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", include("catalog.urls")),
    path("", include("checkout.urls")),
    path("orders/", include("dashboard.urls")),
    path("accounts/", include("allauth.urls")),
    # The staff sales page, inside the admin site (checkout/staff_urls.py).
    path("admin/sales/", include("checkout.staff_urls")),
    path("admin/", admin.site.urls),
    path("healthz", theme_views.healthz, name="healthz"),
    path("contact/", contact, name="contact"),
]


def media_urlpatterns() -> list[URLPattern]:
    """Product images at /media/, served by Django in development and tests only
    (SERVE_MEDIA): in production the proxy serves them from the volume it shares with
    the web processes (deploy/nginx/)."""
    if not settings.SERVE_MEDIA:
        return []
    return [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]


urlpatterns += media_urlpatterns()

handler404 = "theme.views.page_not_found"
handler500 = "theme.views.server_error"
