"""Between the database and the routing core: ORM rows in, plain dataclasses out.

Times given to the routing core are epoch seconds; points are (lat, lng) degrees.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import F, FloatField, Func, Max, Q, QuerySet, Value
from django.utils import timezone

import routing
from backend.accounts.models import DriverStatus
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.deliveries.selectors import (
    RequestTotals,
    requests_totals,
    totals_of,
    with_request_totals,
)
from backend.matching.models import OfferState, Trip, Van
from backend.stores.models import Store


def epoch_s(moment: datetime) -> float:
    return moment.timestamp()


def latlng(point: Point) -> tuple[float, float]:
    return (point.y, point.x)


def trip_parcel(request: DeliveryRequest, totals: RequestTotals) -> routing.TripParcel:
    """A request, with its parcel totals, as a drop-off for the routing core."""
    return routing.TripParcel(
        dropoff=latlng(request.dropoff_point),
        earliest_s=epoch_s(request.window_start),
        latest_s=epoch_s(request.window_end),
        service_s=float(settings.DELIVERY_SERVICE_S),
        weight_kg=float(totals.weight_kg),
        volume_l=float(totals.volume_l),
        longest_side_cm=float(totals.longest_side_cm),
    )


@dataclass(frozen=True)
class HeldRequest:
    """A request a trip holds (assigned or on board) and what its parcels add up to."""

    request: DeliveryRequest
    totals: RequestTotals


def carried_by_trip(trip_ids: list[int]) -> dict[int, list[HeldRequest]]:
    """The requests each trip already holds, by trip id, earliest window first."""
    rows = (
        with_request_totals(
            DeliveryRequest.objects.filter(
                offers__trip_id__in=trip_ids,
                offers__state=OfferState.SELECTED,
                state__in=[RequestState.ASSIGNED, RequestState.PICKED_UP],
            )
        )
        .annotate(held_by=Max("offers__trip_id"))
        .order_by("window_end", "id")
    )
    carried: dict[int, list[HeldRequest]] = defaultdict(list)
    for row in rows:
        carried[row.held_by].append(HeldRequest(request=row, totals=totals_of(row)))
    return carried


@dataclass(frozen=True)
class TripSnapshot:
    """What the routing core needs of a trip, read as plain values (no ORM objects or geometry
    parsing on the hot path)."""

    id: int
    driver_id: int
    store_lat: float
    store_lng: float
    home_lat: float
    home_lng: float
    departure_earliest: datetime
    departure_latest: datetime
    capacity_kg: float
    capacity_l: float
    max_length_cm: int
    max_detour_s: int
    request_count: int


_SNAPSHOT_FIELDS = (
    "pk",
    "driver_id",
    "store_lat",
    "store_lng",
    "home_lat",
    "home_lng",
    "departure_earliest",
    "departure_latest",
    "capacity_kg",
    "capacity_l",
    "max_length_cm",
    "max_detour_s",
    "request_count",
)


class _Coordinate(Func):
    output_field = FloatField()

    def __init__(self, function: str, field: str) -> None:
        super().__init__(
            F(field), function=function, template="%(function)s(%(expressions)s::geometry)"
        )


def snapshots(trips: QuerySet[Trip], *, store: Store | None = None) -> list[TripSnapshot]:
    """Read trips as snapshots, in the queryset's order; ``store``: the store of every one of
    them, when known (its place is then not joined per trip)."""
    if store is not None:
        store_lat: Any = Value(store.location.y, output_field=FloatField())
        store_lng: Any = Value(store.location.x, output_field=FloatField())
    else:
        store_lat = _Coordinate("ST_Y", "store__location")
        store_lng = _Coordinate("ST_X", "store__location")
    rows = trips.annotate(
        store_lat=store_lat,
        store_lng=store_lng,
        home_lat=_Coordinate("ST_Y", "destination"),
        home_lng=_Coordinate("ST_X", "destination"),
    ).values_list(*_SNAPSHOT_FIELDS)
    return [TripSnapshot(*row) for row in rows]


def snapshot_of(trip: Trip) -> TripSnapshot:
    return TripSnapshot(
        id=trip.pk,
        driver_id=trip.driver_id,
        store_lat=trip.store.location.y,
        store_lng=trip.store.location.x,
        home_lat=trip.destination.y,
        home_lng=trip.destination.x,
        departure_earliest=trip.departure_earliest,
        departure_latest=trip.departure_latest,
        capacity_kg=float(trip.capacity_kg),
        capacity_l=float(trip.capacity_l),
        max_length_cm=trip.max_length_cm,
        max_detour_s=trip.max_detour_s,
        request_count=trip.request_count,
    )


def routing_trip(trip: TripSnapshot, carried: list[HeldRequest]) -> routing.Trip:
    """A trip with its current parcels. Weight and volume already on board are the parcels'."""
    now = epoch_s(timezone.now())
    return routing.Trip(
        id=str(trip.id),
        start=(trip.store_lat, trip.store_lng),
        end=(trip.home_lat, trip.home_lng),
        earliest_departure_s=max(now, epoch_s(trip.departure_earliest)),
        latest_departure_s=max(now, epoch_s(trip.departure_latest)),
        max_detour_s=float(trip.max_detour_s),
        capacity_weight_kg=float(trip.capacity_kg),
        capacity_volume_l=float(trip.capacity_l),
        max_longest_side_cm=float(trip.max_length_cm),
        parcels=tuple(trip_parcel(held.request, held.totals) for held in carried),
    )


