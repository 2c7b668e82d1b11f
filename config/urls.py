from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from theme import views as theme_views

admin.site.site_header = f"{settings.SHOP_NAME} admin"
admin.site.site_title = f"{settings.SHOP_NAME} admin"
admin.site.index_title = "Run the shop"
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
    path("admin/", admin.site.urls),
    path("healthz", theme_views.healthz, name="healthz"),
    # Product images. A larger deployment puts a CDN or object storage in front.
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]

handler404 = "theme.views.page_not_found"
handler500 = "theme.views.server_error"
