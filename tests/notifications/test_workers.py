"""Concurrent workers, the real broker, beat, settings and the ops screens."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.signals import before_task_publish
from django.db import connection, transaction

from backend.config.celery import app as celery_app
from notifications import services, tasks
from notifications.backends import Outcome, Push, PushResult
from notifications.events import Event
from notifications.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]


class RecordingBackend:
    """Counts what it is asked to send, from any thread."""

    sent: list[str] = []
    lock = threading.Lock()
    started = threading.Event()
    proceed = threading.Event()

    def send_batch(self, pushes: Sequence[Push]) -> list[PushResult]:
        type(self).started.set()
        type(self).proceed.wait(timeout=10)
        with type(self).lock:
            type(self).sent.extend(p.token for p in pushes)
        return [PushResult(Outcome.SENT, message_id=f"m-{p.token}") for p in pushes]


@pytest.fixture
def recording_backend(settings: Any) -> type[RecordingBackend]:
    settings.NOTIFICATIONS_BACKEND = f"{__name__}.RecordingBackend"
    RecordingBackend.sent = []
    RecordingBackend.started = threading.Event()
    RecordingBackend.proceed = threading.Event()
    RecordingBackend.proceed.set()
    return RecordingBackend


def _queued_message(user_factory: Any, tokens: Sequence[str]) -> list[int]:
    user = user_factory()
    for token in tokens:
        services.device_register(user_id=user.pk, token=token, platform="android")
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None
    return list(item.outbox_messages.values_list("pk", flat=True))


def _in_thread(target: Any, *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_message_locked_by_another_worker_is_skipped_not_waited_for(
    user_factory: Any, recording_backend: type[RecordingBackend], enqueued: Any
) -> None:
    ids = _queued_message(user_factory, ["tok-1"])
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        with transaction.atomic():
            list(OutboxMessage.objects.select_for_update().filter(pk__in=ids))
            locked.set()
            release.wait(timeout=10)

    thread = _in_thread(other_worker)
    assert locked.wait(timeout=10)
    try:
        report = services.outbox_send(outbox_ids=ids)
    finally:
        release.set()
        thread.join(timeout=10)

    assert report.sent == 0
    assert recording_backend.sent == []
    assert services.outbox_send(outbox_ids=ids).sent == 1


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_the_same_messages_send_each_once(
    user_factory: Any, recording_backend: type[RecordingBackend], enqueued: Any
) -> None:
    ids = _queued_message(user_factory, ["tok-1", "tok-2", "tok-3"])
    recording_backend.proceed.clear()  # the first worker holds its claim while sending
    reports: list[services.SendReport] = []

    def worker() -> None:
        reports.append(services.outbox_send(outbox_ids=ids))

    first = _in_thread(worker)
    assert recording_backend.started.wait(timeout=10)
    others = [_in_thread(worker) for _ in range(3)]
    for thread in others:
        thread.join(timeout=10)
    recording_backend.proceed.set()
    first.join(timeout=10)

    assert sorted(recording_backend.sent) == ["tok-1", "tok-2", "tok-3"]
    assert sorted(r.sent for r in reports) == [0, 0, 0, 3]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_a_late_answer_from_a_worker_whose_lease_ran_out_still_counts_as_sent(
    user_factory: Any, recording_backend: type[RecordingBackend], enqueued: Any
) -> None:
    ids = _queued_message(user_factory, ["tok-1"])
    report = services.SendReport()
    claimed = services._claim(outbox_ids=ids, report=report)
    OutboxMessage.objects.filter(pk__in=ids).update(state=OutboxMessage.State.PENDING)

    services._record(
        messages=claimed, results=[PushResult(Outcome.SENT, message_id="m-1")], report=report
    )

    message = OutboxMessage.objects.get(pk=ids[0])
    assert message.state == OutboxMessage.State.SENT
    assert services.outbox_send(outbox_ids=ids).sent == 0
    assert recording_backend.sent == []


@pytest.mark.django_db
def test_a_crashing_backend_gives_the_messages_back_for_a_retry(
    user_factory: Any, settings: Any, enqueued: Any
) -> None:
    settings.NOTIFICATIONS_BACKEND = f"{__name__}.CrashingBackend"
    ids = _queued_message(user_factory, ["tok-1"])

    report = services.outbox_send(outbox_ids=ids)

    assert report.retry == 1
    message = OutboxMessage.objects.get(pk=ids[0])
    assert message.state == OutboxMessage.State.PENDING
    assert "RuntimeError" in message.last_error


class CrashingBackend:
    def send_batch(self, pushes: Sequence[Push]) -> list[PushResult]:
        raise RuntimeError("backend bug")


def test_send_task_is_published_to_the_notifications_queue_on_the_real_broker() -> None:
    published: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        published.append(kwargs)

    before_task_publish.connect(record, weak=False)
    try:
        # Ids no row has: harmless whichever worker happens to consume it.
        result = tasks.send_outbox_messages.apply_async(kwargs={"outbox_ids": [-1]})
    finally:
        before_task_publish.disconnect(record)

    (message,) = [p for p in published if p["headers"]["id"] == result.id]
    assert message["sender"] == "notifications.send_outbox_messages"
    assert message["routing_key"] == "notifications"
    # Tidy up when no worker took it (nothing consumes this Redis database in tests).
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    for raw in broker.lrange("notifications", 0, -1):
        if json.loads(raw)["headers"]["id"] == result.id:
            broker.lrem("notifications", 1, raw)


def test_tasks_ack_late_and_beat_sweeps_every_minute() -> None:
    assert tasks.send_outbox_messages.acks_late is True
    assert tasks.sweep_outbox.acks_late is True
    schedule = celery_app.conf.beat_schedule["notifications-sweep-outbox"]
    assert schedule["task"] == tasks.sweep_outbox.name
    assert schedule["schedule"] == 60.0
    route = celery_app.amqp.router.route(dict(schedule.get("options", {})), schedule["task"])
    assert route["queue"].name == "notifications"


def _backend_setting(**env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"GOOGLE_APPLICATION_CREDENTIALS", "FCM_CREDENTIALS_FILE", "NOTIFICATIONS_BACKEND"}
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            "print(settings.NOTIFICATIONS_BACKEND, settings.FCM_CREDENTIALS_FILE or '-')",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "backend.config.settings.dev", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_logging_backend_without_firebase_credentials_fcm_with_them() -> None:
    assert _backend_setting() == "notifications.backends.LoggingBackend -"
    assert _backend_setting(GOOGLE_APPLICATION_CREDENTIALS="/secrets/sa.json") == (
        "notifications.backends.FcmBackend /secrets/sa.json"
    )
    assert _backend_setting(FCM_CREDENTIALS_FILE="/secrets/fcm.json") == (
        "notifications.backends.FcmBackend /secrets/fcm.json"
    )


@pytest.mark.django_db
def test_ops_see_stuck_messages_and_resend_them(
    user_factory: Any, admin_client: Any, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ids = _queued_message(user_factory, ["tok-1"])
    OutboxMessage.objects.filter(pk__in=ids).update(
        state=OutboxMessage.State.FAILED, attempts=8, last_error="QuotaExceededError"
    )

    listing = admin_client.get("/admin/notifications/outboxmessage/", {"state": "failed"})
    with django_capture_on_commit_callbacks(execute=True):
        action = admin_client.post(
            "/admin/notifications/outboxmessage/",
            {"action": "resend", "_selected_action": ids},
        )

    assert listing.status_code == 200
    assert b"QuotaExceededError" in listing.content
    assert action.status_code == 302
    message = OutboxMessage.objects.get(pk=ids[0])
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 0)
    assert [e.outbox_ids for e in enqueued] == [ids]
    for page in ("device", "inboxitem", "notificationpreference"):
        assert admin_client.get(f"/admin/notifications/{page}/").status_code == 200
    assert (
        admin_client.get("/admin/notifications/outboxmessage/", {"stuck": "yes"}).status_code == 200
    )
