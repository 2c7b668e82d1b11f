from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    # allauth's own app is called "Accounts" in the admin too.
    verbose_name = "Users"

    def ready(self) -> None:
        from accounts.groups import staff_groups_ensure

        post_migrate.connect(staff_groups_ensure, sender=self, dispatch_uid="accounts.groups")
