from rest_framework import serializers


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
    account = serializers.DictField()
    driver_profile = serializers.DictField(allow_null=True)
    delivery_requests = serializers.ListField(child=serializers.DictField())
    trips = serializers.ListField(child=serializers.DictField())
    commute_profiles = serializers.ListField(child=serializers.DictField())
    offers = serializers.ListField(child=serializers.DictField())
    ratings_given = serializers.ListField(child=serializers.DictField())
    ratings_received = serializers.ListField(child=serializers.DictField())
    earnings = serializers.ListField(child=serializers.DictField())
    inbox = serializers.ListField(
        child=serializers.DictField(), help_text="My notifications, oldest first."
    )
    devices = DeviceExportSerializer(many=True, help_text="My phones registered for pushes.")
    notification_preferences = serializers.DictField(
        allow_null=True, help_text="Null when never changed from the defaults."
    )
