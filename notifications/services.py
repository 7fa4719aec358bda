"""Every write of the notifications app.

The rest of the code calls ``notify`` (or ``notify_many``) inside its own transaction: the inbox
row and the outbox rows commit or roll back with the caller's change, and the push is sent by a
Celery task after commit. Pushing never removes or alters an inbox row.
"""

import contextlib
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from notifications.backends import Outcome, Push, PushResult, get_backend
from notifications.events import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    RESERVED_DATA_KEYS,
    RESERVED_DATA_PREFIXES,
    SPECS,
    Payload,
    render,
)
from notifications.models import Device, InboxItem, NotificationPreference, OutboxMessage

logger = logging.getLogger(__name__)

# FCM's data keys: plain identifiers keep the app's deep-link parsing simple.
_PAYLOAD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_COLLAPSE_KEY_LENGTH = 64  # APNs' limit for apns-collapse-id
SEND_BATCH_SIZE = 500


class NotificationError(Exception):
    """A caller used the notification API wrongly (a bug in the caller, not a user error)."""


class UnknownEventError(NotificationError):
    pass


class InvalidPayloadError(NotificationError):
    pass


class UnknownRecipientError(NotificationError):
    pass


# --- Devices -------------------------------------------------------------------------------


class DeviceTokenInUse(NotificationError):
    """The token is registered, active, for another account: it moves only once that account
    logs out on the phone (which forgets the device) or Firebase issues the phone a new token."""


@transaction.atomic
def device_register(
    *,
    user_id: int,
    token: str,
    platform: str,
    app_version: str = "",
    language: str = "",
) -> tuple[Device, bool]:
    """Register ``token`` for ``user_id``, or refresh it; returns the device and whether it is new.

    The token is the key. It never moves silently from one account to another: while another
    account holds it active, this raises ``DeviceTokenInUse`` (whoever learnt a token must not
    be able to take a stranger's pushes away, or send them the app's). A token that FCM reported
    gone is free: registered again, it is active again, for whichever account registers it, and
    pushes still queued for a previous account are cancelled so they never reach the new one.

    A user keeps at most ``NOTIFICATIONS_MAX_DEVICES_PER_USER`` devices: registering one more
    forgets the least recently seen (phones replaced or reinstalled without a logout).
    """
    # The user's row is the lock that keeps two registrations at once within the bound.
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk").first()
    now = timezone.now()
    device = Device.objects.select_for_update().filter(token=token).first()
    if device is None:
        device, created = Device.objects.get_or_create(
            token=token,
            defaults={
                "user_id": user_id,
                "platform": platform,
                "app_version": app_version,
                "language": language,
                "last_seen_at": now,
            },
        )
        if created:
            _forget_least_recently_seen(user_id=user_id, keep_id=device.pk)
            return device, True
        device = Device.objects.select_for_update().get(pk=device.pk)
    moved = device.user_id != user_id
    if moved:
        if device.is_active:
            raise DeviceTokenInUse()
        _cancel_pending_for_device(device_id=device.pk, reason="device moved to another account")
    device.user_id = user_id
    device.platform = platform
    device.app_version = app_version
    device.language = language
    device.is_active = True
    device.deactivated_at = None
    device.deactivation_reason = ""
    device.last_seen_at = now
    device.save(
        update_fields=[
            "user",
            "platform",
            "app_version",
            "language",
            "is_active",
            "deactivated_at",
            "deactivation_reason",
            "last_seen_at",
        ]
    )
    if moved:
        _forget_least_recently_seen(user_id=user_id, keep_id=device.pk)
    return device, False


def _forget_least_recently_seen(*, user_id: int, keep_id: int) -> None:
    limit = max(1, settings.NOTIFICATIONS_MAX_DEVICES_PER_USER)
    surplus = list(
        Device.objects.filter(user_id=user_id)
        .exclude(pk=keep_id)
        .order_by("-last_seen_at", "-pk")
        .values_list("pk", flat=True)[limit - 1 :]
    )
    for device_id in surplus:
        _cancel_pending_for_device(device_id=device_id, reason="device replaced by a newer one")
    Device.objects.filter(pk__in=surplus).delete()


@transaction.atomic
def device_unregister(*, user_id: int, token: str) -> None:
    """Forget ``token`` at logout. Raises ``Device.DoesNotExist`` unless it is the user's."""
    device = Device.objects.select_for_update().get(token=token, user_id=user_id)
    _cancel_pending_for_device(device_id=device.pk, reason="device logged out")
    device.delete()


