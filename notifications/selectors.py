"""Every non-trivial read of the notifications app."""

from typing import Any

from django.db.models import QuerySet

from notifications.models import Device, InboxItem, NotificationPreference


def inbox_list(*, user_id: int, unread_only: bool = False) -> QuerySet[InboxItem]:
    """The user's notifications, newest first. Serialising a row needs no further query."""
    items = InboxItem.objects.filter(user_id=user_id)
    if unread_only:
        items = items.filter(read_at__isnull=True)
    return items.order_by("-created_at", "-id")


def inbox_unread_count(*, user_id: int) -> int:
    return InboxItem.objects.filter(user_id=user_id, read_at__isnull=True).count()


def device_list(*, user_id: int) -> QuerySet[Device]:
    return Device.objects.filter(user_id=user_id, is_active=True).order_by("-last_seen_at")


def preference_get(*, user_id: int) -> NotificationPreference:
    """The user's preferences, or the defaults (everything on, no quiet hours) when unset."""
    preference = NotificationPreference.objects.filter(user_id=user_id).first()
    return preference or NotificationPreference(user_id=user_id)


# The end of a device's token shown in the export: enough to tell one's phones apart.
TOKEN_END_CHARS = 6


def notifications_export_for_user(*, user_id: int) -> dict[str, Any]:
    """The user's inbox, devices and preferences, for their own data export.

    A device's full FCM registration token is left out, only its last characters shown: the
    token is a credential of the phone's app install (whoever holds it, with the sender's
    server key, can push to that phone, and it identifies the install across accounts), not a
    fact about the person, and an export file travels to places a credential should not.
    """
    inbox = [
        {
            "id": item.pk,
            "event": item.event,
            "title": item.title,
            "body": item.body,
            "language": item.language,
            "payload": item.payload,
            "read_at": item.read_at,
            "expires_at": item.expires_at,
            "created_at": item.created_at,
        }
        for item in InboxItem.objects.filter(user_id=user_id).order_by("created_at", "id")
    ]
    devices = [
        {
            "token_end": device.token[-TOKEN_END_CHARS:],
            "platform": device.platform,
            "app_version": device.app_version,
            "language": device.language,
            "is_active": device.is_active,
            "deactivated_at": device.deactivated_at,
            "deactivation_reason": device.deactivation_reason,
            "last_seen_at": device.last_seen_at,
            "created_at": device.created_at,
        }
        for device in Device.objects.filter(user_id=user_id).order_by("created_at", "id")
    ]
    preference = NotificationPreference.objects.filter(user_id=user_id).first()
    preferences = (
        None
        if preference is None
        else {
            "muted_events": list(preference.muted_events),
            "quiet_hours_start": preference.quiet_hours_start,
            "quiet_hours_end": preference.quiet_hours_end,
            "time_zone": preference.time_zone,
            "updated_at": preference.updated_at,
        }
    )
    return {"inbox": inbox, "devices": devices, "notification_preferences": preferences}
