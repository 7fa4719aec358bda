"""Celery entry points for analytics."""

from backend.config.celery import app
from backend.matching.tasks import TASK_OPTIONS


@app.task(name="analytics.rollup_recent", **TASK_OPTIONS)
def rollup_recent() -> int:
    """Recompute every store's rollups of the last days (idempotent)."""
    from backend.analytics.services import rollups_refresh_recent

    return rollups_refresh_recent()
