from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "entertainment.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from .artwork import apply_pillow_limit

        apply_pillow_limit()
