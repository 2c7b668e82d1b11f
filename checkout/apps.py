from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "checkout"

    def ready(self) -> None:
        from checkout import signals  # noqa: F401  (connects the login cart merge)
