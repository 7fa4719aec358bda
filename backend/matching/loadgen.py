"""Synthetic load for benchmarks: stores, drivers heading home and open delivery requests in a
region — the Lyon metropolitan area (homes 3–25 km away, straight-line travel) or the Monaco
region of the bundled road extract (homes 0.5–6 km away, every place drawn on the road network
the configured road engine routes on). Written in bulk; every row is marked by its e-mail domain
so it can be removed again."""

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone

import routing
from backend.accounts.models import DriverProfile, DriverStatus, User
from backend.core import travel
from backend.deliveries.models import DeliveryRequest, Parcel, new_code
from backend.matching.geometry import TripReach, trip_reaches
from backend.matching.models import Trip
from backend.stores.models import AssignmentMode, Store

LOAD_DOMAIN = "load.example.invalid"
KM_PER_DEG_LAT = 111.195


@dataclass(frozen=True)
class Region:
    """Where a load is drawn: stores within ``stores_km`` of ``centre``, homes and drop-offs at
    distances (km) from their store in the given ranges."""

    centre: tuple[float, float]
    stores_km: float
    homes_km: tuple[float, float]
    dropoffs_km: tuple[float, float]


REGIONS = {
    "lyon": Region((45.7578, 4.8320), 15, (3, 25), (0.5, 12)),  # Place Bellecour
    "monaco": Region((43.7385, 7.4246), 1.5, (0.5, 6), (0.3, 5)),  # Monte-Carlo
}


def _places(rng: np.random.Generator, store: Point, km: tuple[float, float], n: int) -> list[Point]:
    """n points around ``store``; with a road engine, only points it can route to from there."""
    found: list[Point] = []
    while len(found) < n:
        lats, lngs = _offset(rng, store.y, store.x, km[0], km[1], 2 * (n - len(found)))
        candidates = [(float(lat), float(lng)) for lat, lng in zip(lats, lngs, strict=True)]
        refused = set(travel.unroutable([(store.y, store.x), *candidates]))
        found += [
            Point(lng, lat, srid=4326)
            for index, (lat, lng) in enumerate(candidates, start=1)
            if index not in refused
        ]
    return found[:n]


@dataclass(frozen=True)
class LoadSummary:
    stores: int
    trips: int
    requests: int


