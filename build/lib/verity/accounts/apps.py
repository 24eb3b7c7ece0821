from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "verity.accounts"
    label = "accounts"