def device_forget(*, user_id: int, token: str) -> None:
    """``device_unregister`` for a logout that names the phone's token: nothing to forget (the
    token is not registered, or not for this user) is not an error."""
    with contextlib.suppress(Device.DoesNotExist):
        device_unregister(user_id=user_id, token=token)


def _cancel_pending_for_device(*, device_id: int, reason: str) -> int:
    return OutboxMessage.objects.filter(
        device_id=device_id, state=OutboxMessage.State.PENDING
    ).update(state=OutboxMessage.State.CANCELLED, last_error=reason, updated_at=timezone.now())


# --- Preferences ---------------------------------------------------------------------------


@transaction.atomic
def preference_update(
    *,
    user_id: int,
    muted_events: list[str] | None = None,
    quiet_hours: tuple[time, time] | None | bool = False,
    time_zone: str | None = None,
) -> NotificationPreference:
    """Change what is given; ``quiet_hours=None`` removes quiet hours, ``False`` leaves them."""
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(
        user_id=user_id
    )
    fields = ["updated_at"]
    if muted_events is not None:
        preference.muted_events = sorted(set(muted_events))
        fields.append("muted_events")
    if quiet_hours is None:
        preference.quiet_hours_start = preference.quiet_hours_end = None
        fields += ["quiet_hours_start", "quiet_hours_end"]
    elif isinstance(quiet_hours, tuple):
        preference.quiet_hours_start, preference.quiet_hours_end = quiet_hours
        fields += ["quiet_hours_start", "quiet_hours_end"]
    if time_zone is not None:
        ZoneInfo(time_zone)  # raises for an unknown zone
        preference.time_zone = time_zone
        fields.append("time_zone")
    preference.save(update_fields=fields)
    return preference


def in_quiet_hours(*, preference: NotificationPreference | None, at: datetime) -> bool:
    """Whether ``at`` falls in the user's quiet hours, read in the user's time zone."""
    if preference is None:
        return False
    start, end = preference.quiet_hours_start, preference.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    local = at.astimezone(ZoneInfo(preference.time_zone)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


# --- Notify ----------------------------------------------------------------------------------


def notify(
    *,
    user_id: int,
    event: str,
    payload: Payload,
    ttl_s: int | None = None,
    collapse_key: str | None = None,
) -> InboxItem | None:
    """Tell one user about ``event``: an inbox row now, pushes to their devices after commit.

    Runs inside the caller's transaction. ``ttl_s`` is how long the push stays worth delivering
    (an offer's remaining lifetime, in seconds); after it the push is dropped, the inbox row
    stays. ``collapse_key`` overrides the event's default (one per request for offers).
    Returns None when the user muted this event or is inactive.
    Raises UnknownEventError, InvalidPayloadError, UnknownRecipientError.
    """
    items = notify_many(
        event=event, recipients={user_id: payload}, ttl_s=ttl_s, collapse_key=collapse_key
    )
    return items.get(user_id)


@transaction.atomic
def notify_many(
    *,
    event: str,
    recipients: Mapping[int, Payload],
    ttl_s: int | None = None,
    collapse_key: str | None = None,
) -> dict[int, InboxItem]:
    """``notify`` for many users at once (offers fanned out to drivers), with a constant number
    of queries. ``recipients`` maps user id to that user's payload. Returns the inbox rows
    written, by user id (users who muted the event are absent)."""
    spec = SPECS.get(event)
    if spec is None:
        raise UnknownEventError(f"Unknown notification event {event!r}.")
    for payload in recipients.values():
        _validate_payload(event=event, payload=payload, required=spec.required)
    if collapse_key is not None and len(collapse_key) > MAX_COLLAPSE_KEY_LENGTH:
        raise InvalidPayloadError(
            f"collapse_key is longer than {MAX_COLLAPSE_KEY_LENGTH} characters."
        )
    if not recipients:
        return {}

    user_model = get_user_model()
    user_fields = ["pk", "is_active"]
    if any(f.name == "language" for f in user_model._meta.get_fields()):
        user_fields.append("language")
    users = {
        user.pk: user
        for user in user_model._default_manager.filter(pk__in=list(recipients)).only(*user_fields)
    }
    missing = set(recipients) - set(users)
    if missing:
        raise UnknownRecipientError(f"No user with id {sorted(missing)}.")
    preferences = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=list(recipients))
    }

    now = timezone.now()
    expires_at = now + timedelta(seconds=max(ttl_s, 0)) if ttl_s is not None else None
    items: list[InboxItem] = []
    for user_id, payload in recipients.items():
        user = users[user_id]
        preference = preferences.get(user_id)
        if not user.is_active or (preference is not None and event in preference.muted_events):
            continue
        language = getattr(user, "language", DEFAULT_LANGUAGE)
        language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        text = render(event=event, payload=payload, language=language)
        request_id = payload.get("request_id")
        key = collapse_key
        if key is None and spec.collapse_by_request and request_id is not None:
            key = f"request-{request_id}"
        items.append(
            InboxItem(
                user_id=user_id,
                event=event,
                title=text.title,
                body=text.body,
                language=language,
                payload=dict(payload),
                expires_at=expires_at,
                collapse_key=key or "",
                created_at=now,
            )
        )
    InboxItem.objects.bulk_create(items)

    push_now = expires_at is None or expires_at > now
    pushed_user_ids = [
        item.user_id
        for item in items
        if push_now
        and not (
            spec.quiet_hours_apply
            and in_quiet_hours(preference=preferences.get(item.user_id), at=now)
        )
    ]
    devices_by_user: dict[int, list[int]] = defaultdict(list)
    for device_id, device_user_id in Device.objects.filter(
        user_id__in=pushed_user_ids, is_active=True
    ).values_list("id", "user_id"):
        devices_by_user[device_user_id].append(device_id)
    messages = [
        OutboxMessage(inbox_item=item, device_id=device_id, next_attempt_at=now, created_at=now)
        for item in items
        for device_id in devices_by_user.get(item.user_id, [])
    ]
    OutboxMessage.objects.bulk_create(messages)
    if messages:
        _enqueue_send_on_commit(outbox_ids=[m.pk for m in messages])
    return {item.user_id: item for item in items}


