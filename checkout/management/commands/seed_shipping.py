from django.conf import settings
from django.core.management.base import BaseCommand

from checkout.models import ShippingRate

DEMO_RATES = [
    # name, amount, min days, max days, free from
    ("Standard", 490, 3, 5, 5000),
    ("Express", 1290, 1, 2, None),
]


class Command(BaseCommand):
    help = (
        "Create the demo shop's shipping rates (Standard, free from 50.00; Express) when "
        "there are none. Staff change them in the admin."
    )

    def handle(self, *args, **options) -> None:
        if ShippingRate.objects.exists():
            self.stdout.write("seed_shipping: shipping rates exist; nothing to do")
            return
        for order, (name, amount, min_days, max_days, free_from) in enumerate(DEMO_RATES):
            ShippingRate.objects.create(
                name=name,
                amount=amount,
                currency=settings.SHOP_CURRENCY,
                min_days=min_days,
                max_days=max_days,
                free_over_amount=free_from,
                sort_order=order,
            )
        self.stdout.write(self.style.SUCCESS(f"Created {len(DEMO_RATES)} shipping rates."))
