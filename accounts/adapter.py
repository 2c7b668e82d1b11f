"""allauth's emails in the shop's name, sent by the background worker.

The sites framework is not installed, so allauth names the site after the request's
host ("Hello from 127.0.0.1:8000!") and builds its links on that host. This adapter
gives its templates the shop's name and SHOP_BASE_URL instead; the subject prefix is
ACCOUNT_EMAIL_SUBJECT_PREFIX and the layout theme/templates/account/email/. The email is
rendered in the request and queued (theme.emails.email_queue): the page never waits on
the mail server.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.http import HttpRequest

from theme.emails import email_context, email_queue, shop_url


@dataclass(frozen=True)
class ShopSite:
    """What allauth's templates read of a Site: its name and its domain."""

    name: str
    domain: str


def on_shop_base_url(url: str) -> str:
    """The same page as `url`, on SHOP_BASE_URL rather than the request's host."""
    parts = urlsplit(url)
    return shop_url(parts.path + (f"?{parts.query}" if parts.query else ""))


class ShopAccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """As allauth's, with the shop as the site, and queued rather than sent."""
        site = ShopSite(name=settings.SHOP_NAME, domain=urlsplit(settings.SHOP_BASE_URL).netloc)
        full = {
            **email_context(),
            "request": allauth_context.request,
            "email": email,
            "current_site": site,
            **context,
        }
        email_queue(self.render_mail(template_prefix, email, full))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return on_shop_base_url(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return on_shop_base_url(super().get_email_confirmation_url(request, emailconfirmation))
