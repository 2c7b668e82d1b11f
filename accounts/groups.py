"""The staff groups every shop has, on every database, a fresh one included.

Permissions exist only once migrations have run (Django creates them on post_migrate),
so the groups are set up on post_migrate too, after making sure the permissions exist.
Running it again only adds what is missing; permissions staff gave a group by hand are
kept.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

SHOP_MANAGERS = "Shop managers"
FULFILMENT = "Fulfilment"

# Shop managers may do everything in the shop's own apps.
MANAGER_APPS = ("accounts", "catalog", "checkout")
# Fulfilment packs and ships orders and looks up products; no refunds, no stock counts.
FULFILMENT_PERMISSIONS = (
    "checkout.view_order",
    "checkout.fulfil_order",
    "checkout.view_orderline",
    "catalog.view_product",
    "catalog.view_stockreservation",
)


def _permissions(labels: tuple[str, ...]) -> list[Permission]:
    found = []
    for label in labels:
        app_label, codename = label.split(".")
        found += list(
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        )
    return found


def staff_groups_ensure(**kwargs) -> None:
    """post_migrate receiver: create the groups and give them their permissions."""
    for config in global_apps.get_app_configs():
        create_permissions(config, verbosity=0)
    managers, _ = Group.objects.get_or_create(name=SHOP_MANAGERS)
    managers.permissions.add(*Permission.objects.filter(content_type__app_label__in=MANAGER_APPS))
    fulfilment, _ = Group.objects.get_or_create(name=FULFILMENT)
    fulfilment.permissions.add(*_permissions(FULFILMENT_PERMISSIONS))