def _offset(
    rng: np.random.Generator, lat: float, lng: float, low_km: float, high_km: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """n points at uniform bearings, at distances between low and high km (uniform in area)."""
    distance = np.sqrt(rng.uniform(low_km**2, high_km**2, n))
    bearing = rng.uniform(0, 2 * np.pi, n)
    lats = lat + distance * np.cos(bearing) / KM_PER_DEG_LAT
    lngs = lng + distance * np.sin(bearing) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lats, lngs


def load_clear() -> None:
    """Remove everything a previous load wrote."""
    users = User.objects.filter(email__endswith=f"@{LOAD_DOMAIN}")
    DeliveryRequest.objects.filter(customer__in=users).delete()
    Trip.objects.filter(driver__in=users).delete()
    Store.objects.filter(name__startswith="Load store ").delete()
    users.delete()


@transaction.atomic
def load_create(
    *,
    stores: int,
    trips: int,
    requests: int,
    seed: int,
    region: str = "lyon",
    batch_size: int = 5000,
) -> LoadSummary:
    """Write the synthetic load (see the module docstring). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    area = REGIONS[region]
    centre = Point(area.centre[1], area.centre[0], srid=4326)
    store_points = _places(rng, centre, (0, area.stores_km), stores)
    store_lats = [p.y for p in store_points]
    store_lngs = [p.x for p in store_points]
    store_rows = Store.objects.bulk_create(
        Store(
            name=f"Load store {seed}-{i}",
            address=f"Zone commerciale {i}, {region.title()}",
            location=Point(float(store_lngs[i]), float(store_lats[i]), srid=4326),
            service_radius_m=20_000,
            assignment_mode=AssignmentMode.FIRST_RESPONSE,
        )
        for i in range(stores)
    )
    password = make_password(None)
    drivers = User.objects.bulk_create(
        (
            User(
                email=f"driver-{seed}-{i}@{LOAD_DOMAIN}", full_name=f"Driver {i}", password=password
            )
            for i in range(trips)
        ),
        batch_size=batch_size,
    )
    DriverProfile.objects.bulk_create(
        (
            # A synthetic load of approved drivers, written in bulk rather than one decision
            # each through the onboarding services.
            DriverProfile(
                user=d,
                vehicle_type=DriverProfile.VehicleType.ESTATE,
                capacity_kg=Decimal(200),
                capacity_l=Decimal(1200),
                max_length_cm=180,
                status=DriverStatus.APPROVED,
            )
            for d in drivers
        ),
        batch_size=batch_size,
    )
    trip_store = rng.integers(0, stores, trips)
    detour_s = rng.integers(5, 21, trips) * 60
    leave_in_min = rng.uniform(0, 180, trips)
    homes: list[Point] = [centre] * trips
    reaches: dict[int, TripReach] = {}
    for index, store in enumerate(store_rows):
        mine = [i for i in range(trips) if trip_store[i] == index]
        for i, home in zip(
            mine, _places(rng, store.location, area.homes_km, len(mine)), strict=True
        ):
            homes[i] = home
        found = trip_reaches(
            store=store.location,
            homes=[homes[i] for i in mine],
            budgets_s=[float(detour_s[i]) for i in mine],
        )
        reaches |= dict(zip(mine, found, strict=True))
    trip_rows = []
    for i in range(trips):
        store = store_rows[trip_store[i]]
        earliest = now + timedelta(minutes=float(leave_in_min[i]))
        trip_rows.append(
            Trip(
                driver=drivers[i],
                store=store,
                service_date=earliest.date(),
                departure_earliest=earliest,
                departure_latest=earliest + timedelta(minutes=30),
                destination=homes[i],
                direct_m=math.ceil(_sphere_m(store.location, homes[i])),
                direct_s=reaches[i].direct_s,
                reach_m=reaches[i].reach_m,
                reach_area=reaches[i].area,
                capacity_kg=Decimal(200),
                capacity_l=Decimal(1200),
                max_length_cm=180,
                max_detour_s=int(detour_s[i]),
            )
        )
    Trip.objects.bulk_create(trip_rows, batch_size=batch_size)
    customers = User.objects.bulk_create(
        (
            User(
                email=f"customer-{seed}-{i}@{LOAD_DOMAIN}",
                full_name=f"Customer {i}",
                password=password,
            )
            for i in range(max(1, requests // 4))
        ),
        batch_size=batch_size,
    )
    request_store = rng.integers(0, stores, requests)
    start_in_min = rng.uniform(10, 180, requests)
    dropoffs: list[Point] = [centre] * requests
    for index, store in enumerate(store_rows):
        mine = [i for i in range(requests) if request_store[i] == index]
        for i, place in zip(
            mine, _places(rng, store.location, area.dropoffs_km, len(mine)), strict=True
        ):
            dropoffs[i] = place
    request_rows = []
    for i in range(requests):
        store = store_rows[request_store[i]]
        start = now + timedelta(minutes=float(start_in_min[i]))
        request_rows.append(
            DeliveryRequest(
                store=store,
                customer=customers[i % len(customers)],
                order_reference=f"LOAD-{i}",
                dropoff_address=f"{i} rue de la Charge, {region.title()}",
                dropoff_point=dropoffs[i],
                contact_phone="+33 4 00 00 00 00",
                window_start=start,
                window_end=start + timedelta(hours=2),
                fee_eur=Decimal("5.00"),
                pickup_code=new_code(),
                delivery_code=new_code(),
            )
        )
    DeliveryRequest.objects.bulk_create(request_rows, batch_size=batch_size)
    weights = rng.uniform(2, 40, requests)
    Parcel.objects.bulk_create(
        (
            Parcel(
                request=r,
                weight_kg=Decimal(f"{weights[i]:.1f}"),
                volume_l=Decimal(60),
                longest_side_cm=int(rng.integers(30, 170)),
            )
            for i, r in enumerate(request_rows)
        ),
        batch_size=batch_size,
    )
    with connection.cursor() as cursor:  # fresh statistics for the planner
        for table in ("matching_trip", "deliveries_deliveryrequest", "deliveries_parcel"):
            cursor.execute(f"ANALYZE {table}")
    return LoadSummary(stores=stores, trips=trips, requests=requests)


def _sphere_m(a: Point, b: Point) -> float:
    """Great-circle metres (the routing core's sphere, as PostGIS's ``use_spheroid=false``)."""
    straight = routing.HaversineTravel(circuity=1.0)
    return float(straight.paired(np.array([a.y, a.x]), np.array([b.y, b.x])).distance_m)
