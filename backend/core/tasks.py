"""Celery tasks every app relies on, and the retry policy the apps' tasks share."""

from datetime import timedelta
from typing import Any

import redis
from celery import Task, shared_task
from django.db import OperationalError
from django.utils import timezone

from backend.core.models import IdempotencyRecord

# Failures that may pass if the task runs again a little later: the database or Redis briefly
# unreachable or overloaded. Anything else is a bug or bad data, which a retry only repeats.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

# Idempotent tasks, acknowledged once done so that a worker lost mid-task gets it redelivered.
TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}

# How long a client may retry a POST with the same Idempotency-Key.
IDEMPOTENCY_RETENTION = timedelta(hours=24)


@shared_task(name="core.idempotency_cleanup", acks_late=True)
def idempotency_cleanup() -> int:
    """Forget idempotency records older than a day."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_RETENTION
    ).delete()
    return deleted


@shared_task(name="core.ping")
def ping() -> str:
    """Answer ``pong``: lets tests and operators check a worker consumes the queue."""
    return "pong"


@shared_task(name="core.barrier", bind=True, ignore_result=True)
def barrier(self: Task, key: str) -> None:
    """Mark ``key`` in the broker's Redis: everything queued before this task on its queue is
    done (a worker takes a queue's messages in order). The simulation waits on it."""
    redis.Redis.from_url(self.app.conf.broker_url).set(key, 1, ex=600)
