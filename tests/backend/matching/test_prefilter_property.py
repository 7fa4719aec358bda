"""The spatial prefilter never drops a trip that the exact insertion accepts."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routing
from backend.deliveries.models import DeliveryRequest
from backend.deliveries.selectors import request_totals
from backend.matching.models import Trip
from backend.matching.routing_adapter import (
    carried_by_trip,
    routing_trip,
    snapshot_of,
    travel_provider,
    trip_parcel,
)
from backend.matching.selectors import trip_candidates_for_request
from tests import factories

KM_PER_DEG_LAT = 111.2


def _around(rng: np.random.Generator, lat: float, lng: float, low_km: float, high_km: float):  # type: ignore[no-untyped-def]
    distance = rng.uniform(low_km, high_km)
    bearing = rng.uniform(0, 2 * np.pi)
    dlat = distance * np.cos(bearing) / KM_PER_DEG_LAT
    dlng = distance * np.sin(bearing) / (KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    return factories.point(lat + dlat, lng + dlng)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_trip_the_exact_insertion_accepts_passes_the_prefilter(seed: int) -> None:
    rng = np.random.default_rng(seed)
    now = timezone.now()
    with transaction.atomic():
        store = factories.StoreFactory(service_radius_m=30_000)
        lat, lng = store.location.y, store.location.x
        for _ in range(40):
            earliest = now + timedelta(minutes=float(rng.uniform(-30, 90)))
            factories.TripFactory(
                store=store,
                destination=_around(rng, lat, lng, 3, 25),
                departure_earliest=earliest,
                # Trips whose departure window is over are not active any more.
                departure_latest=max(earliest, now + timedelta(minutes=1))
                + timedelta(minutes=float(rng.uniform(0, 60))),
                max_detour_s=int(rng.uniform(0, 1800)),
                capacity_kg=Decimal(int(rng.integers(10, 300))),
            )
        for trip in Trip.objects.filter(store=store):
            # Recompute what the service computes on creation (the factory fills defaults).
            from backend.matching.geometry import reach_ellipse
            from backend.matching.routing_adapter import prefilter_budget_m
            from backend.matching.selectors import sphere_distance_m

            trip.direct_m = int(np.ceil(sphere_distance_m(store.location, trip.destination)))
            trip.reach_area = reach_ellipse(
                store=store.location,
                home=trip.destination,
                budget_m=prefilter_budget_m(trip.max_detour_s),
            )
            trip.save(update_fields=["direct_m", "reach_area"])
        trips = list(Trip.objects.filter(store=store).select_related("store"))
        carried = carried_by_trip([t.pk for t in trips])
        routes = routing.RouteSet.from_trips(
            [routing_trip(snapshot_of(t), carried.get(t.pk, [])) for t in trips]
        )
        for _ in range(15):
            start = now + timedelta(minutes=float(rng.uniform(0, 120)))
            request = factories.DeliveryRequestFactory(
                store=store,
                dropoff_point=_around(rng, lat, lng, 0.5, 25),
                window_start=start,
                window_end=start + timedelta(minutes=float(rng.uniform(30, 180))),
            )
            request = DeliveryRequest.objects.select_related("store").get(pk=request.pk)
            exact = routing.best_insertions(
                routes,
                trip_parcel(request, request_totals(request_id=request.pk)),
                travel_provider(),
                k=len(trips),
            )
            accepted = {int(insertion.trip_id) for insertion in exact}
            survivors = set(
                trip_candidates_for_request(request=request).values_list("pk", flat=True)
            )
            assert accepted <= survivors, f"prefilter dropped {accepted - survivors}"
        transaction.set_rollback(True)
