from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal handlers)
        from .exports import register_sections

        register_sections()