def _validate_payload(*, event: str, payload: Payload, required: Iterable[str]) -> None:
    missing = [key for key in required if payload.get(key) is None]
    if missing:
        raise InvalidPayloadError(f"{event} needs {', '.join(missing)} in its payload.")
    for key, value in payload.items():
        if (
            not _PAYLOAD_KEY.match(key)
            or key in RESERVED_DATA_KEYS
            or key.startswith(RESERVED_DATA_PREFIXES)
        ):
            raise InvalidPayloadError(f"{key!r} cannot be a payload key.")
        if not isinstance(value, str | int | float | type(None)) or isinstance(value, bool):
            raise InvalidPayloadError(f"{key!r} must be a string, a number or None.")


def _enqueue_send_on_commit(*, outbox_ids: list[int]) -> None:
    """Queue the send once the caller's transaction commits. A broker outage then is logged and
    does not fail the caller: the rows are committed, and the outbox sweep queues them later."""

    def send_after_commit() -> None:
        enqueue_send(outbox_ids=outbox_ids)

    transaction.on_commit(send_after_commit, robust=True)


# The task that sends outbox rows. Queued by its name: the tasks module imports this one.
SEND_TASK = "notifications.send_outbox_messages"


def enqueue_send(*, outbox_ids: Sequence[int], countdown_s: float | None = None) -> None:
    """Queue the sending of these outbox rows, in batches FCM accepts."""
    for start in range(0, len(outbox_ids), SEND_BATCH_SIZE):
        batch = list(outbox_ids[start : start + SEND_BATCH_SIZE])
        send = current_app.signature(SEND_TASK, kwargs={"outbox_ids": batch})
        if countdown_s is None:
            send.apply_async()
        else:
            send.apply_async(countdown=countdown_s)


# --- Inbox -----------------------------------------------------------------------------------


@transaction.atomic
def inbox_mark_read(*, user_id: int, inbox_item_id: int) -> InboxItem:
    """Mark one of the user's inbox items read (again is harmless). Raises DoesNotExist."""
    item = InboxItem.objects.select_for_update().get(pk=inbox_item_id, user_id=user_id)
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return item


