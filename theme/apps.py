from django.apps import AppConfig


class ThemeConfig(AppConfig):
    name = "theme"

    def ready(self) -> None:
        from django.urls import register_converter

        from theme import checks  # noqa: F401  (registers the money settings check)
        from theme.params import IdConverter

        # `<id:pk>` in every app's URLs: ids from paths go through the one parser too.
        register_converter(IdConverter, "id")
