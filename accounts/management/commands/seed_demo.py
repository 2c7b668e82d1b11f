from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.models import User

DEMO_SHOPPER = ("shopper@example.com", "shop-demo-2026")
DEMO_STAFF = ("staff@example.com", "staff-demo-2026")


class Command(BaseCommand):
    help = (
        "Set up a demo shop on an empty database: a demo shopper, a staff user and the "
        "demo catalog. Does nothing to a database that already has users."
    )

    def handle(self, *args, **options) -> None:
        if User.objects.exists():
            self.stdout.write("seed_demo: users exist; leaving the database as it is")
        else:
            User.objects.create_user(DEMO_SHOPPER[0], DEMO_SHOPPER[1])
            User.objects.create_superuser(DEMO_STAFF[0], DEMO_STAFF[1])
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo accounts created:\n"
                    f"  shopper  {DEMO_SHOPPER[0]}  password {DEMO_SHOPPER[1]}\n"
                    f"  staff    {DEMO_STAFF[0]}  password {DEMO_STAFF[1]}  (/admin/)"
                )
            )
        call_command("seed_catalog", stdout=self.stdout)
