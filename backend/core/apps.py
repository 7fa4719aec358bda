from django.apps import AppConfig

from backend.core import clock


class CoreConfig(AppConfig):
    name = "backend.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        clock.install()
