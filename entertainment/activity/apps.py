from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "entertainment.activity"
    label = "activity"
    verbose_name = "Activity"
