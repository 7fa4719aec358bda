"""Input and output shapes of the notifications API."""

from typing import Any
from zoneinfo import available_timezones

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications.events import Event
from notifications.models import Device, InboxItem, NotificationPreference


class DeviceInputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=1024, trim_whitespace=True)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    app_version = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
    language = serializers.CharField(max_length=8, required=False, default="", allow_blank=True)

    def validate_token(self, value: str) -> str:
        if "/" in value or any(c.isspace() for c in value):
            raise serializers.ValidationError("Not an FCM registration token.")
        return value


class DeviceOutputSerializer(serializers.ModelSerializer[Device]):
    class Meta:
        model = Device
        fields = ["token", "platform", "app_version", "language", "last_seen_at", "created_at"]
        read_only_fields = fields


class InboxPayloadSerializer(serializers.Serializer[Any]):
    """What a notification refers to, for the app's deep link: the keys its event carries
    (``notifications.events.SPECS``), each a string, a number or null."""

    request_id = serializers.IntegerField(required=False)
    offer_id = serializers.IntegerField(required=False)
    store_id = serializers.IntegerField(required=False)
    store_name = serializers.CharField(required=False)
    fee_cents = serializers.IntegerField(required=False, help_text="The fee offered, in cents.")
    detour_min = serializers.IntegerField(required=False, help_text="The detour as shown.")
    driver_name = serializers.CharField(required=False, help_text="The driver's first name.")
    responder_count = serializers.IntegerField(required=False)
    eta_min = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False, help_text="Why the request was cancelled.")


@extend_schema_field(InboxPayloadSerializer)
class PayloadField(serializers.JSONField):
    """The payload as stored (every key it has), described by ``InboxPayloadSerializer``."""


class InboxItemOutputSerializer(serializers.ModelSerializer[InboxItem]):
    is_read = serializers.SerializerMethodField()
    payload = PayloadField(read_only=True)

    class Meta:
        model = InboxItem
        fields = [
            "id",
            "event",
            "title",
            "body",
            "payload",
            "is_read",
            "read_at",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_is_read(self, item: InboxItem) -> bool:
        return item.read_at is not None


class InboxListFilterSerializer(serializers.Serializer[Any]):
    unread = serializers.BooleanField(required=False, default=False)


class UnreadCountSerializer(serializers.Serializer[Any]):
    unread = serializers.IntegerField(min_value=0)


class MarkedReadSerializer(serializers.Serializer[Any]):
    marked = serializers.IntegerField(min_value=0)


class PreferenceSerializer(serializers.ModelSerializer[NotificationPreference]):
    muted_events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), required=False, max_length=50
    )
    time_zone = serializers.CharField(max_length=64, required=False)

    class Meta:
        model = NotificationPreference
        fields = ["muted_events", "quiet_hours_start", "quiet_hours_end", "time_zone"]

    def validate_time_zone(self, value: str) -> str:
        if value not in available_timezones():
            raise serializers.ValidationError("Unknown time zone; use an IANA name.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start_given, end_given = "quiet_hours_start" in attrs, "quiet_hours_end" in attrs
        if start_given != end_given:
            missing = "quiet_hours_end" if start_given else "quiet_hours_start"
            raise serializers.ValidationError({missing: "Give both ends of the quiet hours."})
        if start_given and (attrs["quiet_hours_start"] is None) != (
            attrs["quiet_hours_end"] is None
        ):
            raise serializers.ValidationError(
                {"quiet_hours_end": "Both ends are times, or both are null to remove them."}
            )
        return attrs
