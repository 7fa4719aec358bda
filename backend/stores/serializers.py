from rest_framework import serializers

from backend.core.fields import LatLngField
from backend.stores.models import POLICY_FIELDS, Store


class StoreSerializer(serializers.ModelSerializer):
    location = LatLngField()
    opening_hours = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        read_only=True,
        help_text='Weekday ("0" = Monday … "6") to its opening and closing times, '
        '["HH:MM", "HH:MM"], store-local; a day that is missing is closed.',
    )
    distance_m = serializers.SerializerMethodField(
        help_text="From the point given as lat/lng, when given."
    )

    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "address",
            "location",
            "service_radius_m",
            "timezone",
            "opening_hours",
            "assignment_mode",
            "max_parcel_weight_kg",
            "max_parcel_volume_l",
            "max_parcel_length_cm",
            "distance_m",
        ]

    def get_distance_m(self, store: Store) -> int | None:
        distance = getattr(store, "distance", None)
        return round(distance.m) if distance is not None else None


class StoreNearbyQuerySerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False)

    def validate(self, attrs: dict[str, float]) -> dict[str, float]:
        if ("lat" in attrs) != ("lng" in attrs):
            missing = "lng" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: "Give both lat and lng, or neither."})
        return attrs


class StorePolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = list(POLICY_FIELDS)
        extra_kwargs = {
            "offer_fanout_k": {"min_value": 1, "max_value": 50},
            "offer_lifetime_s": {"min_value": 60, "max_value": 86400},
            "collection_window_s": {"min_value": 0, "max_value": 3600},
            "fee_base_eur": {"min_value": 0, "max_value": 100},
            "fee_per_detour_km_eur": {"min_value": 0, "max_value": 20},
            "fee_min_eur": {"min_value": 0, "max_value": 100},
            "fee_max_eur": {"min_value": 0, "max_value": 500},
            "max_parcel_weight_kg": {"min_value": 1, "max_value": 1000},
            "max_parcel_volume_l": {"min_value": 1, "max_value": 10000},
            "max_parcel_length_cm": {"min_value": 10, "max_value": 400},
            "service_radius_m": {"min_value": 500, "max_value": 100000},
            "max_responses_in_flight": {"min_value": 1, "max_value": 20},
            "suspend_after_failures": {"min_value": 1, "max_value": 50},
            "suspend_window_days": {"min_value": 1, "max_value": 365},
        }
