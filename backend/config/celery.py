"""The Celery application; workers consume the matching, notifications and default queues."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.prod")

app = Celery("parcels")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("matching", "notifications", "default")]
app.autodiscover_tasks()


@app.task(name="core.ping")
def ping() -> str:
    """Answer ``pong``: lets tests and operators check a worker consumes the queue."""
    return "pong"


@app.task(name="core.barrier", ignore_result=True)
def barrier(key: str) -> None:
    """Mark ``key`` in the broker's Redis: everything queued before this task on its queue is
    done (a worker takes a queue's messages in order). The simulation waits on it."""
    import redis

    redis.Redis.from_url(app.conf.broker_url).set(key, 1, ex=600)
