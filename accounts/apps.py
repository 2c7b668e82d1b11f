from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    # allauth's own app is called "Accounts" in the admin too.
    verbose_name = "Users"
