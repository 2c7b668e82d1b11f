"""What every view of the shop needs to answer htmx and plain requests alike.

The ground floor: written once here, where catalog, checkout and dashboard may all
import it (theme imports no other app of the shop).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for type checkers)."""

    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """True when the answer should be a fragment: an htmx request that is not a
    history restore (the back button after a cache miss needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def htmx_redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for htmx requests: htmx would follow a 302 inside its
    XHR and swap the target page into the fragment, so it gets HX-Redirect instead."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def login_redirect(request: HtmxHttpRequest, next_url: str | None = None) -> HttpResponse:
    """Send the visitor to the login form, then back to `next_url`.

    For htmx (a poller whose session ended, a button in a fragment) the whole tab goes
    to the login form and comes back to the page it was on, instead of the form being
    swapped into the fragment.
    """
    if next_url is None:
        if request.htmx:
            next_url = request.htmx.current_url_abs_path or request.get_full_path()
        else:
            next_url = request.get_full_path()
    return htmx_redirect(request, redirect_to_login(next_url).url)


def login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's login_required, coping with htmx (see `login_redirect`)."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        return login_redirect(request)

    return wrapper
