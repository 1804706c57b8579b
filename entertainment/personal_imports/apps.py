from django.apps import AppConfig


class PersonalImportsConfig(AppConfig):
    name = "entertainment.personal_imports"
    label = "personal_imports"
    verbose_name = "Personal imports"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (the export section and the erasure listener)
