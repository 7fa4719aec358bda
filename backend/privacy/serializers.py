"""The shape of a person's data export (``privacy.selectors.user_data_export``). The export is
built by each app as plain JSON values, so these serializers describe it for the API schema
rather than produce it: numbers stored as decimals are JSON numbers here, points are
``{"lat", "lng"}``."""

from rest_framework import serializers

from backend.core.fields import LatLngSerializer
from notifications.serializers import InboxPayloadSerializer


class AccountExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    full_name = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()
    date_joined = serializers.DateTimeField()


class DriverProfileExportSerializer(serializers.Serializer):
    vehicle_type = serializers.CharField()
    capacity_kg = serializers.FloatField()
    capacity_l = serializers.FloatField()
    max_length_cm = serializers.IntegerField()
    status = serializers.CharField()
    identity_submitted_at = serializers.DateTimeField(allow_null=True)
    rating_avg = serializers.FloatField(allow_null=True)
    rating_count = serializers.IntegerField()


class RequestExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store_id = serializers.IntegerField()
    order_reference = serializers.CharField()
    dropoff_address = serializers.CharField()
    dropoff_point = LatLngSerializer()
    contact_phone = serializers.CharField()
    access_notes = serializers.CharField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    fee_eur = serializers.FloatField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class TripExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store_id = serializers.IntegerField()
    departure_earliest = serializers.DateTimeField()
    departure_latest = serializers.DateTimeField()
    destination = LatLngSerializer()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()


class CommuteProfileExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store_id = serializers.IntegerField()
    weekdays = serializers.ListField(child=serializers.IntegerField())
    shift_end = serializers.TimeField()
    departure_flex_min = serializers.IntegerField()
    home = LatLngSerializer()
    max_detour_s = serializers.IntegerField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class OfferExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request_id = serializers.IntegerField()
    trip_id = serializers.IntegerField()
    shown_detour_s = serializers.IntegerField(help_text="As shown (to the drop-off area).")
    shown_detour_m = serializers.IntegerField(help_text="As shown (to the drop-off area).")
    fee_eur = serializers.FloatField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)


class RatingGivenExportSerializer(serializers.Serializer):
    request_id = serializers.IntegerField()
    direction = serializers.CharField()
    stars = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class RatingReceivedExportSerializer(serializers.Serializer):
    request_id = serializers.IntegerField()
    direction = serializers.CharField()
    stars = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class EarningExportSerializer(serializers.Serializer):
    request_id = serializers.IntegerField()
    amount_eur = serializers.FloatField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()


class InboxExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    language = serializers.CharField()
    payload = InboxPayloadSerializer()
    read_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class PreferenceExportSerializer(serializers.Serializer):
    muted_events = serializers.ListField(child=serializers.CharField())
    quiet_hours_start = serializers.TimeField(allow_null=True)
    quiet_hours_end = serializers.TimeField(allow_null=True)
    time_zone = serializers.CharField()
    updated_at = serializers.DateTimeField()


class DeviceExportSerializer(serializers.Serializer):
    token_end = serializers.CharField(
        help_text=(
            "The last characters of the phone's push token. The full token is not exported: it "
            "is a credential of the app install (with the sender's key it pushes to that phone, "
            "and it identifies the install), not a fact about you."
        )
    )
    platform = serializers.CharField()
    app_version = serializers.CharField()
    language = serializers.CharField()
    is_active = serializers.BooleanField()
    deactivated_at = serializers.DateTimeField(allow_null=True)
    deactivation_reason = serializers.CharField()
    last_seen_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class DataExportSerializer(serializers.Serializer):
    account = AccountExportSerializer()
    driver_profile = DriverProfileExportSerializer(allow_null=True)
    delivery_requests = RequestExportSerializer(many=True)
    trips = TripExportSerializer(many=True)
    commute_profiles = CommuteProfileExportSerializer(many=True)
    offers = OfferExportSerializer(many=True)
    ratings_given = RatingGivenExportSerializer(many=True)
    ratings_received = RatingReceivedExportSerializer(many=True)
    earnings = EarningExportSerializer(many=True)
    inbox = InboxExportSerializer(many=True, help_text="My notifications, oldest first.")
    devices = DeviceExportSerializer(many=True, help_text="My phones registered for pushes.")
    notification_preferences = PreferenceExportSerializer(
        allow_null=True, help_text="Null when never changed from the defaults."
    )
