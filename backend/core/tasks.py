from datetime import timedelta

from django.utils import timezone

from backend.config.celery import app
from backend.core.models import IdempotencyRecord

# How long a client may retry a POST with the same Idempotency-Key.
IDEMPOTENCY_RETENTION = timedelta(hours=24)


@app.task(name="core.idempotency_cleanup", acks_late=True)
def idempotency_cleanup() -> int:
    """Forget idempotency records older than a day."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_RETENTION
    ).delete()
    return deleted
