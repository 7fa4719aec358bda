"""Between the database and the routing core: ORM rows in, plain dataclasses out.

Times given to the routing core are epoch seconds; points are (lat, lng) degrees.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F, FloatField, Func, Max, QuerySet, Sum
from django.utils import timezone

import routing
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import OfferState, Trip


def travel_provider() -> routing.TravelTimeProvider:
    """The travel times matching uses (settings: ROUTING_SPEED_KMH, ROUTING_CIRCUITY)."""
    return routing.HaversineTravel(
        speed_kmh=float(settings.ROUTING_SPEED_KMH), circuity=float(settings.ROUTING_CIRCUITY)
    )


def epoch_s(moment: datetime) -> float:
    return moment.timestamp()


def prefilter_budget_m(max_detour_s: float) -> float:
    """A detour budget in seconds as straight-line metres, never smaller than the truth."""
    return max_detour_s * float(settings.MATCHING_PREFILTER_SPEED_KMH) / 3.6


def latlng(point: object) -> tuple[float, float]:
    return (point.y, point.x)  # type: ignore[attr-defined]


def requests_with_totals(request_ids: Iterable[int]) -> dict[int, DeliveryRequest]:
    rows = DeliveryRequest.objects.filter(pk__in=list(request_ids)).annotate(
        weight_kg=Sum("parcels__weight_kg"),
        volume_l=Sum("parcels__volume_l"),
        longest_cm=Max("parcels__longest_side_cm"),
    )
    return {row.pk: row for row in rows}


def trip_parcel(request: DeliveryRequest) -> routing.TripParcel:
    """A request (annotated with its totals) as a drop-off for the routing core."""
    return routing.TripParcel(
        dropoff=latlng(request.dropoff_point),
        earliest_s=epoch_s(request.window_start),
        latest_s=epoch_s(request.window_end),
        service_s=float(settings.DELIVERY_SERVICE_S),
        weight_kg=float(request.weight_kg or Decimal(0)),  # type: ignore[attr-defined]
        volume_l=float(request.volume_l or Decimal(0)),  # type: ignore[attr-defined]
        longest_side_cm=float(request.longest_cm or 0),  # type: ignore[attr-defined]
    )


def carried_by_trip(trip_ids: list[int]) -> dict[int, list[DeliveryRequest]]:
    """The requests each trip already holds (assigned or on board), earliest window first."""
    rows = (
        DeliveryRequest.objects.filter(
            offers__trip_id__in=trip_ids,
            offers__state=OfferState.SELECTED,
            state__in=[RequestState.ASSIGNED, RequestState.PICKED_UP],
        )
        .annotate(
            weight_kg=Sum("parcels__weight_kg"),
            volume_l=Sum("parcels__volume_l"),
            longest_cm=Max("parcels__longest_side_cm"),
            held_by=Max("offers__trip_id"),
        )
        .order_by("window_end", "id")
    )
    carried: dict[int, list[DeliveryRequest]] = defaultdict(list)
    for row in rows:
        carried[row.held_by].append(row)
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


def snapshots(trips: QuerySet[Trip]) -> list[TripSnapshot]:
    """Read trips as snapshots, in the queryset's order."""
    rows = trips.annotate(
        store_lat=_Coordinate("ST_Y", "store__location"),
        store_lng=_Coordinate("ST_X", "store__location"),
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


def routing_trip(trip: TripSnapshot, carried: list[DeliveryRequest]) -> routing.Trip:
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
        parcels=tuple(trip_parcel(request) for request in carried),
    )
