import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from theme.breaker import breaker_states
from theme.cache import cache_state

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers and compose healthchecks.

    Also reports each circuit breaker (Stripe's: "closed", "open" or "half-open") and
    the shared cache ("redis", "redis unreachable": this process keeps its limits in
    its own memory meanwhile; "local"), for people and dashboards. Neither fails the
    check: the shop serves on, and restarting it would bring back neither Stripe nor
    Redis.
    """
    breakers, cache = breaker_states(), cache_state()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("health check: database unreachable")
        return JsonResponse(
            {"status": "error", "database": "unreachable", "breakers": breakers, "cache": cache},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok", "breakers": breakers, "cache": cache})


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the failure may come from a context processor or the database.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