def inbox_mark_all_read(*, user_id: int) -> int:
    """Mark all the user's unread items read; returns how many were unread."""
    return InboxItem.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- Outbox: sending -------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    cancelled: int = 0
    devices_deactivated: int = 0
    # Seconds from now to the earliest retry, per group of rows retried together.
    retries_by_delay_s: dict[float, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        counts = asdict(self)
        counts.pop("retries_by_delay_s")
        return counts


def outbox_send(*, outbox_ids: Sequence[int]) -> SendReport:
    """Send the due, pending rows among ``outbox_ids``; record what FCM answered for each.

    Safe to run twice or concurrently: a row is claimed under a row lock, skipped when another
    worker holds it, and only ``pending`` rows are claimed, so a sent row is never sent again.
    """
    report = SendReport()
    claimed = _claim(outbox_ids=outbox_ids, report=report)
    if not claimed:
        return report
    now = timezone.now()
    pushes = [_push_for(message, now=now) for message in claimed]
    try:
        results = get_backend().send_batch(pushes)
    except Exception as error:
        # A backend bug or an unforeseen failure: give the rows back for a later attempt rather
        # than leaving them to the lease. Nothing was recorded as sent.
        logger.exception("push backend failed")
        results = [PushResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}")] * len(
            pushes
        )
    _record(messages=claimed, results=results, report=report)
    for delay_s, ids in report.retries_by_delay_s.items():
        enqueue_send(outbox_ids=ids, countdown_s=delay_s)
    return report


@transaction.atomic
def _claim(*, outbox_ids: Sequence[int], report: SendReport) -> list[OutboxMessage]:
    now = timezone.now()
    lease = timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_S)
    rows = list(
        OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            pk__in=list(outbox_ids),
            state=OutboxMessage.State.PENDING,
            next_attempt_at__lte=now,
        )
        .select_related("inbox_item", "device")
        .order_by("pk")
    )
    claimed = []
    for row in rows:
        device, item = row.device, row.inbox_item
        row.updated_at = now
        if device is None or not device.is_active or device.user_id != item.user_id:
            row.state = OutboxMessage.State.CANCELLED
            row.last_error = "device no longer registered for this user"
            report.cancelled += 1
        elif item.expires_at is not None and item.expires_at <= now:
            row.state = OutboxMessage.State.CANCELLED
            row.last_error = "expired before it could be sent"
            report.cancelled += 1
        else:
            row.state = OutboxMessage.State.SENDING
            row.attempts += 1
            row.claimed_until = now + lease
            claimed.append(row)
    OutboxMessage.objects.bulk_update(
        rows, ["state", "attempts", "claimed_until", "last_error", "updated_at"]
    )
    return claimed


def _push_for(message: OutboxMessage, *, now: datetime) -> Push:
    item, device = message.inbox_item, message.device
    if device is None:  # _claim cancels these; a claimed row always has its device
        raise ValueError(f"Outbox message {message.pk} has no device.")
    spec = SPECS[item.event]
    data = {key: str(value) for key, value in item.payload.items() if value is not None}
    data.update(event=item.event, inbox_id=str(item.pk))
    ttl_s = None
    if item.expires_at is not None:
        ttl_s = max(1, int((item.expires_at - now).total_seconds()))
    return Push(
        token=device.token,
        title=item.title,
        body=item.body,
        data=data,
        high_priority=spec.high_priority,
        ttl_s=ttl_s,
        collapse_key=item.collapse_key or None,
        tag=item.collapse_key or f"inbox-{item.pk}",
    )


def retry_delay_s(*, attempts: int, retry_after_s: float | None) -> float:
    """Exponential backoff from the attempt count, never sooner than FCM's Retry-After."""
    base = float(settings.NOTIFICATIONS_RETRY_BASE_S)
    cap = float(settings.NOTIFICATIONS_RETRY_MAX_S)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay


@transaction.atomic
def _record(
    *, messages: Sequence[OutboxMessage], results: Sequence[PushResult], report: SendReport
) -> None:
    now = timezone.now()
    by_id = {m.pk: (m, r) for m, r in zip(messages, results, strict=True)}
    current = {
        row.pk: row for row in OutboxMessage.objects.select_for_update().filter(pk__in=list(by_id))
    }
    to_update: list[OutboxMessage] = []
    dead_devices: dict[int, str] = {}
    for pk, (message, result) in by_id.items():
        row = current.get(pk)
        if row is None or row.state == OutboxMessage.State.SENT:
            continue
        if result.outcome == Outcome.SENT:
            # Recorded even if the lease ran out meanwhile: it was delivered, never resend it.
            row.state = OutboxMessage.State.SENT
            row.sent_at = now
            row.fcm_message_id = result.message_id
            row.last_error = ""
            report.sent += 1
        elif row.state != OutboxMessage.State.SENDING or row.attempts != message.attempts:
            continue  # the sweep took it back after the lease ran out; its new claim decides
        elif result.outcome == Outcome.RETRY and row.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS:
            delay_s = retry_delay_s(attempts=row.attempts, retry_after_s=result.retry_after_s)
            row.state = OutboxMessage.State.PENDING
            row.next_attempt_at = now + timedelta(seconds=delay_s)
            row.last_error = result.error
            report.retry += 1
            report.retries_by_delay_s.setdefault(delay_s, []).append(pk)
        else:
            row.state = OutboxMessage.State.FAILED
            row.last_error = result.error
            report.failed += 1
            if result.outcome == Outcome.DEVICE_GONE and message.device_id is not None:
                dead_devices[message.device_id] = result.error
        row.claimed_until = None
        row.updated_at = now
        to_update.append(row)
    OutboxMessage.objects.bulk_update(
        to_update,
        [
            "state",
            "sent_at",
            "fcm_message_id",
            "last_error",
            "next_attempt_at",
            "claimed_until",
            "updated_at",
        ],
    )
    for device_id, error in dead_devices.items():
        report.devices_deactivated += Device.objects.filter(pk=device_id, is_active=True).update(
            is_active=False, deactivated_at=now, deactivation_reason=error[:255]
        )
        logger.info("push device deactivated", extra={"device_id": device_id, "error": error})


