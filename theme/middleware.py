"""Response middleware shared by every page of the shop."""

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class ContentSecurityPolicyMiddleware:
    """Send a Content-Security-Policy that allows no inline script.

    htmx and the shop's own script are static files, so `script-src 'self'` holds.
    The admin keeps inline styles (Django's admin templates use a few).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response  # Django's debug error pages use inline styles
        if "Content-Security-Policy" not in response:
            admin = request.path.startswith("/admin/")
            response["Content-Security-Policy"] = _policy(tuple(settings.CSP_FORM_ACTION), admin)
        return response


@cache
def _policy(form_action: tuple[str, ...], admin: bool) -> str:
    # Checkout forms post here and are redirected to Stripe's hosted page: browsers
    # apply form-action to that redirect too.
    return (
        "default-src 'self'; script-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors 'none'; form-action {' '.join(form_action)}; "
        + ("style-src 'self' 'unsafe-inline'" if admin else "style-src 'self'")
    )


class HtmxMessagesMiddleware:
    """Deliver Django messages to htmx requests as out-of-band toasts.

    A full page renders its messages in the layout; a fragment answered to htmx has no
    layout, so pending messages are appended as an out-of-band swap into #toasts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if (
            not htmx
            or htmx.history_restore_request
            or response.streaming
            or response.status_code != 200
            or "HX-Redirect" in response
            or "HX-Location" in response
            or "HX-Refresh" in response
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        storage = messages.get_messages(request)
        pending = list(storage)
        if pending:
            response.write(
                render_to_string(
                    "theme/_toasts.html", {"messages": pending, "oob": True}, request=request
                )
            )
        return response
