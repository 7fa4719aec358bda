"""The Celery application and its queues.

A task goes to the queue its name starts with (``matching.*``, ``notifications.*``), any other to
the default queue, so that neither tasks nor their callers name a queue. A worker started without
``-Q`` consumes every queue declared here (the names: ``backend.core.workers``).
"""

import os

from celery import Celery
from kombu import Queue

from backend.core.workers import DEFAULT_QUEUE, QUEUES, ROUTED_QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.prod")

app = Celery("parcels")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.task_routes = {f"{name}.*": {"queue": name} for name in ROUTED_QUEUES}
app.autodiscover_tasks()