def _today_at(store: Store, moment: datetime, local_time: time) -> datetime:
    """The store's local ``local_time`` on the store's day of ``moment``."""
    tz = ZoneInfo(store.timezone)
    day = moment.astimezone(tz).date()
    return datetime.combine(day, local_time, tzinfo=tz)


Built = tuple[routing.Problem, list[DeliveryRequest], list[Trip], list[Van], set[int]]


def build_problem(*, store: Store, now: datetime, provider: routing.TravelTimeProvider) -> Built:
    """The store's evening as a routing problem. Vehicle ids: ``trip-<id>`` and ``van-<id>``;
    parcel ids: ``request-<id>``. Returns the problem, the open requests, the trips, the vans
    and the ids of the open requests past the van cut-off."""
    open_requests = list(
        DeliveryRequest.objects.filter(
            store=store, state=RequestState.OPEN, window_end__gt=now
        ).order_by("created_at", "id")
    )
    # A trip leaving after every open window has closed cannot carry any of them.
    last_window_end = max((r.window_end for r in open_requests), default=now)
    trips = list(
        Trip.objects.filter(
            store=store,
            state=Trip.State.ACTIVE,
            departure_latest__gte=now,
            departure_earliest__lt=last_window_end,
        )
        # Only approved drivers are offered anything; a trip that already carries parcels stays
        # in the plan whatever its driver's standing, so what it holds is planned around.
        .filter(Q(driver__driver_profile__status=DriverStatus.APPROVED) | Q(request_count__gt=0))
        .select_related("store")
        .order_by("id")
    )
    carried = carried_by_trip([trip.pk for trip in trips])
    vans = list(Van.objects.filter(store=store, active=True).order_by("id"))
    totals = requests_totals(request_ids=[r.pk for r in open_requests])
    cutoff = now - timedelta(seconds=settings.VAN_CUTOFF_S)
    for_vans = {
        r.pk
        for r in open_requests
        if r.created_at <= cutoff or r.window_end <= now + timedelta(seconds=settings.VAN_CUTOFF_S)
    }

    locations = [latlng(store.location)]
    parcels = []
    pinned = {}
    service_s = float(settings.DELIVERY_SERVICE_S)
    # Open requests first, then what each trip holds, pinned to it (trip id, else None).
    placed: list[tuple[DeliveryRequest, RequestTotals, int | None]] = [
        (r, totals[r.pk], None) for r in open_requests
    ]
    for trip in trips:
        placed += [(held.request, held.totals, trip.pk) for held in carried.get(trip.pk, [])]
    for request, request_totals, held_by in placed:
        locations.append(latlng(request.dropoff_point))
        parcels.append(
            routing.Parcel(
                id=f"request-{request.pk}",
                pickup=0,
                dropoff=len(locations) - 1,
                weight_kg=float(request_totals.weight_kg),
                volume_l=float(request_totals.volume_l),
                longest_side_cm=float(request_totals.longest_side_cm),
                pickup_earliest_s=epoch_s(now),
                delivery_earliest_s=epoch_s(request.window_start),
                delivery_latest_s=epoch_s(request.window_end),
                delivery_service_s=service_s,
                penalty=None if held_by is not None else float(settings.UNSERVED_PENALTY_M),
            )
        )
        if held_by is not None:
            pinned[f"request-{request.pk}"] = f"trip-{held_by}"
    vehicles = []
    for trip in trips:
        locations.append(latlng(trip.destination))
        vehicles.append(
            routing.Vehicle(
                id=f"trip-{trip.pk}",
                kind=routing.VehicleKind.DRIVER,
                start=0,
                end=len(locations) - 1,
                earliest_start_s=max(epoch_s(now), epoch_s(trip.departure_earliest)),
                latest_start_s=max(epoch_s(now), epoch_s(trip.departure_latest)),
                capacity_weight_kg=float(trip.capacity_kg),
                capacity_volume_l=float(trip.capacity_l),
                max_longest_side_cm=float(trip.max_length_cm),
                max_detour_s=float(trip.max_detour_s),
            )
        )
    for van in vans:
        shift_end = _today_at(store, now, van.shift_end)
        if shift_end <= now:
            continue
        vehicles.append(
            routing.Vehicle(
                id=f"van-{van.pk}",
                kind=routing.VehicleKind.VAN,
                start=0,
                end=0,
                earliest_start_s=max(epoch_s(now), epoch_s(_today_at(store, now, van.shift_start))),
                latest_end_s=epoch_s(shift_end),
                capacity_weight_kg=float(van.capacity_kg),
                capacity_volume_l=float(van.capacity_l),
                max_longest_side_cm=float(van.max_length_cm),
                cost_per_m=float(settings.VAN_COST_PER_M),
                fixed_cost=float(settings.VAN_FIXED_COST_M),
                allowed_parcels=frozenset(f"request-{pk}" for pk in for_vans),
            )
        )
    problem = routing.Problem(
        locations=np.asarray(locations, dtype=np.float64),
        vehicles=tuple(vehicles),
        parcels=tuple(parcels),
        travel=provider,
        pinned=pinned,
    )
    return problem, open_requests, trips, vans, for_vans
