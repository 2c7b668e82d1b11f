from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict:
    """The shop's name, for the layout."""
    return {"SHOP_NAME": settings.SHOP_NAME}
