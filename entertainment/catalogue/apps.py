from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "entertainment.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"
