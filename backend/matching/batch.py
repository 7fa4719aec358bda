"""The periodic re-optimisation of one store (a service: it writes).

Every few minutes: all open requests × all available trips (and the store's vans) go to the
routing core's solver, with the parcels trips already carry pinned to them. Where the solver
puts an open request on a trip that has no offer for it, that trip gets an offer; requests
unanswered for a while get a higher fee within the store's rule; what the crowd has not taken by
the cut-off is planned for the store's vans.
"""

import logging
import time as clock
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import routing
from backend.accounts.selectors import driver_is_approved
from backend.core import travel
from backend.deliveries.models import DeliveryRequest, RequestState
from backend.matching.models import Offer, Trip, Van, VanPlan, VanStop
from backend.matching.routing_adapter import Built, build_problem, snapshot_of
from backend.matching.selectors import rank_insertions
from backend.matching.services import offer_fee_eur, offer_notify, request_fee_step_up
from backend.stores.models import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchResult:
    store_id: int
    open_requests: int
    trips: int
    offers_created: int
    fees_raised: int
    van_stops: int
    served: int
    seconds: float


def fees_raise(*, store: Store, now: datetime) -> int:
    """Raise by one step the fee of requests nobody answered for FEE_RAISE_AFTER_S, within the
    store's maximum; their pending offers pay at least the new fee."""
    wait = timedelta(seconds=settings.FEE_RAISE_AFTER_S)
    raised = 0
    candidates = DeliveryRequest.objects.filter(
        store=store,
        state=RequestState.OPEN,
        first_response_at__isnull=True,
        created_at__lte=now - wait,
        fee_eur__lt=store.fee_max_eur,
    ).exclude(fee_raised_at__gt=now - wait)
    for request_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            request = (
                DeliveryRequest.objects.select_for_update(of=("self",))
                .select_related("store")
                .get(pk=request_id)
            )
            if request.state != RequestState.OPEN or request.first_response_at is not None:
                continue
            request_fee_step_up(request=request, now=now)
            raised += 1
    return raised


def store_reoptimise(*, store_id: int, time_limit_s: float | None = None) -> BatchResult:
    """Re-optimise one store (see the module's docstring). Safe to run twice: offers exist
    once per request and trip, and each run replaces the store's van plan."""
    started = clock.perf_counter()
    now = timezone.now()
    store = Store.objects.get(pk=store_id)
    raised = fees_raise(store=store, now=now)

    def on(provider: routing.TravelTimeProvider) -> Built:
        built = build_problem(store=store, now=now, provider=provider)
        built[0].matrices  # noqa: B018 - the travel times now, so an engine failure falls back here
        return built

    planned = travel.on_roads(on)
    problem, open_requests, trips, vans, for_vans = planned.value
    if not open_requests:  # nothing to place: no solve, and no van plan to keep
        VanPlan.objects.filter(store=store).delete()
        return BatchResult(store_id, 0, len(trips), 0, raised, 0, 0, clock.perf_counter() - started)
    solution = routing.solve(
        problem,
        time_limit_s=time_limit_s or settings.BATCH_TIME_LIMIT_S,
        seed=0,
        options=routing.SolverOptions(solution_limit=settings.BATCH_SOLUTION_LIMIT),
    )
    report = routing.check(problem, solution)
    if not report.feasible:  # never act on a plan the independent checker refuses
        logger.error(
            "batch plan refused by the checker",
            extra={"store_id": store_id, "violations": report.violations[:5]},
        )
        return BatchResult(
            store_id,
            len(open_requests),
            len(trips),
            0,
            raised,
            0,
            0,
            clock.perf_counter() - started,
        )
    trips_by_id = {f"trip-{trip.pk}": trip for trip in trips}
    vans_by_id = {f"van-{van.pk}": van for van in vans}
    open_ids = {r.pk for r in open_requests}
    created = 0
    plan_stops: list[tuple[Van, int, int, float]] = []
    for route, route_report in zip(solution.routes, report.routes, strict=True):
        vehicle = problem.vehicles[route.vehicle]
        dropoffs = [
            (int(problem.parcels[stop.parcel].id.removeprefix("request-")), begin)
            for stop, begin in zip(route.stops, route_report.stop_begin_s, strict=False)
            if stop.kind is routing.StopKind.DROPOFF
        ]
        if vehicle.id in vans_by_id:
            plan_stops += [
                (vans_by_id[vehicle.id], i, pk, begin)
                for i, (pk, begin) in enumerate(dropoffs, start=1)
            ]
            continue
        trip = trips_by_id[vehicle.id]
        for request_id, _ in dropoffs:
            if request_id not in open_ids:
                continue  # already held by this trip
            created += _offer_from_batch(request_id=request_id, trip=trip, now=now)
    van_stops = _van_plan_replace(
        store=store,
        now=now,
        travel_engine=planned.engine,
        stops=plan_stops,
        for_vans=for_vans,
        distance_m=sum(
            r.distance_m
            for r, v in zip(report.routes, solution.routes, strict=True)
            if problem.vehicles[v.vehicle].id in vans_by_id
        ),
    )
    return BatchResult(
        store_id,
        len(open_requests),
        len(trips),
        created,
        raised,
        van_stops,
        solution.served,
        clock.perf_counter() - started,
    )


def _offer_from_batch(*, request_id: int, trip: Trip, now: datetime) -> int:
    """Offer an open request to the trip the solver put it on, with the exact detour of adding
    it to the trip's live route (and the shown one, for its driver). Returns 1 if an offer was
    made."""
    with transaction.atomic():
        request = (
            DeliveryRequest.objects.select_for_update(of=("self",))
            .select_related("store")
            .filter(pk=request_id, state=RequestState.OPEN)
            .first()
        )
        if request is None or Offer.objects.filter(request=request, trip=trip).exists():
            return 0
        if not driver_is_approved(user_id=trip.driver_id):
            return 0
        ranked = rank_insertions(request=request, trips=[snapshot_of(trip)], k=1)
        if not ranked:
            return 0  # the solver's plan and the live route disagree: skip, next run decides
        insertion, shown = ranked[0].insertion, ranked[0].shown
        offer = Offer.objects.create(
            request=request,
            trip=trip,
            source=Offer.Source.BATCH,
            detour_s=max(0, round(insertion.added_detour_s)),
            detour_m=max(0, round(insertion.added_detour_m)),
            travel_engine=ranked[0].engine,
            shown_detour_s=shown.detour_s,
            shown_detour_m=shown.detour_m,
            fee_eur=offer_fee_eur(request=request, store=request.store, shown=shown),
            expires_at=now + timedelta(seconds=request.store.offer_lifetime_s),
        )
        offer_notify(offer, request, trip.driver_id)
        return 1


@transaction.atomic
def _van_plan_replace(
    *,
    store: Store,
    now: datetime,
    stops: list[tuple[Van, int, int, float]],
    for_vans: set[int],
    distance_m: float,
    travel_engine: str,
) -> int:
    VanPlan.objects.filter(store=store).delete()
    plan = VanPlan.objects.create(
        store=store,
        cutoff_at=now - timedelta(seconds=settings.VAN_CUTOFF_S),
        requests_planned=len(stops),
        distance_m=round(distance_m),
        travel_engine=travel_engine,
    )
    VanStop.objects.bulk_create(
        VanStop(
            plan=plan,
            van=van,
            sequence=sequence,
            request_id=request_id,
            eta=datetime.fromtimestamp(begin_s, tz=ZoneInfo("UTC")),
        )
        for van, sequence, request_id, begin_s in stops
        if request_id in for_vans
    )
    return len(stops)
