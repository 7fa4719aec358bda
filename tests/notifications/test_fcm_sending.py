"""Sending through firebase-admin against scripted FCM HTTP v1 answers."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.utils import timezone
from google.auth import jwt

from notifications import services, tasks
from notifications.events import Event
from notifications.models import Device, InboxItem, OutboxMessage
from tests.notifications.conftest import (
    ACCESS_TOKEN,
    INTERNAL,
    INVALID_MESSAGE,
    INVALID_TOKEN,
    OAUTH_TOKEN_URL,
    PROJECT_ID,
    QUOTA_EXCEEDED,
    SENDER_ID_MISMATCH,
    UNREGISTERED,
    Enqueued,
    FakeFcm,
    fcm_success,
)

pytestmark = pytest.mark.django_db

RunQueued = Callable[[], list[dict[str, int]]]

OFFER = {
    "request_id": 7,
    "offer_id": 70,
    "store_name": "Maison Bleue",
    "fee_cents": 750,
    "detour_min": 6,
}


def make_device(user: Any, token: str, platform: str = "android") -> Device:
    device, _ = services.device_register(user_id=user.pk, token=token, platform=platform)
    return device


def notify_and_commit(django_capture_on_commit_callbacks: Any, **kwargs: Any) -> InboxItem:
    with django_capture_on_commit_callbacks(execute=True):
        item = services.notify(**kwargs)
    assert item is not None
    return item


def make_due(*messages: OutboxMessage) -> None:
    """Let the clock reach the retry time without sleeping."""
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_offer_goes_out_through_fcm_with_oauth_deep_link_and_platform_options(
    fcm: FakeFcm,
    user_factory: Any,
    enqueued: list[Enqueued],
    run_queued: RunQueued,
    django_capture_on_commit_callbacks: Any,
    service_account_key_pem: str,
) -> None:
    driver = user_factory(language="fr")
    make_device(driver, "tok-android")
    make_device(driver, "tok-iphone", platform="ios")

    item = notify_and_commit(
        django_capture_on_commit_callbacks,
        user_id=driver.pk,
        event=Event.OFFER_NEW,
        payload=OFFER,
        ttl_s=300,
    )
    assert len(enqueued) == 1
    reports = run_queued()

    assert reports == [
        {"sent": 2, "retry": 0, "failed": 0, "cancelled": 0, "devices_deactivated": 0}
    ]
    # google-auth exchanged a JWT signed with the service account's key for an access token.
    (exchange,) = fcm.oauth_exchanges()
    form = parse_qs(exchange.body if isinstance(exchange.body, str) else exchange.body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    public_pem = _public_pem(service_account_key_pem)
    claims = jwt.decode(form["assertion"][0], certs=public_pem, audience=OAUTH_TOKEN_URL)
    assert claims["iss"] == f"push@{PROJECT_ID}.iam.gserviceaccount.com"
    assert "https://www.googleapis.com/auth/cloud-platform" in claims["scope"].split()

    assert sorted(fcm.tokens_sent()) == ["tok-android", "tok-iphone"]
    message = fcm.sends[0]["body"]["message"]
    assert fcm.sends[0]["headers"]["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert message["notification"] == {
        "title": "Nouvelle offre de livraison",
        "body": "Maison Bleue : gagnez 7,50 € pour un détour de 6 min.",
    }
    assert message["data"] == {
        "event": "offer.new",
        "inbox_id": str(item.pk),
        "request_id": "7",
        "offer_id": "70",
        "store_name": "Maison Bleue",
        "fee_cents": "750",
        "detour_min": "6",
    }
    android = message["android"]
    assert android["priority"] == "high"
    assert android["collapse_key"] == "request-7"
    assert android["notification"]["tag"] == "request-7"
    ttl_s = float(android["ttl"].rstrip("s"))
    assert 290 <= ttl_s <= 300
    apns_headers = message["apns"]["headers"]
    assert apns_headers["apns-priority"] == "10"
    assert apns_headers["apns-collapse-id"] == "request-7"
    assert 290 <= int(apns_headers["apns-expiration"]) - timezone.now().timestamp() <= 301

    rows = OutboxMessage.objects.filter(inbox_item=item)
    assert {r.state for r in rows} == {OutboxMessage.State.SENT}
    assert all(r.fcm_message_id.startswith(f"projects/{PROJECT_ID}/messages/") for r in rows)
    assert {r.attempts for r in rows} == {1}


def test_customer_event_is_normal_priority_without_collapse_key(
    fcm: FakeFcm, user_factory: Any
) -> None:
    customer = user_factory()
    make_device(customer, "tok-c")
    item = services.notify(
        user_id=customer.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 7}
    )
    assert item is not None

    services.outbox_send(outbox_ids=list(item.outbox_messages.values_list("pk", flat=True)))

    message = fcm.sends[0]["body"]["message"]
    assert message["notification"]["title"] == "Delivered"
    assert message["android"]["priority"] == "normal"
    assert "collapse_key" not in message["android"]
    assert message["android"]["notification"]["tag"] == f"inbox-{item.pk}"
    assert message["apns"]["headers"]["apns-priority"] == "5"


@pytest.mark.parametrize(
    "answer",
    [UNREGISTERED, INVALID_TOKEN, SENDER_ID_MISMATCH],
    ids=["unregistered-404", "invalid-token-400", "sender-id-mismatch-403"],
)
def test_dead_token_deactivates_the_device_and_keeps_the_inbox_row(
    fcm: FakeFcm,
    user_factory: Any,
    run_queued: RunQueued,
    django_capture_on_commit_callbacks: Any,
    answer: Any,
) -> None:
    driver = user_factory()
    dead = make_device(driver, "tok-dead")
    alive = make_device(driver, "tok-alive")
    fcm.script("tok-dead", answer)

    item = notify_and_commit(
        django_capture_on_commit_callbacks,
        user_id=driver.pk,
        event=Event.OFFER_NEW,
        payload=OFFER,
        ttl_s=300,
    )
    (report,) = run_queued()

    assert report["sent"] == 1
    assert report["devices_deactivated"] == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.is_active is False
    assert dead.deactivated_at is not None
    assert alive.is_active is True
    failed = OutboxMessage.objects.get(inbox_item=item, device=dead)
    assert failed.state == OutboxMessage.State.FAILED
    assert failed.last_error
    assert InboxItem.objects.filter(pk=item.pk).exists()

    # The dead token is never pushed to again; the next notification reaches only the live one.
    notify_and_commit(
        django_capture_on_commit_callbacks,
        user_id=driver.pk,
        event=Event.OFFER_WITHDRAWN,
        payload={"request_id": 7, "offer_id": 70, "store_name": "Maison Bleue"},
    )
    run_queued()
    assert fcm.tokens_sent().count("tok-dead") == 1
    assert fcm.tokens_sent().count("tok-alive") == 2


def test_invalid_message_fails_without_deactivating_the_device(
    fcm: FakeFcm, user_factory: Any
) -> None:
    user = user_factory()
    device = make_device(user, "tok-1")
    fcm.script("tok-1", INVALID_MESSAGE)
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None

    report = services.outbox_send(outbox_ids=[m.pk for m in item.outbox_messages.all()])

    assert report.failed == 1
    device.refresh_from_db()
    assert device.is_active is True
    assert item.outbox_messages.get().state == OutboxMessage.State.FAILED


def test_quota_exceeded_is_retried_after_retry_after_and_never_resent_to_the_device_that_got_it(
    fcm: FakeFcm,
    user_factory: Any,
    enqueued: list[Enqueued],
    run_queued: RunQueued,
    django_capture_on_commit_callbacks: Any,
) -> None:
    driver = user_factory()
    make_device(driver, "tok-ok")
    make_device(driver, "tok-quota")
    fcm.script("tok-quota", QUOTA_EXCEEDED, fcm_success())

    item = notify_and_commit(
        django_capture_on_commit_callbacks,
        user_id=driver.pk,
        event=Event.OFFER_NEW,
        payload=OFFER,
        ttl_s=3600,
    )
    job = enqueued.pop(0)
    before = timezone.now()
    report = tasks.send_outbox_messages.apply(kwargs={"outbox_ids": job.outbox_ids}).get()

    assert report["sent"] == 1
    assert report["retry"] == 1
    waiting = OutboxMessage.objects.get(inbox_item=item, device__token="tok-quota")
    assert waiting.state == OutboxMessage.State.PENDING
    assert "QuotaExceeded" in waiting.last_error
    # Retry-After (120 s) wins over the first backoff step (30 s); a retry task is scheduled then.
    assert waiting.next_attempt_at >= before + timedelta(seconds=120)
    assert [(e.outbox_ids, e.countdown) for e in enqueued] == [([waiting.pk], 120.0)]

    # Sending the whole batch again too early changes nothing.
    tasks.send_outbox_messages.apply(kwargs={"outbox_ids": job.outbox_ids}).get()
    assert len(fcm.sends) == 2

    make_due(waiting)
    run_queued()

    waiting.refresh_from_db()
    assert waiting.state == OutboxMessage.State.SENT
    assert waiting.attempts == 2
    assert fcm.tokens_sent().count("tok-ok") == 1
    assert fcm.tokens_sent().count("tok-quota") == 2


def test_one_server_error_is_absorbed_by_firebase_admins_own_retry(
    fcm: FakeFcm, user_factory: Any
) -> None:
    user = user_factory()
    make_device(user, "tok-1")
    fcm.script("tok-1", INTERNAL, fcm_success())
    item = services.notify(
        user_id=user.pk,
        event=Event.REQUEST_PICKED_UP,
        payload={"request_id": 3, "driver_name": "Ana"},
    )
    assert item is not None

    report = services.outbox_send(outbox_ids=[m.pk for m in item.outbox_messages.all()])

    assert report.sent == 1
    assert fcm.tokens_sent() == ["tok-1", "tok-1"]
    message = item.outbox_messages.get()
    assert message.state == OutboxMessage.State.SENT
    assert message.attempts == 1


def test_server_errors_past_the_library_retries_are_retried_with_exponential_backoff(
    fcm: FakeFcm, user_factory: Any, enqueued: list[Enqueued], settings: Any
) -> None:
    settings.NOTIFICATIONS_RETRY_BASE_S = 30
    user = user_factory()
    make_device(user, "tok-1")
    # firebase-admin tries a 500 five times (1 + 4 retries) before giving up.
    fcm.script("tok-1", *[INTERNAL] * 10, fcm_success())
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 3}
    )
    assert item is not None
    message = item.outbox_messages.get()

    delays = []
    for _ in range(2):
        before = timezone.now()
        report = services.outbox_send(outbox_ids=[message.pk])
        assert report.retry == 1
        message.refresh_from_db()
        delays.append((message.next_attempt_at - before).total_seconds())
        make_due(message)

    assert 30 <= delays[0] < 31
    assert 60 <= delays[1] < 61
    assert [e.countdown for e in enqueued] == [30.0, 60.0]
    assert len(fcm.sends) == 10

    report = services.outbox_send(outbox_ids=[message.pk])
    message.refresh_from_db()
    assert report.sent == 1
    assert message.state == OutboxMessage.State.SENT
    assert message.attempts == 3
    assert len(fcm.sends) == 11


def test_gives_up_after_the_last_attempt(
    fcm: FakeFcm, user_factory: Any, settings: Any, enqueued: list[Enqueued]
) -> None:
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    user = user_factory()
    make_device(user, "tok-1")
    fcm.script("tok-1", QUOTA_EXCEEDED)
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 3}
    )
    assert item is not None
    message = item.outbox_messages.get()

    services.outbox_send(outbox_ids=[message.pk])
    make_due(message)
    report = services.outbox_send(outbox_ids=[message.pk])

    message.refresh_from_db()
    assert report.failed == 1
    assert message.state == OutboxMessage.State.FAILED
    assert InboxItem.objects.filter(pk=item.pk).exists()


def test_failed_oauth_exchange_retries_later_and_loses_nothing(
    fcm: FakeFcm, user_factory: Any, enqueued: list[Enqueued]
) -> None:
    fcm.mock.replace(
        "POST",
        OAUTH_TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
    )
    user = user_factory()
    make_device(user, "tok-1")
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 3}
    )
    assert item is not None

    report = services.outbox_send(outbox_ids=[m.pk for m in item.outbox_messages.all()])

    assert report.retry == 1
    assert fcm.sends == []
    assert item.outbox_messages.get().state == OutboxMessage.State.PENDING
    assert len(enqueued) == 1


def test_expired_offer_is_not_pushed(fcm: FakeFcm, user_factory: Any) -> None:
    driver = user_factory()
    make_device(driver, "tok-1")
    item = services.notify(user_id=driver.pk, event=Event.OFFER_NEW, payload=OFFER, ttl_s=60)
    assert item is not None
    InboxItem.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    report = services.outbox_send(outbox_ids=[m.pk for m in item.outbox_messages.all()])

    assert report.cancelled == 1
    assert fcm.sends == []
    assert InboxItem.objects.filter(pk=item.pk).exists()


def test_sweep_recovers_a_message_whose_task_was_lost(
    fcm: FakeFcm,
    user_factory: Any,
    enqueued: list[Enqueued],
    run_queued: RunQueued,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    make_device(user, "tok-1")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        item = services.notify(
            user_id=user.pk,
            event=Event.REQUEST_ASSIGNED,
            payload={"request_id": 3, "driver_name": "Ana"},
        )
    assert item is not None
    assert len(callbacks) == 1  # the task that would have sent it; never run: it was lost
    message = item.outbox_messages.get()

    # Within the grace period the sweep leaves it to its task.
    assert tasks.sweep_outbox.apply().get() == {"released": 0, "enqueued": 0, "purged": 0}

    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert tasks.sweep_outbox.apply().get() == {"released": 0, "enqueued": 1, "purged": 0}
    run_queued()

    message.refresh_from_db()
    assert message.state == OutboxMessage.State.SENT
    assert fcm.tokens_sent() == ["tok-1"]
    # A second sweep finds nothing to do.
    assert tasks.sweep_outbox.apply().get() == {"released": 0, "enqueued": 0, "purged": 0}


def test_sweep_takes_back_a_message_whose_worker_died_while_sending(
    fcm: FakeFcm, user_factory: Any, enqueued: list[Enqueued], run_queued: RunQueued
) -> None:
    user = user_factory()
    make_device(user, "tok-1")
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None
    enqueued.clear()  # the task was lost with the worker
    message = item.outbox_messages.get()
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxMessage.State.SENDING,
        attempts=1,
        claimed_until=timezone.now() - timedelta(seconds=1),
        next_attempt_at=timezone.now() - timedelta(minutes=10),
    )

    assert tasks.sweep_outbox.apply().get() == {"released": 1, "enqueued": 1, "purged": 0}
    run_queued()

    message.refresh_from_db()
    assert message.state == OutboxMessage.State.SENT
    assert message.attempts == 2


def test_sending_twice_sends_once(fcm: FakeFcm, user_factory: Any) -> None:
    user = user_factory()
    make_device(user, "tok-1")
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None
    ids = [m.pk for m in item.outbox_messages.all()]

    first = services.outbox_send(outbox_ids=ids)
    second = services.outbox_send(outbox_ids=ids)
    OutboxMessage.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    tasks.sweep_outbox.apply()
    third = services.outbox_send(outbox_ids=ids)

    assert (first.sent, second.sent, third.sent) == (1, 0, 0)
    assert fcm.tokens_sent() == ["tok-1"]


def test_requeue_by_ops_never_resends_a_sent_message(
    fcm: FakeFcm,
    user_factory: Any,
    enqueued: list[Enqueued],
    run_queued: RunQueued,
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = user_factory()
    make_device(user, "tok-ok")
    make_device(user, "tok-bad")
    fcm.script("tok-bad", INVALID_MESSAGE, fcm_success())
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None
    ids = [m.pk for m in item.outbox_messages.all()]
    services.outbox_send(outbox_ids=ids)
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        requeued = services.outbox_requeue(outbox_ids=ids)
    run_queued()

    assert requeued == 1
    assert sorted(fcm.tokens_sent()) == ["tok-bad", "tok-bad", "tok-ok"]
    assert {m.state for m in item.outbox_messages.all()} == {OutboxMessage.State.SENT}


def _public_pem(private_pem: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_sweep_purges_finished_outbox_rows_past_retention_and_keeps_the_inbox(
    user_factory: Any, settings: Any, enqueued: list[Enqueued]
) -> None:
    settings.NOTIFICATIONS_OUTBOX_RETENTION_DAYS = 30
    user = user_factory()
    make_device(user, "tok-1")
    make_device(user, "tok-2")
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None
    old, recent = item.outbox_messages.order_by("pk")
    OutboxMessage.objects.filter(pk=old.pk).update(
        state=OutboxMessage.State.SENT,
        sent_at=timezone.now(),
        updated_at=timezone.now() - timedelta(days=31),
    )
    OutboxMessage.objects.filter(pk=recent.pk).update(
        state=OutboxMessage.State.FAILED, updated_at=timezone.now() - timedelta(days=29)
    )

    report = services.outbox_sweep()

    assert report.purged == 1
    assert list(item.outbox_messages.values_list("pk", flat=True)) == [recent.pk]
    assert InboxItem.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", (120.0, 120.0)),
        (" 7 ", (7.0, 7.0)),
        ("http-date-in-90s", (85.0, 90.0)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", (0.0, 0.0)),  # in the past: now
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str, expected: tuple[float, float] | None
) -> None:
    from email.utils import format_datetime

    from notifications.backends import retry_after_s

    if header == "http-date-in-90s":
        header = format_datetime(timezone.now() + timedelta(seconds=90), usegmt=True)

    class Answer:
        headers = {"Retry-After": header}

    class Error:
        http_response = Answer()

    seconds = retry_after_s(Error())

    if expected is None:
        assert seconds is None
    else:
        assert seconds is not None
        assert expected[0] <= seconds <= expected[1]


def test_quota_answer_with_an_http_date_retry_after_is_honoured(
    fcm: FakeFcm, user_factory: Any, enqueued: list[Enqueued]
) -> None:
    from email.utils import format_datetime

    user = user_factory()
    make_device(user, "tok-1")
    status, _, body = QUOTA_EXCEEDED
    retry_at = format_datetime(timezone.now() + timedelta(seconds=600), usegmt=True)
    fcm.script("tok-1", (status, {"Retry-After": retry_at}, body))
    item = services.notify(
        user_id=user.pk, event=Event.REQUEST_DELIVERED, payload={"request_id": 1}
    )
    assert item is not None

    report = services.outbox_send(outbox_ids=[m.pk for m in item.outbox_messages.all()])

    assert report.retry == 1
    (job,) = enqueued
    assert job.countdown is not None
    assert 590 <= job.countdown <= 600
