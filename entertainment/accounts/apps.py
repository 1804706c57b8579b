from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "entertainment.accounts"
    label = "accounts"
    verbose_name = "Accounts"
