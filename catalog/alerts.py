"""Staff alerts about stock, on the theme's email layout, sent by the background worker.

A sale that takes a product to its reorder level queues the alert in the sale's own
transaction (`low_stock_alert_queue`), so it goes if and only if the sale commits; the
sale happens once per order, so the alert is queued once per crossing.
"""

from django.conf import settings
from django.urls import reverse
from django_tasks import task

from catalog.models import Product
from theme.emails import email_build, shop_url, task_retry_later


def low_stock_alert_queue(*, product_ids: list[int]) -> None:
    """Queue the low stock email about these products, in the caller's transaction.
    Nothing is queued while STOCK_ALERT_EMAILS is empty."""
    if settings.STOCK_ALERT_EMAILS:
        low_stock_alert.enqueue(product_ids=sorted(product_ids))


def low_stock_alert_send(*, product_ids: list[int]) -> None:
    """Email staff that these products reached their reorder level, with the stock they
    have now. Raises when the mail server refuses or cannot be reached."""
    products = list(Product.objects.filter(pk__in=product_ids).order_by("name"))
    recipients = settings.STOCK_ALERT_EMAILS
    if not (products and recipients):
        return
    rows = [
        {
            "product": p,
            "admin_url": shop_url(reverse("admin:catalog_product_change", args=[p.pk])),
        }
        for p in products
    ]
    email_build(template="catalog/email/low_stock", context={"rows": rows}, to=recipients).send()


@task()
def low_stock_alert(*, product_ids: list[int], attempt: int = 1) -> str:
    """The worker's task: send the alert; after a failure, queue the next attempt after
    `retry_delay`, or give up (logged as an error) after the last."""
    try:
        low_stock_alert_send(product_ids=product_ids)
    except Exception as exc:
        return task_retry_later(
            low_stock_alert,
            attempt=attempt,
            error=exc,
            what=f"low stock alert for {product_ids}",
            product_ids=product_ids,
        )
    return "sent"
