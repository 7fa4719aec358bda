"""Real-time insertion: where would one new parcel fit best into many existing driver trips?

For every trip and every position in its current drop-off sequence, at once (numpy, no loop over
trips), the new route is timed with the best departure inside the trip's departure window and
checked against every window, the capacities (weight, volume, longest side, number of parcels)
and the detour budget. The k feasible insertions with the smallest added detour are returned.

Parcels are picked up at the trip's start (the store) before departure, so a trip is
start -> its drop-offs in order -> end. Points are (lat, lng) degrees for the haversine provider.
Times are seconds from one reference instant chosen by the caller (epoch seconds work).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from routing.schedule import time_routes
from routing.travel import TravelTimeProvider

FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]


class InsertionError(ValueError):
    """The request cannot be evaluated (bad k, malformed trip or parcel)."""


@dataclass(frozen=True)
class TripParcel:
    """A parcel to drop off: where, its window (s), service time (s) and size."""

    dropoff: Point
    earliest_s: float = -math.inf
    latest_s: float = math.inf
    service_s: float = 0.0
    weight_kg: float = 0.0
    volume_l: float = 0.0
    longest_side_cm: float = 0.0

    def __post_init__(self) -> None:
        if self.earliest_s > self.latest_s:
            raise InsertionError("parcel window is reversed")
        if min(self.weight_kg, self.volume_l, self.longest_side_cm, self.service_s) < 0:
            raise InsertionError("parcel size and service time must not be negative")


@dataclass(frozen=True)
class Trip:
    """A driver's trip home with the parcels already accepted, in drop-off order.

    ``max_detour_s`` bounds (arrival home - departure) - direct drive time.
    """

    start: Point
    end: Point
    earliest_departure_s: float
    latest_departure_s: float
    max_detour_s: float
    capacity_weight_kg: float = math.inf
    capacity_volume_l: float = math.inf
    max_longest_side_cm: float = math.inf
    max_parcels: int | None = None
    parcels: tuple[TripParcel, ...] = ()
    latest_arrival_s: float = math.inf
    id: str = ""

    def __post_init__(self) -> None:
        if self.earliest_departure_s > self.latest_departure_s:
            raise InsertionError(f"trip {self.id}: departure window is reversed")
        if min(self.capacity_weight_kg, self.capacity_volume_l, self.max_longest_side_cm) < 0:
            raise InsertionError(f"trip {self.id}: capacity must not be negative")
        if self.max_detour_s < 0:
            raise InsertionError(f"trip {self.id}: max_detour_s must not be negative")


@dataclass(frozen=True)
class Insertion:
    """Put the new parcel on trip number ``trip`` so that it is its ``position``-th drop-off
    (0 = first). ``detour_s``/``detour_m`` are the trip's total detour with the parcel;
    ``added_detour_s``/``added_detour_m`` what the parcel adds."""

    trip: int
    trip_id: str
    position: int
    detour_s: float
    detour_m: float
    added_detour_s: float
    added_detour_m: float
    departure_s: float


@dataclass(frozen=True, eq=False)
class RouteSet:
    """Many trips packed into arrays once, to evaluate many requests against them quickly.

    Node axis: start, the drop-offs, end, then copies of the end as padding (open windows,
    zero travel), so every trip has ``max_stops + 2`` nodes.
    """

    trip_ids: tuple[str, ...]
    n_stops: npt.NDArray[np.intp]
    points: FloatArray  # (R, N, 2)
    earliest_s: FloatArray  # (R, N)
    latest_s: FloatArray
    service_s: FloatArray
    load_weight_kg: FloatArray  # (R,)
    load_volume_l: FloatArray
    capacity_weight_kg: FloatArray
    capacity_volume_l: FloatArray
    max_longest_side_cm: FloatArray
    max_parcels: FloatArray
    max_detour_s: FloatArray

    def subset(self, rows: Sequence[int]) -> RouteSet:
        """These trips only, in this order."""
        index = np.asarray(rows, dtype=np.intp)
        return RouteSet(
            trip_ids=tuple(self.trip_ids[i] for i in index),
            **{
                name: getattr(self, name)[index]
                for name in (
                    "n_stops",
                    "points",
                    "earliest_s",
                    "latest_s",
                    "service_s",
                    "load_weight_kg",
                    "load_volume_l",
                    "capacity_weight_kg",
                    "capacity_volume_l",
                    "max_longest_side_cm",
                    "max_parcels",
                    "max_detour_s",
                )
            },
        )

    def without_windows_or_budgets(self) -> RouteSet:
        """The same routes with every stop's window open and no detour budget (departure
        windows and capacities kept): for ranking by detour alone."""
        earliest, latest = self.earliest_s.copy(), self.latest_s.copy()
        earliest[:, 1:] = -np.inf
        latest[:, 1:] = np.inf
        return replace(
            self,
            earliest_s=earliest,
            latest_s=latest,
            max_detour_s=np.full_like(self.max_detour_s, np.inf),
        )

    @classmethod
    def from_trips(cls, trips: Sequence[Trip]) -> RouteSet:
        n = len(trips)
        width = max((len(t.parcels) for t in trips), default=0) + 2
        points = np.zeros((n, width, 2))
        earliest = np.full((n, width), -np.inf)
        latest = np.full((n, width), np.inf)
        service = np.zeros((n, width))
        n_stops = np.zeros(n, dtype=np.intp)
        for r, trip in enumerate(trips):
            k = len(trip.parcels)
            n_stops[r] = k
            points[r, 0] = trip.start
            points[r, k + 1 :] = trip.end
            earliest[r, 0] = trip.earliest_departure_s
            latest[r, 0] = trip.latest_departure_s
            latest[r, k + 1] = trip.latest_arrival_s
            for j, parcel in enumerate(trip.parcels, start=1):
                points[r, j] = parcel.dropoff
                earliest[r, j] = parcel.earliest_s
                latest[r, j] = parcel.latest_s
                service[r, j] = parcel.service_s
        return cls(
            trip_ids=tuple(t.id for t in trips),
            n_stops=n_stops,
            points=points,
            earliest_s=earliest,
            latest_s=latest,
            service_s=service,
            load_weight_kg=np.array([sum(p.weight_kg for p in t.parcels) for t in trips]),
            load_volume_l=np.array([sum(p.volume_l for p in t.parcels) for t in trips]),
            capacity_weight_kg=np.array([t.capacity_weight_kg for t in trips], dtype=np.float64),
            capacity_volume_l=np.array([t.capacity_volume_l for t in trips], dtype=np.float64),
            max_longest_side_cm=np.array([t.max_longest_side_cm for t in trips], dtype=np.float64),
            max_parcels=np.array(
                [math.inf if t.max_parcels is None else t.max_parcels for t in trips],
                dtype=np.float64,
            ),
            max_detour_s=np.array([t.max_detour_s for t in trips], dtype=np.float64),
        )


def best_insertions(
    routes: RouteSet | Sequence[Trip],
    parcel: TripParcel,
    travel: TravelTimeProvider,
    k: int = 5,
) -> list[Insertion]:
    """The ``k`` cheapest feasible insertions of ``parcel`` over all trips (at most one per
    trip), sorted by added detour in seconds, then in metres. Empty when nothing fits.

    Raises:
        InsertionError: if ``k`` is not positive.
        TravelError: if the travel provider cannot handle the points.
    """
    if k <= 0:
        raise InsertionError("k must be positive")
    packed = routes if isinstance(routes, RouteSet) else RouteSet.from_trips(routes)
    n_trips, width = packed.earliest_s.shape
    if n_trips == 0:
        return []
    points = packed.points
    flat = points.reshape(-1, 2)
    target = np.asarray([parcel.dropoff], dtype=np.float64)
    base = travel.paired(points[:, :-1].reshape(-1, 2), points[:, 1:].reshape(-1, 2))
    base_s = base.duration_s.reshape(n_trips, width - 1)
    base_m = base.distance_m.reshape(n_trips, width - 1)
    to_new = travel.between(flat, target)
    from_new = travel.between(target, flat)
    to_s = to_new.duration_s.reshape(n_trips, width)
    to_m = to_new.distance_m.reshape(n_trips, width)
    from_s = from_new.duration_s.reshape(n_trips, width)
    from_m = from_new.distance_m.reshape(n_trips, width)
    # Padding legs (end -> end copies) are zero already; the direct drive is start -> end.
    rows = np.arange(n_trips)
    direct = travel.paired(points[:, 0], points[rows, packed.n_stops + 1])
    base_total_m = base_m.sum(axis=1)

    positions = width - 1  # insert after node i, i = 0 .. width-2
    legs = np.empty((n_trips, positions, width))
    earliest = np.empty((n_trips, positions, width + 1))
    latest = np.empty_like(earliest)
    service = np.empty_like(earliest)
    added_m = np.empty((n_trips, positions))
    for i in range(positions):
        legs[:, i, :i] = base_s[:, :i]
        legs[:, i, i] = to_s[:, i]
        legs[:, i, i + 1] = from_s[:, i + 1]
        legs[:, i, i + 2 :] = base_s[:, i + 1 :]
        for array, source, value in (
            (earliest, packed.earliest_s, parcel.earliest_s),
            (latest, packed.latest_s, parcel.latest_s),
            (service, packed.service_s, parcel.service_s),
        ):
            array[:, i, : i + 1] = source[:, : i + 1]
            array[:, i, i + 1] = value
            array[:, i, i + 2 :] = source[:, i + 1 :]
        added_m[:, i] = to_m[:, i] + from_m[:, i + 1] - base_m[:, i]
    schedule = time_routes(legs, earliest, latest, service)
    detour_s = schedule.span_s - direct.duration_s[:, None]
    old_detour_m = np.where(packed.n_stops > 0, base_total_m - direct.distance_m, 0.0)
    detour_m = base_total_m[:, None] + added_m - direct.distance_m[:, None]
    fits = (
        (packed.load_weight_kg + parcel.weight_kg <= packed.capacity_weight_kg)
        & (packed.load_volume_l + parcel.volume_l <= packed.capacity_volume_l)
        & (parcel.longest_side_cm <= packed.max_longest_side_cm)
        & (packed.n_stops + 1 <= packed.max_parcels)
    )
    valid_position = np.arange(positions)[None, :] <= packed.n_stops[:, None]
    feasible = (
        schedule.feasible
        & valid_position
        & fits[:, None]
        & (detour_s <= packed.max_detour_s[:, None] + 1e-6)
    )
    # Added detour in seconds: the new span minus the trip's current span.
    current = _current_span_s(packed, base_s)
    old_detour_s = np.where(packed.n_stops > 0, current - direct.duration_s, 0.0)
    added_s = detour_s - old_detour_s[:, None]
    score = np.where(feasible, added_s, np.inf)
    best_position = np.argmin(score, axis=1)
    best_score = score[rows, best_position]
    candidates = np.flatnonzero(np.isfinite(best_score))
    if len(candidates) == 0:
        return []
    chosen_m = added_m[candidates, best_position[candidates]]
    order = np.lexsort((chosen_m, best_score[candidates]))[:k]
    result: list[Insertion] = []
    for c in candidates[order]:
        i = int(best_position[c])
        result.append(
            Insertion(
                trip=int(c),
                trip_id=packed.trip_ids[c],
                position=i,
                detour_s=float(detour_s[c, i]),
                detour_m=float(detour_m[c, i]),
                added_detour_s=float(added_s[c, i]),
                added_detour_m=float(detour_m[c, i] - old_detour_m[c]),
                departure_s=float(schedule.departure_s[c, i]),
            )
        )
    return result


def _current_span_s(packed: RouteSet, base_s: FloatArray) -> FloatArray:
    schedule = time_routes(base_s, packed.earliest_s, packed.latest_s, packed.service_s)
    return schedule.span_s
