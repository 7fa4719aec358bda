from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "backend.stores"
    label = "stores"
    verbose_name = "Stores"
