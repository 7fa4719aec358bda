"""Coordinates on the API are always ``{"lat": <degrees>, "lng": <degrees>}`` (WGS 84)."""

import math
from typing import Any

from django.contrib.gis.geos import Point
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError("A coordinate must be a finite number.")


class LatLngSerializer(serializers.Serializer):
    lat = serializers.FloatField(
        min_value=-90, max_value=90, validators=[_finite], help_text="Latitude, degrees."
    )
    lng = serializers.FloatField(
        min_value=-180, max_value=180, validators=[_finite], help_text="Longitude, degrees."
    )


@extend_schema_field(LatLngSerializer)
class LatLngField(serializers.Field):
    """A point as ``{lat, lng}``; stored as a PostGIS geography point, SRID 4326."""

    default_error_messages = {
        # Braces doubled: DRF formats error messages.
        "invalid": 'Expected an object {{"lat": <-90..90>, "lng": <-180..180>}}.',
    }

    def __init__(self, *, precision: int = 6, **kwargs: Any) -> None:
        self.precision = precision
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Point:
        if not isinstance(data, dict):
            self.fail("invalid")
        inner = LatLngSerializer(data=data)
        if not inner.is_valid():
            raise serializers.ValidationError(inner.errors)
        return Point(inner.validated_data["lng"], inner.validated_data["lat"], srid=4326)

    def to_representation(self, value: Point) -> dict[str, float]:
        return {"lat": round(value.y, self.precision), "lng": round(value.x, self.precision)}


class ConstantField(serializers.Field):
    """A read-only string that is always ``value``: a shape that names itself, for a client to
    tell the shapes of a union apart (the schema's discriminator)."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        self.value = value
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value: Any) -> str:
        return self.value
