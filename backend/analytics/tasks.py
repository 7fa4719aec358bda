"""Celery entry points for analytics."""

from celery import shared_task

from backend.analytics import services
from backend.core.tasks import TASK_OPTIONS


@shared_task(name="analytics.rollup_recent", **TASK_OPTIONS)
def rollup_recent() -> int:
    """Recompute every store's rollups of the last days (idempotent)."""
    return services.rollups_refresh_recent()
