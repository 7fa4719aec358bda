"""Reads for matching: which trips can take a request, which requests fit a trip, offers."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D
from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    OuterRef,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

import routing
from backend.deliveries.models import DeliveryRequest, Earning, RequestState
from backend.matching.models import Offer, OfferState, Trip
from backend.matching.routing_adapter import (
    TripSnapshot,
    carried_by_trip,
    requests_with_totals,
    routing_trip,
    snapshot_of,
    snapshots,
    travel_provider,
    trip_parcel,
)


def speed_m_per_s() -> float:
    return float(settings.ROUTING_SPEED_KMH) / 3.6


def request_totals(*, request_id: int) -> dict[str, Decimal | int]:
    """Total weight (kg) and volume (l), longest side (cm) and parcel count of a request."""
    totals = DeliveryRequest.objects.filter(pk=request_id).aggregate(
        weight_kg=Coalesce(Sum("parcels__weight_kg"), Decimal(0)),
        volume_l=Coalesce(Sum("parcels__volume_l"), Decimal(0)),
        longest_cm=Coalesce(Max("parcels__longest_side_cm"), 0),
        count=Count("parcels"),
    )
    return totals


def driver_earned_this_year_eur(*, driver_id: int) -> Decimal:
    year_start = timezone.now().replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    total = (
        Earning.objects.filter(driver_id=driver_id, created_at__gte=year_start)
        .exclude(state=Earning.State.CANCELLED)
        .aggregate(total=Sum("amount_eur"))["total"]
    )
    return total or Decimal(0)


def drivers_at_cap_subquery() -> QuerySet[Any, Any]:
    """Drivers whose earnings this year reached the cap, as a subquery on ``driver_id``."""
    year_start = timezone.now().replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        Earning.objects.filter(created_at__gte=year_start)
        .exclude(state=Earning.State.CANCELLED)
        .values("driver_id")
        .annotate(total=Sum("amount_eur"))
        .filter(total__gte=settings.EARNINGS_YEARLY_CAP_EUR)
        .values("driver_id")
    )


class SphereDistance(Func):
    """ST_Distance on the sphere (``use_spheroid => false``), in metres: the same sphere as the
    routing core's haversine, so the prefilter and the exact insertion agree."""

    function = "ST_Distance"
    output_field = FloatField()

    def __init__(self, field: str, point: Any) -> None:
        super().__init__(
            F(field), Value(point, output_field=PointField(srid=4326, geography=True)), Value(False)
        )


def straight_detour_m(d_sd: Any, d_dh: Any, d_sh: Any) -> ExpressionWrapper:
    """Extra straight-line metres of going store → drop-off → home instead of store → home."""
    return ExpressionWrapper(d_sd + d_dh - d_sh, output_field=FloatField())


def opportunities_for_trip(*, trip: Trip) -> QuerySet[DeliveryRequest]:
    """Open requests at the trip's store that fit its capacity, departure and detour budget
    (straight-line lower bound, so nothing feasible is lost), smallest straight detour first.
    Annotates the request totals ``weight_kg``, ``volume_l``, ``longest_cm`` and ``straight_m``.
    """
    now = timezone.now()
    remaining_kg = trip.capacity_kg - trip.load_kg
    remaining_l = trip.capacity_l - trip.load_l
    budget_m = trip.max_detour_s * speed_m_per_s()
    store_point = trip.store.location
    circuity = float(settings.ROUTING_CIRCUITY)
    reach_s = (trip.direct_m + budget_m) * circuity / speed_m_per_s()
    declined = Offer.objects.filter(request=OuterRef("pk"), trip=trip, state=OfferState.DECLINED)
    return (
        DeliveryRequest.objects.filter(
            store_id=trip.store_id,
            state=RequestState.OPEN,
            # The driver can reach the drop-off inside the window: not before leaving, and no
            # later than leaving last and driving the whole budget.
            window_end__gt=max(now, trip.departure_earliest),
            window_start__lte=trip.departure_latest + timedelta(seconds=reach_s),
            # The drop-off lies in the disc around the store that holds the whole ellipse.
            dropoff_point__dwithin=(store_point, D(m=trip.direct_m + budget_m)),
        )
        .exclude(customer_id=trip.driver_id)
        .exclude(Exists(declined))
        .annotate(
            weight_kg=Coalesce(Sum("parcels__weight_kg"), Decimal(0)),
            volume_l=Coalesce(Sum("parcels__volume_l"), Decimal(0)),
            longest_cm=Coalesce(Max("parcels__longest_side_cm"), 0),
            d_sd=Distance("dropoff_point", store_point),
            d_dh=Distance("dropoff_point", trip.destination),
        )
        .annotate(straight_m=straight_detour_m(F("d_sd"), F("d_dh"), float(trip.direct_m)))
        .filter(
            straight_m__lte=budget_m,
            weight_kg__lte=remaining_kg,
            volume_l__lte=remaining_l,
            longest_cm__lte=trip.max_length_cm,
        )
        .select_related("store")
        .prefetch_related("parcels")
        .order_by("straight_m", "id")
    )


def trips_for_driver(*, driver_id: int) -> QuerySet[Trip]:
    return Trip.objects.filter(driver_id=driver_id).select_related("store")


