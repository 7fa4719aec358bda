"""The travel times every promise is made with (settings: TRAVEL_ENGINE, OSRM_*, ROUTING_*).

``on_roads(compute)`` runs a computation on the configured road engine and, when the engine
cannot answer (down, a point off its network), runs it again on the straight-line model: the
product degrades, it does not stop. The answer says which engine produced it, so that what is
shown or stored can say "estimated"; a fallback is remembered for a while and ``/healthz``
reports the engine as degraded.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.utils import timezone

import routing
from backend.core.errors import InvalidInput
from routing.roads import ROUNDING_S, OsrmHttpTravel, OsrmTravel, TravelUnavailable

__all__ = ["ROUNDING_S", "TravelUnavailable", "Travelled", "on_roads", "road_travel"]

logger = logging.getLogger(__name__)

HAVERSINE = "haversine"
# How long a fallback keeps the engine reported degraded.
DEGRADED_FOR_S = 300
_DEGRADED_KEY = "travel:degraded"

RoadTravel = OsrmTravel | OsrmHttpTravel


@dataclass(frozen=True)
class Travelled[T]:
    """A result and the engine that produced it; ``estimated`` unless it was on roads."""

    value: T
    engine: str

    @property
    def estimated(self) -> bool:
        return self.engine == HAVERSINE


class DegradedRecord(TypedDict):
    at: str
    detail: str


def straight_line() -> routing.HaversineTravel:
    """The straight-line model: great-circle distance × circuity at a constant speed."""
    return _straight_line(float(settings.ROUTING_SPEED_KMH), float(settings.ROUTING_CIRCUITY))


@functools.cache
def _straight_line(speed_kmh: float, circuity: float) -> routing.HaversineTravel:
    return routing.HaversineTravel(speed_kmh=speed_kmh, circuity=circuity)


@functools.cache
def _road(
    engine: str, data: str, url: str, timeout_s: float, max_snap_m: float, top_speed_kmh: float
) -> RoadTravel:
    if engine == "osrm":
        return OsrmTravel(data, max_snap_m=max_snap_m)
    return OsrmHttpTravel(
        url, timeout_s=timeout_s, max_snap_m=max_snap_m, top_speed_kmh=top_speed_kmh
    )


def road_configured() -> bool:
    """Whether a road engine is configured (whether or not it answers now)."""
    return bool(settings.TRAVEL_ENGINE != HAVERSINE)


def road_travel() -> RoadTravel | None:
    """The configured road engine, or None when the straight-line model is the engine.

    Raises:
        TravelUnavailable: if a road engine is configured but cannot be loaded.
    """
    engine = settings.TRAVEL_ENGINE
    if engine == HAVERSINE:
        return None
    return _road(
        engine,
        str(settings.OSRM_DATA),
        str(settings.OSRM_URL),
        float(settings.OSRM_TIMEOUT_S),
        float(settings.ROAD_MAX_SNAP_M),
        float(settings.OSRM_TOP_SPEED_KMH),
    )


def _remember_degraded(error: Exception) -> None:
    record: DegradedRecord = {"at": timezone.now().isoformat(), "detail": str(error)[:300]}
    logger.warning("road engine unavailable, straight-line estimate used: %s", error)
    try:
        cache.set(_DEGRADED_KEY, record, timeout=DEGRADED_FOR_S)
    except Exception:  # a cache outage must not turn a fallback into an error
        logger.warning("could not record the road engine's degradation", exc_info=True)


def degraded_since() -> DegradedRecord | None:
    """The last fallback to the straight-line model, if within ``DEGRADED_FOR_S``."""
    record: DegradedRecord | None = cache.get(_DEGRADED_KEY)
    return record


def on_roads[T](compute: Callable[[routing.TravelTimeProvider], T]) -> Travelled[T]:
    """``compute`` with road times if the engine answers, else with the straight-line model."""
    try:
        road = road_travel()
    except TravelUnavailable as error:
        _remember_degraded(error)
        road = None
    else:
        if road is not None:
            try:
                return Travelled(value=compute(road), engine=road.name)
            except TravelUnavailable as error:
                _remember_degraded(error)
    return Travelled(value=compute(straight_line()), engine=HAVERSINE)


def lenient(provider: routing.TravelTimeProvider) -> routing.TravelTimeProvider:
    """``provider`` snapping points to their nearest road however far: for a point that stands
    for an area (a drop-off area's centre may lie at sea or in a park)."""
    if isinstance(provider, OsrmTravel | OsrmHttpTravel):
        return provider.lenient()
    return provider


def straight_speed_bound_m_per_s() -> float:
    """A speed no travel time beats in straight-line metres per second (the candidate
    prefilter's bound): the road network's top speed, or the straight-line model's own speed
    per straight metre. Falls back to the straight-line model's if the engine cannot load."""
    try:
        road = road_travel()
    except TravelUnavailable:
        road = None
    if road is not None:
        # Whichever answers a call, both bounds must hold: the fallback's too.
        return max(road.straight_speed_bound_m_per_s, _straight_speed_m_per_s())
    return _straight_speed_m_per_s()


def _straight_speed_m_per_s() -> float:
    return float(settings.ROUTING_SPEED_KMH) / 3.6 / float(settings.ROUTING_CIRCUITY)


def unroutable(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (lat, lng) points farther than ROAD_MAX_SNAP_M from the road network;
    empty when the straight-line model is the engine or the road engine cannot say (then
    nothing is refused: the product degrades, see ``on_roads``).

    Check the points a route joins together, the store first: the engine snaps a lone point to
    whatever road is nearest, a private lane cut off from everything included, and points of
    one route to the connected network."""
    try:
        road = road_travel()
        if road is None or not points:
            return []
        snapped_m = road.snap_m(_as_array(points))
    except TravelUnavailable as error:
        _remember_degraded(error)
        return []
    return [index for index, metres in enumerate(snapped_m) if metres > road.max_snap_m]


def _as_array(points: list[tuple[float, float]]) -> routing.travel.FloatArray:
    return np.asarray(points, dtype=np.float64)


def require_routable(*, store: Point, point: Point, field: str) -> None:
    """Refuse a place the store's drivers cannot drive to.

    Raises:
        InvalidInput: naming ``field``, if ``point`` lies farther than ROAD_MAX_SNAP_M from the
            road network that reaches ``store``.
    """
    if 1 in unroutable([(store.y, store.x), (point.y, point.x)]):
        raise InvalidInput(
            field,
            f"This place is more than {float(settings.ROAD_MAX_SNAP_M):.0f} m from any road a "
            "car can take from the store: choose a point on or next to a street.",
        )
