"""Distances as the database computes them, on the routing core's sphere."""

from typing import Any

from django.contrib.gis.db.models import PointField
from django.db import connection
from django.db.models import F, FloatField, Func, Value


class SphereDistance(Func):
    """ST_Distance on the sphere (``use_spheroid => false``), in metres: the same sphere as the
    routing core's haversine, so the prefilter and the exact insertion agree."""

    function = "ST_Distance"
    output_field = FloatField()

    def __init__(self, field: str, point: Any) -> None:
        super().__init__(
            F(field), Value(point, output_field=PointField(srid=4326, geography=True)), Value(False)
        )


def sphere_distance_m(a: Any, b: Any) -> float:
    """Great-circle metres between two points, as the database computes it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(%s::geography, %s::geography, false)", [a.ewkt, b.ewkt])
        (distance,) = cursor.fetchone()
    return float(distance)
