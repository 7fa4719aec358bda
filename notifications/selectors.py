"""Every non-trivial read of the notifications app."""

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
