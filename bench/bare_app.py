"""The framework's ceiling: a Django application with nothing in it.

    python -m config.serve bench.bare_app:application --workers 2   (as the shop is served)

`settings.configure()` with no middleware, no installed app, no database and no
template; one view answering two bytes, at `/` and at `/bench/bare/` (and `/bench/page-sized/`,
as many bytes as the catalog page, to tell what sending a page costs). Served exactly as
the shop is (config/serve.py, 2 workers, Django's own ASGI handler), so what the shop
costs beyond it is the shop's: its middleware, its handler, its views. The catalog
benchmark measures it beside the shop's `/bench/bare/` (every middleware of the shop,
then the same two bytes).
"""

import django
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.asgi_handler import SyncChainASGIHandler

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-bare-app-not-secret",  # noqa: S106  (signs nothing: no middleware)
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_I18N=False,
    LOGGING_CONFIG=None,
)


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


# As many bytes as the catalog page (24 products, ~86 KB): what sending a page costs.
PAGE_SIZED = b"<!-- a page's worth of bytes -->\n" * 2600


def page_sized(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE_SIZED, content_type="text/html")


urlpatterns = [
    path("", bare),
    path("bench/bare/", bare),
    path("bench/page-sized/", page_sized),
]

django.setup(set_prefix=False)
# Django's own handler, as `django.core.asgi.get_asgi_application()` returns it.
application = ASGIHandler()
# The same nothing behind the shop's handler (config/asgi_handler.py, which keeps each
# request's thread for the next): what the shop costs beyond it is its middleware and
# its views alone.
shop_handler_application = SyncChainASGIHandler()
