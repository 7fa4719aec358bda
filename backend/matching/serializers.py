from decimal import Decimal
from functools import cached_property
from typing import Any

from rest_framework import serializers

from backend.core.fields import LatLngField
from backend.core.travel import HAVERSINE
from backend.deliveries.serializers import DriverPublicSerializer, RequestOfferedSerializer
from backend.matching.models import CommuteProfile, Offer, Trip
from backend.matching.selectors import Opportunity


class TripCreateSerializer(serializers.Serializer):
    store_id = serializers.IntegerField(min_value=1)
    departure_earliest = serializers.DateTimeField()
    departure_latest = serializers.DateTimeField()
    destination = LatLngField(help_text="Where you are heading (private: only you see it).")
    max_detour_min = serializers.IntegerField(min_value=0, max_value=120)
    capacity_kg = serializers.DecimalField(
        max_digits=6,
        decimal_places=1,
        min_value=Decimal(1),
        max_value=Decimal(2000),
        required=False,
    )
    capacity_l = serializers.DecimalField(
        max_digits=7,
        decimal_places=1,
        min_value=Decimal(1),
        max_value=Decimal(20000),
        required=False,
    )
    max_length_cm = serializers.IntegerField(min_value=10, max_value=400, required=False)


class TripSerializer(serializers.ModelSerializer):
    """Only ever shown to the trip's own driver."""

    destination = LatLngField()
    max_detour_min = serializers.SerializerMethodField()

    class Meta:
        model = Trip
        fields = [
            "id",
            "store_id",
            "departure_earliest",
            "departure_latest",
            "destination",
            "capacity_kg",
            "capacity_l",
            "max_length_cm",
            "max_detour_min",
            "load_kg",
            "load_l",
            "request_count",
            "state",
            "created_at",
        ]

    def get_max_detour_min(self, trip: Trip) -> int:
        return round(trip.max_detour_s / 60)


SHOWN_DETOUR_HELP = (
    "What the request adds to your trip, computed to its drop-off area (about 1 km), not the "
    "exact drop-off, and rounded: seconds to the minute, metres to 500 m."
)

TRAVEL_ENGINE_HELP = (
    "What measured the detour: a road engine (osrm) on real roads, or haversine, the "
    "straight-line estimate used when no road engine could answer."
)
DETOUR_ESTIMATED_HELP = "True when the detour is a straight-line estimate, not a road time."


# An ``Opportunity`` of a trip's feed: the request as a driver it is offered to sees it, then the
# metres and seconds it adds to the trip's route as shown (``ShownDetour``). No docstring of its
# own: the schema describes it with the offered request's.
class OpportunitySerializer(RequestOfferedSerializer):
    detour_m = serializers.SerializerMethodField(help_text=SHOWN_DETOUR_HELP)
    detour_s = serializers.SerializerMethodField(help_text=SHOWN_DETOUR_HELP)
    travel_engine = serializers.SerializerMethodField(help_text=TRAVEL_ENGINE_HELP)
    detour_estimated = serializers.SerializerMethodField(help_text=DETOUR_ESTIMATED_HELP)

    class Meta(RequestOfferedSerializer.Meta):
        fields = [
            *RequestOfferedSerializer.Meta.fields,
            "detour_m",
            "detour_s",
            "travel_engine",
            "detour_estimated",
        ]

    def to_representation(self, instance: Opportunity) -> dict[str, Any]:
        # The inherited fields are the request row's, the detours the opportunity's: the
        # request is shaped by the offered serializer itself, so the two cannot drift apart.
        return {
            **self._request_shape.to_representation(instance.request),
            "detour_m": self.get_detour_m(instance),
            "detour_s": self.get_detour_s(instance),
            "travel_engine": self.get_travel_engine(instance),
            "detour_estimated": self.get_detour_estimated(instance),
        }

    @cached_property
    def _request_shape(self) -> RequestOfferedSerializer:
        return RequestOfferedSerializer(context=self.context)

    def get_detour_m(self, opportunity: Opportunity) -> int:
        return opportunity.shown.detour_m

    def get_detour_s(self, opportunity: Opportunity) -> int:
        return opportunity.shown.detour_s

    def get_travel_engine(self, opportunity: Opportunity) -> str:
        return opportunity.engine

    def get_detour_estimated(self, opportunity: Opportunity) -> bool:
        return opportunity.engine == HAVERSINE


class OfferSerializer(serializers.ModelSerializer):
    request = RequestOfferedSerializer()
    detour_s = serializers.IntegerField(
        source="shown_detour_s", read_only=True, help_text=SHOWN_DETOUR_HELP
    )
    detour_m = serializers.IntegerField(
        source="shown_detour_m", read_only=True, help_text=SHOWN_DETOUR_HELP
    )
    travel_engine = serializers.CharField(read_only=True, help_text=TRAVEL_ENGINE_HELP)
    detour_estimated = serializers.SerializerMethodField(help_text=DETOUR_ESTIMATED_HELP)

    class Meta:
        model = Offer
        fields = [
            "id",
            "state",
            "trip_id",
            "detour_s",
            "detour_m",
            "travel_engine",
            "detour_estimated",
            "fee_eur",
            "expires_at",
            "source",
            "created_at",
            "responded_at",
            "request",
        ]

    def get_detour_estimated(self, offer: Offer) -> bool:
        return offer.travel_engine == HAVERSINE


class ResponderSerializer(serializers.ModelSerializer):
    """A driver who responded, as the customer sees them (never where they live)."""

    offer_id = serializers.IntegerField(source="id")
    driver = DriverPublicSerializer(source="trip.driver")

    class Meta:
        model = Offer
        fields = ["offer_id", "driver", "responded_at", "fee_eur"]


class CommuteProfileSerializer(serializers.ModelSerializer):
    home = LatLngField(help_text="Private: only you see it.")
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), min_length=1, max_length=7
    )
    max_detour_s = serializers.IntegerField(min_value=0, max_value=7200)
    departure_flex_min = serializers.IntegerField(min_value=0, max_value=240, default=30)

    class Meta:
        model = CommuteProfile
        fields = [
            "id",
            "store",
            "weekdays",
            "shift_end",
            "departure_flex_min",
            "home",
            "max_detour_s",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_weekdays(self, weekdays: list[int]) -> list[int]:
        return sorted(set(weekdays))


class VanStopSerializer(serializers.Serializer):
    van_id = serializers.IntegerField()
    van_name = serializers.CharField(source="van.name")
    sequence = serializers.IntegerField()
    request_id = serializers.IntegerField()
    eta = serializers.DateTimeField()
    dropoff_address = serializers.CharField(source="request.dropoff_address")
    dropoff = LatLngField(source="request.dropoff_point")


class VanPlanSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    cutoff_at = serializers.DateTimeField()
    requests_planned = serializers.IntegerField()
    distance_m = serializers.IntegerField()
    travel_engine = serializers.CharField(
        help_text="What planned the routes and their times: osrm (roads) or haversine (estimate)."
    )
    stops = VanStopSerializer(many=True)
