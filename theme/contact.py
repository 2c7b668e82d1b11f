"""The contact page: how to reach the shop. It needs no app of its own, so it lives in
the theme, beside the layout whose footer links to it."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from theme.emails import shop_address_lines


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    """GET /contact/: the shop's email and postal address, from settings."""
    return render(
        request,
        "theme/contact.html",
        {
            "contact_email": settings.SHOP_CONTACT_EMAIL,
            "address_lines": shop_address_lines(),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )
