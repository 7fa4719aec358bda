"""Reads for matching: which trips can take a request, which requests fit a trip, offers."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D
from django.db.models import (
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    QuerySet,
    Sum,
)
from django.utils import timezone

import routing
from backend.accounts.models import DriverProfile, DriverStatus, User
from backend.core import travel
from backend.core.export import export_rows
from backend.core.geo import SphereDistance, sphere_distance_m
from backend.deliveries.models import DeliveryRequest, Earning, RequestState
from backend.deliveries.selectors import (
    RequestTotals,
    RequestWithTotals,
    request_totals,
    requests_with_relations,
    totals_of,
    with_request_totals,
)
from backend.deliveries.visibility import audience_of, dropoff_area
from backend.matching.models import CommuteProfile, Offer, OfferState, Trip
from backend.matching.routing_adapter import (
    TripSnapshot,
    carried_by_trip,
    latlng,
    routing_trip,
    snapshot_of,
    snapshots,
    trip_parcel,
)


def driver_earned_this_year_eur(*, driver_id: int) -> Decimal:
    year_start = timezone.now().replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    total = (
        Earning.objects.filter(driver_id=driver_id, created_at__gte=year_start)
        .exclude(state=Earning.State.CANCELLED)
        .aggregate(total=Sum("amount_eur"))["total"]
    )
    return total or Decimal(0)


def driver_committed_this_year_eur(*, driver_id: int) -> Decimal:
    """What counts against the yearly cap: earned this year, plus the fees agreed for the
    deliveries the driver holds (assigned or picked up, booked as earned once delivered)."""
    held = DeliveryRequest.objects.filter(
        assigned_driver_id=driver_id,
        state__in=[RequestState.ASSIGNED, RequestState.PICKED_UP],
    ).aggregate(total=Sum("agreed_fee_eur"))["total"]
    return driver_earned_this_year_eur(driver_id=driver_id) + (held or Decimal(0))


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


def straight_detour_m(d_sd: Any, d_dh: Any, d_sh: Any) -> ExpressionWrapper:
    """Extra straight-line metres of going store → drop-off → home instead of store → home."""
    return ExpressionWrapper(d_sd + d_dh - d_sh, output_field=FloatField())


def opportunities_for_trip(*, trip: Trip) -> QuerySet[RequestWithTotals]:
    """Open requests at the trip's store that fit its capacity, departure and detour budget
    (the trip's reach, a bound valid for every travel model, so nothing feasible is lost),
    smallest straight detour first.
    Annotates the request totals (``with_request_totals``) and ``straight_m``.
    """
    now = timezone.now()
    remaining_kg = trip.capacity_kg - trip.load_kg
    remaining_l = trip.capacity_l - trip.load_l
    store_point = trip.store.location
    # Every stop is reached within the whole route's time, t(S,H) + budget; unknown t(S,H)
    # bounds nothing.
    reach_s = trip.direct_s + trip.max_detour_s if trip.direct_s is not None else MAX_TRIP_REACH_S
    declined = Offer.objects.filter(request=OuterRef("pk"), trip=trip, state=OfferState.DECLINED)
    open_here = (
        DeliveryRequest.objects.filter(
            store_id=trip.store_id,
            state=RequestState.OPEN,
            # The driver can reach the drop-off inside the window: not before leaving, and no
            # later than leaving last and driving the whole budget.
            window_end__gt=max(now, trip.departure_earliest),
            window_start__lte=trip.departure_latest + timedelta(seconds=reach_s),
            # The drop-off lies in the disc around the store that holds the whole ellipse.
            dropoff_point__dwithin=(store_point, D(m=trip.reach_m)),
        )
        .exclude(customer_id=trip.driver_id)
        .exclude(Exists(declined))
    )
    return (
        with_request_totals(open_here)
        .annotate(
            d_sd=Distance("dropoff_point", store_point),
            d_dh=Distance("dropoff_point", trip.destination),
        )
        .annotate(straight_m=straight_detour_m(F("d_sd"), F("d_dh"), float(trip.direct_m)))
        .filter(
            straight_m__lte=trip.reach_m - trip.direct_m,
            weight_kg__lte=remaining_kg,
            volume_l__lte=remaining_l,
            longest_side_cm__lte=trip.max_length_cm,
        )
        .select_related("store")
        .prefetch_related("parcels")
        .order_by("straight_m", "id")
    )


def request_for_viewer(*, request_id: int, user: User) -> tuple[DeliveryRequest, str]:
    """The request and who is looking at it (``deliveries.visibility.audience_of``): its
    customer, its driver, its store's people, or a driver who holds a live offer for it while it
    is open. Raises DoesNotExist for anyone with no business seeing it (so its existence is not
    revealed)."""
    live_offer = Offer.objects.filter(
        request=OuterRef("pk"),
        trip__driver=user,
        state__in=[OfferState.PENDING, OfferState.RESPONDED],
    )
    request = requests_with_relations().annotate(offered=Exists(live_offer)).get(pk=request_id)
    return request, audience_of(request=request, user=user, offered=request.offered)


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


def trip_candidates_for_request(*, request: DeliveryRequest) -> QuerySet[Trip]:
    """Active trips from the request's store that could take it: the drop-off lies in the
    trip's reach (a spatial index lookup), departure fits the window, room is left, the driver
    is not the customer, not at the earnings cap and has no offer yet for this request, and
    d(S,D) + d(D,H) ≤ the trip's reach in straight-line metres (``geometry.trip_reaches``: a
    bound valid for road and straight-line times alike), so no feasible trip is lost. Smallest
    straight-line detour first; annotates ``straight_m``."""
    now = timezone.now()
    store = request.store
    totals = request_totals(request_id=request.pk)
    d_sd = sphere_distance_m(request.dropoff_point, store.location)
    # Set-valued subqueries (hashed once by the planner), not a join or lookup per trip: where
    # roads make the reach wide, thousands of trips pass the spatial index.
    offered = Offer.objects.filter(request=request).values("trip_id")
    approved = DriverProfile.objects.filter(status=DriverStatus.APPROVED).values("user_id")
    return (
        Trip.objects.filter(
            reach_area__intersects=request.dropoff_point,
            store_id=store.pk,
            state=Trip.State.ACTIVE,
            departure_latest__gte=now,
            departure_earliest__lt=request.window_end,
            max_length_cm__gte=totals.longest_side_cm,
            # Only approved drivers are offered anything.
            driver_id__in=approved,
        )
        .exclude(driver_id=request.customer_id)
        .exclude(driver_id__in=drivers_at_cap_subquery())
        .exclude(pk__in=offered)
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
            room_kg__gte=totals.weight_kg,
            room_l__gte=totals.volume_l,
            straight_m__lte=F("reach_m") - F("direct_m"),
        )
        .select_related("store")
        .order_by("straight_m", "id")
    )


# How many prefiltered candidates go to the exact insertion.
MAX_CANDIDATES = 500
# A stop of a trip whose travel time home is not known may be reached this late at most (the
# longest departure window and drive allowed).
MAX_TRIP_REACH_S = 6 * 3600


# --- what drivers who are not assigned are shown -------------------------------------------------

# The steps shown detours are rounded to: the nearest minute, the nearest 500 m.
SHOWN_DETOUR_STEP_S = 60
SHOWN_DETOUR_STEP_M = 500


@dataclass(frozen=True)
class ShownDetour:
    """What a request adds to a trip, as a driver who is not assigned to it is told (offers, the
    feed, the ``offer.new`` push, the fee): computed to the request's drop-off area
    (``deliveries.visibility.dropoff_area``), never to the exact drop-off, then rounded to
    ``SHOWN_DETOUR_STEP_S`` seconds and ``SHOWN_DETOUR_STEP_M`` metres. It depends only on the
    area, the request's window and parcels and the driver's own trip, so every drop-off in the
    area is shown alike however many trips with chosen destinations a driver declares. The exact
    detour stays internal: whether a request fits, ranking, the batch, analytics."""

    detour_s: int
    detour_m: int


def _rounded(value: float, step: int) -> int:
    return step * math.floor(max(0.0, value) / step + 0.5)


def _insertions_by_trip(
    trips: Sequence[routing.Trip],
    parcel: routing.TripParcel,
    provider: routing.TravelTimeProvider,
) -> dict[int, routing.Insertion]:
    found = routing.best_insertions(list(trips), parcel, provider, k=len(trips))
    return {insertion.trip: insertion for insertion in found}


def _without_windows(trip: routing.Trip) -> routing.Trip:
    return replace(
        trip,
        latest_arrival_s=math.inf,
        parcels=tuple(
            replace(parcel, earliest_s=-math.inf, latest_s=math.inf) for parcel in trip.parcels
        ),
    )


def shown_detours(
    *,
    request: DeliveryRequest,
    totals: RequestTotals,
    trips: Sequence[routing.Trip],
    provider: routing.TravelTimeProvider,
) -> list[ShownDetour]:
    """For each of ``trips`` (with the parcels they already carry), the detour to show for
    ``request`` (see ``ShownDetour``): the cheapest insertion of its parcels at the drop-off
    area, the trip's budget and capacities left aside (the exact insertion has decided that the
    request fits), and the windows too where the area cannot be fitted within them."""
    if not trips:
        return []
    parcel = replace(
        trip_parcel(request, totals), dropoff=latlng(dropoff_area(request.dropoff_point))
    )
    relaxed = [
        replace(
            trip,
            max_detour_s=math.inf,
            capacity_weight_kg=math.inf,
            capacity_volume_l=math.inf,
            max_longest_side_cm=math.inf,
            max_parcels=None,
        )
        for trip in trips
    ]
    # The area's centre stands for every drop-off in it: snapped to its nearest road.
    provider = travel.lenient(provider)
    found = _insertions_by_trip(relaxed, parcel, provider)
    missing = [index for index in range(len(trips)) if index not in found]
    if missing:
        unwindowed = _insertions_by_trip(
            [_without_windows(relaxed[index]) for index in missing],
            replace(parcel, earliest_s=-math.inf, latest_s=math.inf),
            provider,
        )
        # Always fits now: no window, budget or capacity is left to break.
        found |= {missing[index]: insertion for index, insertion in unwindowed.items()}
    return [
        ShownDetour(
            detour_s=_rounded(found[index].added_detour_s, SHOWN_DETOUR_STEP_S),
            detour_m=_rounded(found[index].added_detour_m, SHOWN_DETOUR_STEP_M),
        )
        for index in range(len(trips))
    ]


# --- offering -----------------------------------------------------------------------------------


# With a road engine, at most this many candidates get exact road times: the others are
# ranked first on the engine's approximate cell-to-cell matrix (``routing.roads.CellTravel``).
EXACT_SHORTLIST = 100


def _shortlist(
    routes: routing.RouteSet, parcel: routing.TripParcel, provider: routing.TravelTimeProvider
) -> list[int] | None:
    """The indices of the ``EXACT_SHORTLIST`` trips where ``parcel`` adds the least detour on
    the approximate matrix, budgets and windows aside (they are checked exactly after); None
    when every trip gets exact times (few trips, or no approximate matrix)."""
    cells = getattr(provider, "cells", None)
    if cells is None or len(routes.trip_ids) <= EXACT_SHORTLIST:
        return None
    found = routing.best_insertions(
        routes.without_windows_or_budgets(),
        replace(parcel, earliest_s=-math.inf, latest_s=math.inf),
        cells,
        k=EXACT_SHORTLIST,
    )
    return [insertion.trip for insertion in found]


@dataclass(frozen=True)
class RankedInsertion:
    """A trip and the cheapest insertion of a request into its current route (the detour it
    adds, in seconds and metres, is the insertion's), with the detour its driver is shown and
    the travel model that measured both (``core.travel``: a road engine, or ``haversine``)."""

    trip: TripSnapshot
    insertion: routing.Insertion
    shown: ShownDetour
    engine: str


def rank_insertions(
    *, request: DeliveryRequest, trips: list[TripSnapshot], k: int
) -> list[RankedInsertion]:
    """The k trips where the request adds the least detour to the current route, with that
    insertion, least detour first; trips where it does not fit (windows, capacity, budget) are
    left out. On road times, or the straight-line estimate when the engine cannot answer."""
    if not trips or k <= 0:
        return []
    carried = carried_by_trip([trip.id for trip in trips if trip.request_count > 0])
    routing_trips = [routing_trip(trip, carried.get(trip.id, [])) for trip in trips]
    totals = request_totals(request_id=request.pk)
    routes = routing.RouteSet.from_trips(routing_trips)
    parcel = trip_parcel(request, totals)

    def ranked(
        provider: routing.TravelTimeProvider,
    ) -> tuple[list[routing.Insertion], list[ShownDetour]]:
        shortlist = _shortlist(routes, parcel, provider)
        if shortlist is None:
            insertions = routing.best_insertions(routes, parcel, provider, k=k)
        else:
            exact = routing.best_insertions(routes.subset(shortlist), parcel, provider, k=k)
            insertions = [replace(found, trip=shortlist[found.trip]) for found in exact]
        shown = shown_detours(
            request=request,
            totals=totals,
            trips=[routing_trips[insertion.trip] for insertion in insertions],
            provider=provider,
        )
        return insertions, shown

    found = travel.on_roads(ranked)
    insertions, shown = found.value
    return [
        RankedInsertion(
            trip=trips[insertion.trip], insertion=insertion, shown=detour, engine=found.engine
        )
        for insertion, detour in zip(insertions, shown, strict=True)
    ]


def candidates_for_request(*, request: DeliveryRequest) -> list[TripSnapshot]:
    """The prefiltered trips (see ``trip_candidates_for_request``), at most MAX_CANDIDATES."""
    return snapshots(
        trip_candidates_for_request(request=request)[:MAX_CANDIDATES], store=request.store
    )


@dataclass(frozen=True)
class Opportunity:
    """An open request a trip can take and what it adds to the trip's current route (exact
    insertion, never negative): ``detour_s`` seconds and ``detour_m`` metres, and ``shown``,
    what the driver is told, measured by ``engine`` (a road engine, or ``haversine``). The
    request row comes with its store and parcels."""

    request: DeliveryRequest
    detour_s: float
    detour_m: float
    shown: ShownDetour
    engine: str


def trip_feed(*, trip: Trip, limit: int = 50) -> list[Opportunity]:
    """Open requests this trip can take, smallest exact added detour first (the order matching
    offers them in; drivers see them in ``trip_feed_for_driver``'s)."""
    prefiltered = list(opportunities_for_trip(trip=trip)[:MAX_CANDIDATES])
    if not prefiltered:
        return []
    carried = carried_by_trip([trip.pk]) if trip.request_count else {}
    route = routing_trip(snapshot_of(trip), carried.get(trip.pk, []))
    routes = routing.RouteSet.from_trips([route])

    def fits(
        provider: routing.TravelTimeProvider,
    ) -> list[tuple[DeliveryRequest, routing.Insertion, ShownDetour]]:
        # Every stop of the route to and from every drop-off, in two road tables: the
        # insertions below then find their legs in the engine's memory.
        stops = routes.points.reshape(-1, 2)
        dropoffs = np.asarray([latlng(request.dropoff_point) for request in prefiltered])
        provider.between(stops, dropoffs)
        provider.between(dropoffs, stops)
        found = []
        for request in prefiltered:
            parcel = trip_parcel(request, totals_of(request))
            best = routing.best_insertions(routes, parcel, provider, k=1)
            if best:
                found.append((request, best[0]))
        found.sort(key=lambda fit: (max(0.0, fit[1].added_detour_s), fit[0].pk))
        return [
            (
                request,
                insertion,
                shown_detours(
                    request=request, totals=totals_of(request), trips=[route], provider=provider
                )[0],
            )
            for request, insertion in found[:limit]
        ]

    measured = travel.on_roads(fits)
    return [
        Opportunity(
            request=request,
            detour_s=max(0.0, insertion.added_detour_s),
            detour_m=max(0.0, insertion.added_detour_m),
            shown=shown,
            engine=measured.engine,
        )
        for request, insertion, shown in measured.value
    ]


def trip_feed_for_driver(*, trip: Trip, limit: int = 50) -> list[Opportunity]:
    """The "on my way" feed as its driver sees it: smallest shown detour first. Not the exact
    order, which would rank requests by their exact drop-offs (against a request of the driver's
    own, at a known place, it would tell on which side of it each one lies)."""
    feed = trip_feed(trip=trip, limit=MAX_CANDIDATES)
    feed.sort(key=lambda one: (one.shown.detour_s, one.shown.detour_m, one.request.pk))
    return feed[:limit]


def trips_export_for_user(*, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """The person's trips, the offers they were made and their commute profiles, for their own
    data export."""
    return {
        "commute_profiles": export_rows(
            CommuteProfile.objects.filter(driver_id=user_id).order_by("pk"),
            [
                "id",
                "store_id",
                "weekdays",
                "shift_end",
                "departure_flex_min",
                "home",
                "max_detour_s",
                "active",
                "created_at",
            ],
        ),
        "trips": export_rows(
            Trip.objects.filter(driver_id=user_id),
            [
                "id",
                "store_id",
                "departure_earliest",
                "departure_latest",
                "destination",
                "state",
                "created_at",
            ],
        ),
        "offers": export_rows(
            Offer.objects.filter(trip__driver_id=user_id),
            [
                "id",
                "request_id",
                "trip_id",
                # What the driver was shown, not the exact detour (which locates the drop-off).
                "shown_detour_s",
                "shown_detour_m",
                "fee_eur",
                "state",
                "created_at",
                "responded_at",
            ],
        ),
    }