def offers_for_driver(*, driver_id: int) -> QuerySet[Offer]:
    return (
        Offer.objects.filter(trip__driver_id=driver_id)
        .select_related("request__store", "trip")
        .prefetch_related("request__parcels")
    )


def responders_for_request(*, request_id: int) -> QuerySet[Offer]:
    """Offers whose driver responded and may still be chosen."""
    return (
        Offer.objects.filter(request_id=request_id, state=OfferState.RESPONDED)
        .select_related("trip__driver__driver_profile")
        .order_by("responded_at", "id")
    )


def selected_offer_fee_eur(*, request_id: int) -> Decimal:
    offer = Offer.objects.filter(request_id=request_id, state=OfferState.SELECTED).first()
    if offer is None:
        return DeliveryRequest.objects.values_list("fee_eur", flat=True).get(pk=request_id)
    return offer.fee_eur


def trip_candidates_for_request(*, request: DeliveryRequest) -> QuerySet[Trip]:
    """Active trips from the request's store that could take it: the drop-off lies in the
    trip's reach (a spatial index lookup), departure fits the window, room is left, the driver
    is not the customer, not at the earnings cap and has no offer yet for this request, and
    d(S,D) + d(D,H) ≤ d(S,H) + budget in straight-line metres — a lower bound of the real
    detour, so no feasible trip is lost. Smallest straight-line detour first; annotates
    ``straight_m``."""
    from backend.matching.routing_adapter import prefilter_budget_m

    now = timezone.now()
    store = request.store
    totals = request_totals(request_id=request.pk)
    d_sd = sphere_distance_m(request.dropoff_point, store.location)
    existing = Offer.objects.filter(request=request, trip=OuterRef("pk"))
    return (
        Trip.objects.filter(
            reach_area__intersects=request.dropoff_point,
            store_id=store.pk,
            state=Trip.State.ACTIVE,
            departure_latest__gte=now,
            departure_earliest__lt=request.window_end,
            max_length_cm__gte=totals["longest_cm"],
        )
        .exclude(driver_id=request.customer_id)
        .exclude(driver_id__in=drivers_at_cap_subquery())
        .exclude(Exists(existing))
        .annotate(
            room_kg=F("capacity_kg") - F("load_kg"),
            room_l=F("capacity_l") - F("load_l"),
            straight_m=straight_detour_m(
                d_sd,
                SphereDistance("destination", request.dropoff_point),
                F("direct_m"),
            ),
        )
        .filter(
            room_kg__gte=totals["weight_kg"],
            room_l__gte=totals["volume_l"],
            straight_m__lte=F("max_detour_s") * prefilter_budget_m(1),
        )
        .select_related("store")
        .order_by("straight_m", "id")
    )


def sphere_distance_m(a: Any, b: Any) -> float:
    """Great-circle metres between two points, as the database computes it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(%s::geography, %s::geography, false)", [a.ewkt, b.ewkt])
        (distance,) = cursor.fetchone()
    return float(distance)


# How many prefiltered candidates go to the exact insertion.
MAX_CANDIDATES = 500


def rank_insertions(
    *, request: DeliveryRequest, trips: list[TripSnapshot], k: int
) -> list[tuple[TripSnapshot, routing.Insertion]]:
    """The k trips where the request adds the least detour to the current route, with that
    insertion; trips where it does not fit (windows, capacity, budget) are left out."""
    if not trips or k <= 0:
        return []
    carried = carried_by_trip([trip.id for trip in trips if trip.request_count > 0])
    routes = routing.RouteSet.from_trips(
        [routing_trip(trip, carried.get(trip.id, [])) for trip in trips]
    )
    parcel = trip_parcel(requests_with_totals([request.pk])[request.pk])
    insertions = routing.best_insertions(routes, parcel, travel_provider(), k=k)
    return [(trips[insertion.trip], insertion) for insertion in insertions]


def candidates_for_request(*, request: DeliveryRequest) -> list[TripSnapshot]:
    """The prefiltered trips (see ``trip_candidates_for_request``), at most MAX_CANDIDATES."""
    return snapshots(trip_candidates_for_request(request=request)[:MAX_CANDIDATES])


def trip_feed(*, trip: Trip, limit: int = 50) -> list[DeliveryRequest]:
    """Open requests this trip can take, smallest added detour first, each with ``detour_s``
    and ``detour_m`` set to what it adds to the trip's current route (exact insertion)."""
    prefiltered = list(opportunities_for_trip(trip=trip)[:MAX_CANDIDATES])
    if not prefiltered:
        return []
    carried = carried_by_trip([trip.pk]) if trip.request_count else {}
    routes = routing.RouteSet.from_trips(
        [routing_trip(snapshot_of(trip), carried.get(trip.pk, []))]
    )
    travel = travel_provider()
    feed = []
    for request in prefiltered:
        found = routing.best_insertions(routes, trip_parcel(request), travel, k=1)
        if found:
            request.detour_s = max(0.0, found[0].added_detour_s)  # type: ignore[attr-defined]
            request.detour_m = max(0.0, found[0].added_detour_m)  # type: ignore[attr-defined]
            feed.append(request)
    feed.sort(key=lambda request: (request.detour_s, request.pk))  # type: ignore[attr-defined]
    return feed[:limit]
