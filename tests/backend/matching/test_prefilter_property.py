"""The spatial prefilter never drops a trip that the exact insertion accepts: on the
straight-line model, and on real roads (OSRM on the bundled Monaco extract, with its hills, its
tunnels and the motorway, where straight lines are most wrong)."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routing
from backend.core import travel
from backend.deliveries.models import DeliveryRequest
from backend.deliveries.selectors import request_totals
from backend.matching.models import Trip
from backend.matching.routing_adapter import (
    carried_by_trip,
    routing_trip,
    snapshot_of,
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


# A store in each region, and how far from it homes and drop-offs are drawn (km).
REGIONS = {
    "haversine": {"store": (45.7300, 4.8800), "homes_km": (3, 25), "dropoffs_km": (0.5, 25)},
    # Fontvieille, Monaco: homes and drop-offs across the extract, up the hill to La Turbie.
    "osrm": {"store": (43.7285, 7.4165), "homes_km": (1, 6), "dropoffs_km": (0.3, 6)},
}


@pytest.fixture(params=sorted(REGIONS))
def region(request, settings):  # type: ignore[no-untyped-def]
    if request.param == "osrm":
        request.getfixturevalue("on_roads")
    return REGIONS[request.param]


def _routable(rng: np.random.Generator, lat: float, lng: float, km: tuple[float, float]):  # type: ignore[no-untyped-def]
    """A point in the ring around (lat, lng) that the travel model can route to from there."""
    while True:
        point = _around(rng, lat, lng, *km)
        if not travel.unroutable([(lat, lng), (point.y, point.x)]):
            return point


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_trip_the_exact_insertion_accepts_passes_the_prefilter(region, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    now = timezone.now()
    lat, lng = region["store"]
    with transaction.atomic():
        store = factories.StoreFactory(location=factories.point(lat, lng), service_radius_m=30_000)
        for _ in range(40):
            earliest = now + timedelta(minutes=float(rng.uniform(-30, 90)))
            factories.TripFactory(
                store=store,
                # The factory computes the trip's reach as the service does.
                destination=_routable(rng, lat, lng, region["homes_km"]),
                departure_earliest=earliest,
                # Trips whose departure window is over are not active any more.
                departure_latest=max(earliest, now + timedelta(minutes=1))
                + timedelta(minutes=float(rng.uniform(0, 60))),
                max_detour_s=int(rng.uniform(0, 1800)),
                capacity_kg=Decimal(int(rng.integers(10, 300))),
            )
        for trip in Trip.objects.filter(store=store):
            from backend.matching.selectors import sphere_distance_m

            trip.direct_m = int(np.ceil(sphere_distance_m(store.location, trip.destination)))
            trip.save(update_fields=["direct_m"])
        trips = list(Trip.objects.filter(store=store).select_related("store"))
        carried = carried_by_trip([t.pk for t in trips])
        routes = routing.RouteSet.from_trips(
            [routing_trip(snapshot_of(t), carried.get(t.pk, [])) for t in trips]
        )
        accepted_any = 0
        for _ in range(15):
            start = now + timedelta(minutes=float(rng.uniform(0, 120)))
            request = factories.DeliveryRequestFactory(
                store=store,
                dropoff_point=_routable(rng, lat, lng, region["dropoffs_km"]),
                window_start=start,
                window_end=start + timedelta(minutes=float(rng.uniform(30, 180))),
            )
            request = DeliveryRequest.objects.select_related("store").get(pk=request.pk)
            parcel = trip_parcel(request, request_totals(request_id=request.pk))
            measured = travel.on_roads(
                lambda provider, parcel=parcel: routing.best_insertions(
                    routes, parcel, provider, k=len(trips)
                )
            )
            assert measured.engine == ("osrm" if region is REGIONS["osrm"] else "haversine")
            accepted = {int(insertion.trip_id) for insertion in measured.value}
            accepted_any += len(accepted)
            survivors = set(
                trip_candidates_for_request(request=request).values_list("pk", flat=True)
            )
            assert accepted <= survivors, f"prefilter dropped {accepted - survivors}"
        transaction.set_rollback(True)
