"""Celery entry points of the notifications app: each calls one service, nothing more."""

from celery import shared_task
from django.db import DatabaseError

from notifications import services


@shared_task(
    name="notifications.send_outbox_messages",
    queue="notifications",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
)
def send_outbox_messages(outbox_ids: list[int]) -> dict[str, int]:
    """Send the due outbox rows among ``outbox_ids``. Idempotent: sent rows are skipped."""
    return services.outbox_send(outbox_ids=outbox_ids).as_dict()


@shared_task(name="notifications.sweep_outbox", queue="notifications", acks_late=True)
def sweep_outbox() -> dict[str, int]:
    """Requeue outbox rows whose task was lost or whose worker died (run by beat every minute)."""
    report = services.outbox_sweep()
    return {"released": report.released, "enqueued": report.enqueued, "purged": report.purged}
