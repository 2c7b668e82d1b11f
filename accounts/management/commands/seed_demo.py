from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.groups import FULFILMENT
from accounts.models import User

DEMO_SHOPPER = ("shopper@example.com", "shop-demo-2026")
DEMO_STAFF = ("staff@example.com", "staff-demo-2026")
# A staff member with limited permissions: the fulfilment group (no refunds, no counts).
DEMO_FULFILMENT = ("packer@example.com", "pack-demo-2026")


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
            packer = User.objects.create_user(DEMO_FULFILMENT[0], DEMO_FULFILMENT[1], is_staff=True)
            packer.groups.add(Group.objects.get(name=FULFILMENT))
            self.stdout.write(
                self.style.SUCCESS(
                    "Demo accounts created:\n"
                    f"  shopper  {DEMO_SHOPPER[0]}  password {DEMO_SHOPPER[1]}\n"
                    f"  staff    {DEMO_STAFF[0]}  password {DEMO_STAFF[1]}  (/admin/)\n"
                    f"  packer   {DEMO_FULFILMENT[0]}  password {DEMO_FULFILMENT[1]}  "
                    "(/admin/, fulfilment group)"
                )
            )
        call_command("seed_catalog", stdout=self.stdout)
        call_command("seed_shipping", stdout=self.stdout)
