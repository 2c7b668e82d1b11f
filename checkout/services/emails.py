"""What the shop emails. Sent on commit of the change it reports; a mail failure is
logged and never undoes that change."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from checkout.models import Order

logger = logging.getLogger(__name__)


def order_confirmation_send(*, order_id: int) -> None:
    """Email the shopper their receipt. Runs on commit of the payment; a mail failure is
    logged and never undoes the payment."""
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    context = {"order": order, "shop_name": settings.SHOP_NAME}
    try:
        send_mail(
            subject=f"[{settings.SHOP_NAME}] Order #{order.pk} is confirmed",
            message=render_to_string("checkout/email/order_paid.txt", context),
            from_email=None,
            recipient_list=[order.email],
        )
    except Exception:
        logger.exception("order %s: confirmation email failed", order.pk)
