"""What the shop emails about an order, on the theme's layout (theme/emails.py).

Built by the worker when it sends (checkout.services.notifications), never in the
request or webhook that caused it. Shopper emails show what the shopper may see: the
reason staff wrote for a refund, never who asked for it.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from checkout.models import Order, OrderNotification
from theme.emails import email_build, shop_url

K = OrderNotification.Kind

STAFF_KINDS = frozenset({K.STAFF_NEW_ORDER})


@dataclass(frozen=True)
class TotalRow:
    label: str
    amount: int  # minor units; a discount is negative


def order_email_recipients(*, order: Order, kind: str) -> list[str]:
    """Who gets the email of `kind` about `order`: staff (ORDER_ALERT_EMAILS) for staff
    kinds, otherwise the shopper's email address on the order."""
    if kind in STAFF_KINDS:
        return list(settings.ORDER_ALERT_EMAILS)
    return [order.email] if order.email else []


def order_email_build(*, order: Order, kind: str) -> EmailMultiAlternatives:
    """The email of `kind` about `order`, rendered from checkout/email/<kind>.*"""
    return email_build(
        template=f"checkout/email/{kind}",
        context=order_email_context(order=order),
        to=order_email_recipients(order=order, kind=kind),
    )


def order_email_context(*, order: Order) -> dict[str, Any]:
    lines = list(order.lines.all())
    return {
        "order": order,
        "lines": lines,
        "totals": _total_rows(order=order, items=sum(line.line_total for line in lines)),
        "total": order.total_charged,
        "currency": order.stripe_currency or order.currency,
        "shipping_name": order.shipping_name,
        "shipping_address_lines": _address_lines(order.shipping_address),
        "order_url": shop_url(order.get_absolute_url()),
        "cart_url": shop_url(reverse("checkout:cart")),
        "admin_url": shop_url(reverse("admin:checkout_order_change", args=[order.pk])),
    }


def _total_rows(*, order: Order, items: int) -> list[TotalRow]:
    """The lines of the totals above "Total", as Stripe reported them; shipping, tax and
    discount only where the order has them."""
    rows = [TotalRow("Items", items)]
    if order.shipping_amount or order.shipping_rate_name:
        label = f"Shipping ({order.shipping_rate_name})" if order.shipping_rate_name else "Shipping"
        rows.append(TotalRow(label, order.shipping_amount))
    if order.amount_discount:
        rows.append(TotalRow("Discount", -order.amount_discount))
    if order.amount_tax:
        rows.append(TotalRow("Tax", order.amount_tax))
    return rows


def _address_lines(address: Any) -> list[str]:
    """An address stored as Stripe gives it (a dict) or as text, as lines."""
    if not address:
        return []
    if isinstance(address, str):
        return [line.strip() for line in address.splitlines() if line.strip()]
    if isinstance(address, dict):
        city = " ".join(str(address[k]) for k in ("postal_code", "city") if address.get(k))
        parts = [address.get("line1"), address.get("line2"), city, address.get("state")]
        parts.append(address.get("country"))
        return [str(part) for part in parts if part]
    return [str(address)]
