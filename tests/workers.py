"""Real Celery worker processes for the tests that depend on one."""

import os
import signal
import subprocess
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from backend.core.tasks import ping
from backend.core.workers import worker_start

ROOT = Path(__file__).resolve().parents[1]


def worker_database_url() -> str:
    """Where the test database is (pytest-django renamed it): the worker must use it too."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgis://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def purge_broker() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def start_worker(name: str) -> subprocess.Popen[bytes]:
    """Start a worker consuming every queue (solo pool: tasks run in the process itself, so
    killing it kills the task) and wait until it answers a ping."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.test",
        "DATABASE_URL": worker_database_url(),
        "TEST_CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    process = worker_start(name=name, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            if ping.apply_async().get(timeout=5) == "pong":
                return process
        except Exception as exc:  # not up yet
            if process.poll() is not None:
                output = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"the worker exited: {output}") from exc
            if time.monotonic() > deadline:
                stop_worker(process)
                raise


def stop_worker(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, *, timeout_s: float = 30, interval_s: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll until ``condition()`` is truthy (no sleeps standing in for synchronisation)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)
