"""Celery entry points of the notifications app: each calls one service, nothing more."""

from celery import shared_task
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from notifications import services

# The database or Redis briefly unreachable: the task runs again. A push FCM could not take is
# not one of these: outbox_send records it on its row and queues the row again after a backoff.
TRANSIENT_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError)


@shared_task(
    name=services.SEND_TASK,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
)
def send_outbox_messages(outbox_ids: list[int]) -> dict[str, int]:
    """Send the due outbox rows among ``outbox_ids``. Idempotent: sent rows are skipped."""
    return services.outbox_send(outbox_ids=outbox_ids).as_dict()


@shared_task(name="notifications.sweep_outbox", acks_late=True)
def sweep_outbox() -> dict[str, int]:
    """Requeue outbox rows whose task was lost or whose worker died (run by beat every minute)."""
    report = services.outbox_sweep()
    return {"released": report.released, "enqueued": report.enqueued, "purged": report.purged}
