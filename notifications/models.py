from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from notifications.events import Event


class Device(models.Model):
    """A phone (or browser) that can receive pushes for one user, known by its FCM token.

    The token is unique. It moves to another account only once free: the account holding it
    logged out on the phone (the row is deleted) or FCM reported it gone. A device FCM reports as
    gone is deactivated, never pushed to again until the app registers the token anew.
    """

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices"
    )
    token = models.CharField(max_length=1024, unique=True)
    platform = models.CharField(max_length=8, choices=Platform.choices)
    app_version = models.CharField(max_length=32, blank=True)
    language = models.CharField(max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=255, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["user"], condition=Q(is_active=True), name="device_active_by_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} device of user {self.user_id}"


class NotificationPreference(models.Model):
    """What one user wants to hear about, and when offers may wake them.

    Quiet hours are local wall-clock times in ``time_zone``; a window whose start is after its
    end spans midnight (22:00 to 07:00). Equal start and end means no quiet hours.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    muted_events = ArrayField(
        models.CharField(max_length=32, choices=Event.choices), default=list, blank=True
    )
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="notification_quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification preferences of user {self.user_id}"


class InboxItem(models.Model):
    """One entry of a user's notification list in the app. Written with the push, kept whatever
    becomes of the push. Title and body are in the user's language at the time of the event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_items"
    )
    event = models.CharField(max_length=32, choices=Event.choices)
    title = models.CharField(max_length=255)
    body = models.TextField()
    language = models.CharField(max_length=8)
    payload = models.JSONField(default=dict, blank=True)
    # After this the push is pointless (an offer that has lapsed): not sent, and FCM drops it.
    expires_at = models.DateTimeField(null=True, blank=True)
    collapse_key = models.CharField(max_length=64, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="inbox_by_user_newest"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="inbox_unread_by_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} for user {self.user_id}"


class OutboxMessage(models.Model):
    """One push of one inbox item to one device: the unit that is sent, retried and recorded.

    ``pending`` rows are due at ``next_attempt_at``. A worker claims a row by moving it to
    ``sending`` under a row lock with a lease (``claimed_until``), sends, then records ``sent``
    (with FCM's message id) or puts it back to ``pending`` with a later ``next_attempt_at``. Only
    ``pending`` rows are ever claimed, so a row that reached ``sent`` is never sent again.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    inbox_item = models.ForeignKey(
        InboxItem, on_delete=models.CASCADE, related_name="outbox_messages"
    )
    # SET_NULL: a device deleted at logout keeps the record of what was sent to it.
    device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="outbox_messages"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    fcm_message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inbox_item", "device"], name="outbox_one_message_per_item_and_device"
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
            ),
            models.CheckConstraint(
                condition=~Q(state="sending") | Q(claimed_until__isnull=False),
                name="outbox_sending_has_lease",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="outbox_pending_due",
            ),
            models.Index(
                fields=["claimed_until"],
                condition=Q(state="sending"),
                name="outbox_sending_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"Outbox {self.pk} ({self.state})"
