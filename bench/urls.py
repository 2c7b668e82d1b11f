"""The shop's URLs plus /bench/bare/ and /bench/stack/, used only by the benchmarks
(bench/settings.py)."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from config.urls import handler404, handler500  # noqa: F401  (the shop's error pages)


@csrf_exempt  # a ceiling for the webhook (exempt) and for plain posts alike
def bare(request: HttpRequest) -> HttpResponse:
    """The framework's own ceiling: every middleware of the shop, then a constant answer.

    No template, no query: whatever the shop's pages cost above this is theirs.
    """
    return HttpResponse(b"ok", content_type="text/plain")


@require_GET
def stack(request: HttpRequest) -> JsonResponse:
    """What this server runs, as the harness checks it against a variant's label: the
    database driver, the pool's options (null: none), the static files middleware,
    whether connections go back to the pool during Stripe calls, and the authentication
    backend its signed-in sessions name."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        import psycopg as driver
    else:
        import psycopg2 as driver
    static = [
        name
        for name in settings.MIDDLEWARE
        if name.endswith(("NoiseMiddleware", "StaticMiddleware"))
    ]
    return JsonResponse(
        {
            "driver": driver.__name__,
            "driver_version": driver.__version__.split()[0],
            "pool": connection.settings_dict["OPTIONS"].get("pool") or None,
            "static": static[0].split(".")[0] if static else None,
            "release_db_connections": settings.STRIPE_RELEASE_DB_CONNECTIONS,
            "auth_backend": settings.AUTHENTICATION_BACKENDS[0],
        }
    )


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("bench/stack/", stack, name="bench_stack"),
    path("", include("config.urls")),
]
