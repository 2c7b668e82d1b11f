"""The request of a view behind theme.htmx.login_required, for type checkers."""

from accounts.models import User
from theme.htmx import HtmxHttpRequest


class SignedInHttpRequest(HtmxHttpRequest):
    """A request that login_required let through: its user is signed in."""

    user: User
