from django.core.management.base import BaseCommand

from checkout.services.notifications import notifications_requeue_stale
from checkout.services.sweeper import checkouts_sweep


class Command(BaseCommand):
    help = (
        "Settle open checkouts: expire lapsed Stripe sessions, reconcile orders whose "
        "webhook never came, retry failed refund requests, release stale holds, queue "
        "again the order emails whose worker died. "
        "Idempotent and safe to run on several hosts at once; run it every minute."
    )

    def handle(self, *args, **options) -> None:
        summary = checkouts_sweep()
        self.stdout.write(str(summary))
        self.stdout.write(f"order emails queued again: {notifications_requeue_stale()}")