# --- Outbox: recovery ------------------------------------------------------------------------


@dataclass
class SweepReport:
    released: int = 0
    enqueued: int = 0
    purged: int = 0


def outbox_sweep() -> SweepReport:
    """Recover what is stuck: rows whose sending worker died (lease ran out) go back to pending,
    and pending rows overdue by more than the grace period (their task was lost, or the broker
    was down at commit) are queued again. Idempotent: queuing a row twice sends it once."""
    now = timezone.now()
    released = OutboxMessage.objects.filter(
        state=OutboxMessage.State.SENDING, claimed_until__lt=now
    ).update(
        state=OutboxMessage.State.PENDING,
        claimed_until=None,
        last_error="lease ran out: the sending worker stopped",
        updated_at=now,
    )
    overdue = now - timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_S)
    due_ids = list(
        OutboxMessage.objects.filter(
            state=OutboxMessage.State.PENDING, next_attempt_at__lte=overdue
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.NOTIFICATIONS_SWEEP_LIMIT]
    )
    if due_ids:
        enqueue_send(outbox_ids=due_ids)
        logger.warning("outbox sweep requeued messages", extra={"count": len(due_ids)})
    return SweepReport(released=released, enqueued=len(due_ids), purged=_purge_finished(now=now))


def _purge_finished(*, now: datetime) -> int:
    """Delete finished outbox rows past the retention period, a bounded number per sweep.
    Inbox rows are not touched."""
    cutoff = now - timedelta(days=settings.NOTIFICATIONS_OUTBOX_RETENTION_DAYS)
    old_ids = list(
        OutboxMessage.objects.filter(
            state__in=[
                OutboxMessage.State.SENT,
                OutboxMessage.State.FAILED,
                OutboxMessage.State.CANCELLED,
            ],
            updated_at__lt=cutoff,
        ).values_list("pk", flat=True)[: settings.NOTIFICATIONS_SWEEP_LIMIT]
    )
    if not old_ids:
        return 0
    deleted, _ = OutboxMessage.objects.filter(pk__in=old_ids).delete()
    return deleted


@transaction.atomic
def outbox_requeue(*, outbox_ids: Sequence[int]) -> int:
    """Ops: send these rows again soon, with a fresh attempt budget. Sent rows and rows being
    sent are left alone, so this can never send a message twice."""
    now = timezone.now()
    ids = list(
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(
            pk__in=list(outbox_ids),
            state__in=[
                OutboxMessage.State.PENDING,
                OutboxMessage.State.FAILED,
                OutboxMessage.State.CANCELLED,
            ],
        )
        .values_list("pk", flat=True)
    )
    OutboxMessage.objects.filter(pk__in=ids).update(
        state=OutboxMessage.State.PENDING,
        attempts=0,
        next_attempt_at=now,
        updated_at=now,
    )
    if ids:
        _enqueue_send_on_commit(outbox_ids=ids)
    return len(ids)


# --- Erasure ---------------------------------------------------------------------------------


@transaction.atomic
def notifications_erase_for_user(*, user_id: int) -> None:
    """For an account being deleted: its inbox (with the pushes of each item), its devices and
    its preferences go. Pushes still queued to its devices for anyone else are cancelled first
    (a device row's outbox rows keep no device after it)."""
    for device_id in Device.objects.filter(user_id=user_id).values_list("pk", flat=True):
        _cancel_pending_for_device(device_id=device_id, reason="account deleted")
    InboxItem.objects.filter(user_id=user_id).delete()
    Device.objects.filter(user_id=user_id).delete()
    NotificationPreference.objects.filter(user_id=user_id).delete()
