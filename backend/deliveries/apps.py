from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "backend.deliveries"
    label = "deliveries"
    verbose_name = "Deliveries"
