from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "verity.search"
    label = "search"
