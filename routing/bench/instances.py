"""Benchmark instances as routing problems: parsers for the two literature formats and the
synthetic store evening generator.

- VRPOD (Archetti, Savelsbergh & Speranza 2016): regular vehicles are vans (closed routes from
  the depot, capacity, cost 1 per unit of distance, as many as needed); each occasional driver is
  a driver from the depot to its destination with ``max_parcels=1``, the listed customers as
  ``allowed_parcels``, ``cost_per_m=0`` and the published compensation per customer.
- Li & Lim PDPTW: the K vehicles are vans from the depot, each task a parcel with its own pickup
  and drop-off location, windows and service times; cost = distance.
- The synthetic store evening, around a point on the straight line or on a real map (an
  OpenStreetMap extract's commercial sites and residential streets).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from routing.model import Parcel, Problem, Vehicle, VehicleKind
from routing.places import Places, spread_sites
from routing.travel import EuclideanTravel, FloatArray, HaversineTravel, TravelTimeProvider


@dataclass(frozen=True)
class Instance:
    name: str
    problem: Problem
    reference: float | None = None


def parse_vrpod(path: Path, spare_vans: int = 2) -> Problem:
    """Read one VRPOD instance file (format in the fixtures README)."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    header: dict[str, str] = {}
    i = 0
    while not lines[i].startswith("VERTEX_ID"):
        if ":" in lines[i]:
            key, value = lines[i].split(":", 1)
            header[key.strip()] = value.strip()
        i += 1
    dimension = int(header["DIMENSION"])
    capacity = float(header["VEHICLE CAPACITY"])
    n_drivers = int(header["NUMBER OF OCCASIONAL DRIVERS"])
    i += 1
    coords: list[tuple[float, float]] = []
    demand: list[float] = []
    profit: list[float] = []
    for _ in range(dimension):
        fields = lines[i].split()
        coords.append((float(fields[1]), float(fields[2])))
        demand.append(float(fields[3]))
        profit.append(float(fields[4]) if len(fields) > 4 else math.nan)
        i += 1
    drivers: list[tuple[tuple[float, float], dict[int, float]]] = []
    while i < len(lines):
        if lines[i].startswith("OCCASIONAL DRIVER ") and "DATA" not in lines[i]:
            x = float(lines[i + 1].split(":")[1])
            y = float(lines[i + 2].split(":")[1])
            count = int(lines[i + 3].split(":")[1])
            i += 5
            offers: dict[int, float] = {}
            while len(offers) < count and i < len(lines):
                fields = lines[i].split()
                if fields and fields[0] == "Customer":
                    offers[int(fields[1])] = float(fields[3])
                else:
                    for field in fields:
                        offers[int(field)] = profit[int(field)]
                i += 1
            drivers.append(((x, y), offers))
        else:
            i += 1
    if len(drivers) != n_drivers:
        raise ValueError(f"{path.name}: expected {n_drivers} drivers, read {len(drivers)}")
    locations = np.array(coords + [d[0] for d in drivers], dtype=np.float64)
    parcels = tuple(
        Parcel(id=str(c), pickup=0, dropoff=c, weight_kg=demand[c]) for c in range(1, dimension)
    )
    n_vans = math.ceil(sum(demand) / capacity) + spare_vans
    vans = [
        Vehicle(id=f"van{k}", kind=VehicleKind.VAN, start=0, end=0, capacity_weight_kg=capacity)
        for k in range(n_vans)
    ]
    ods = [
        Vehicle(
            id=f"od{k + 1}",
            kind=VehicleKind.DRIVER,
            start=0,
            end=dimension + k,
            max_parcels=1,
            cost_per_m=0.0,
            allowed_parcels=frozenset(str(c) for c in offers),
            compensation=MappingProxyType({str(c): p for c, p in offers.items()}),
        )
        for k, (_, offers) in enumerate(drivers)
    ]
    return Problem(
        locations=locations,
        vehicles=tuple(vans + ods),
        parcels=parcels,
        travel=EuclideanTravel(),
    )


def parse_lilim(path: Path) -> Problem:
    """Read one Li & Lim PDPTW instance (format in the fixtures README)."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    n_vehicles, capacity = int(rows[0][0]), float(rows[0][1])
    nodes = [[float(x) for x in row] for row in rows[1:]]
    locations = np.array([[n[1], n[2]] for n in nodes], dtype=np.float64)
    depot = nodes[0]
    parcels: list[Parcel] = []
    for n in nodes[1:]:
        if n[3] > 0:
            d = nodes[int(n[8])]
            parcels.append(
                Parcel(
                    id=str(int(n[0])),
                    pickup=int(n[0]),
                    dropoff=int(d[0]),
                    weight_kg=n[3],
                    pickup_earliest_s=n[4],
                    pickup_latest_s=n[5],
                    pickup_service_s=n[6],
                    delivery_earliest_s=d[4],
                    delivery_latest_s=d[5],
                    delivery_service_s=d[6],
                )
            )
    vans = tuple(
        Vehicle(
            id=f"van{k}",
            kind=VehicleKind.VAN,
            start=0,
            end=0,
            earliest_start_s=depot[4],
            latest_start_s=depot[5],
            latest_end_s=depot[5],
            capacity_weight_kg=capacity,
        )
        for k in range(n_vehicles)
    )
    return Problem(
        locations=locations, vehicles=vans, parcels=tuple(parcels), travel=EuclideanTravel()
    )


STORE_LAT_LNG = (48.8566, 2.3522)
SYNTHETIC_SPEED_KMH = 30.0
UNSERVED_PENALTY_M = 1_000_000.0  # serving a parcel is worth more than any detour


def _offsets(rng: np.random.Generator, n: int, low_km: float, high_km: float) -> np.ndarray:
    distance_m = rng.uniform(low_km, high_km, n) * 1000.0
    bearing = rng.uniform(0.0, 2.0 * math.pi, n)
    lat0 = math.radians(STORE_LAT_LNG[0])
    dlat = distance_m * np.cos(bearing) / 111_195.0
    dlng = distance_m * np.sin(bearing) / (111_195.0 * math.cos(lat0))
    return np.column_stack([STORE_LAT_LNG[0] + dlat, STORE_LAT_LNG[1] + dlng])


def synthetic_store_evening(n_drivers: int, n_parcels: int, seed: int) -> Problem:
    """A store evening: times are seconds since midnight, distances metres (straight line at
    30 km/h). Drivers leave between 16:00 and 19:00 (30-minute departure window) with room for
    2–5 parcels and a 2–5 km detour budget (as seconds at 30 km/h); parcels have 2-hour delivery
    windows opening between 15:30 and 18:30 and 2 minutes of service."""
    rng = np.random.default_rng(seed)
    homes = _offsets(rng, n_drivers, 3.0, 12.0)
    customers = _offsets(rng, n_parcels, 0.5, 12.0)
    return _store_evening(
        rng,
        np.array(STORE_LAT_LNG),
        homes,
        customers,
        HaversineTravel(speed_kmh=SYNTHETIC_SPEED_KMH, circuity=1.0),
    )


MAP_HOME_MIN_KM = 2.0  # a driver's home at least this far from the store, straight line
MAP_CUSTOMER_MIN_KM = 0.3


def _houses_beyond(
    places: Places, store: FloatArray, n: int, min_km: float, rng: np.random.Generator
) -> FloatArray:
    """``n`` points on residential streets at least ``min_km`` from ``store`` (straight line)."""
    straight = HaversineTravel(speed_kmh=SYNTHETIC_SPEED_KMH, circuity=1.0)
    found: list[FloatArray] = []
    count = 0
    for _ in range(100):
        batch = places.house_points(max(2 * (n - count), 16), rng).points
        far = straight.paired(np.broadcast_to(store, batch.shape), batch).distance_m
        keep = batch[far >= 1000.0 * min_km][: n - count]
        found.append(keep)
        count += len(keep)
        if count == n:
            return np.vstack(found)
    raise ValueError(f"{places.extract}: too few residential points {min_km} km from the store")


def map_store_evening(places: Places, n_drivers: int, n_parcels: int, seed: int) -> Problem:
    """The synthetic store evening on a real map: the store at the extract's strongest
    commercial site (``routing.places``), drivers' homes (at least 2 km away) and customers (at
    least 300 m away) on its residential streets; drivers, parcels, windows and budgets drawn
    as in ``synthetic_store_evening`` (budgets 2–5 km at 30 km/h, as seconds). The problem's
    travel is the straight line at 30 km/h: give it road matrices with ``with_travel``.

    Raises:
        ValueError: if the extract has no commercial site or too few residential points.
    """
    if not places.sites:
        raise ValueError(f"{places.extract}: no commercial site for the store")
    rng = np.random.default_rng(seed)
    (site,) = spread_sites(places.sites, 1)
    store = np.array([site.lat, site.lng])
    homes = _houses_beyond(places, store, n_drivers, MAP_HOME_MIN_KM, rng)
    customers = _houses_beyond(places, store, n_parcels, MAP_CUSTOMER_MIN_KM, rng)
    return _store_evening(
        rng, store, homes, customers, HaversineTravel(speed_kmh=SYNTHETIC_SPEED_KMH, circuity=1.0)
    )


def with_travel(problem: Problem, travel: TravelTimeProvider) -> Problem:
    """The same evening (locations, drivers, parcels) on other travel times."""
    return dataclasses.replace(problem, travel=travel)


def _store_evening(
    rng: np.random.Generator,
    store: FloatArray,
    homes: FloatArray,
    customers: FloatArray,
    travel: TravelTimeProvider,
) -> Problem:
    n_drivers, n_parcels = len(homes), len(customers)
    locations = np.vstack([store[None, :], homes, customers])
    speed_m_s = SYNTHETIC_SPEED_KMH / 3.6
    departure = rng.uniform(16 * 3600, 19 * 3600, n_drivers)
    budget_m = rng.uniform(2000.0, 5000.0, n_drivers)
    vehicles = tuple(
        Vehicle(
            id=f"d{k}",
            kind=VehicleKind.DRIVER,
            start=0,
            end=1 + k,
            earliest_start_s=float(departure[k]),
            latest_start_s=float(departure[k] + 1800.0),
            capacity_weight_kg=float(rng.uniform(60.0, 200.0)),
            capacity_volume_l=float(rng.uniform(300.0, 900.0)),
            max_longest_side_cm=float(rng.uniform(120.0, 200.0)),
            max_parcels=int(rng.integers(2, 6)),
            max_detour_s=float(budget_m[k] / speed_m_s),
        )
        for k in range(n_drivers)
    )
    opens = rng.uniform(15.5 * 3600, 18.5 * 3600, n_parcels)
    parcels = tuple(
        Parcel(
            id=f"p{j}",
            pickup=0,
            dropoff=1 + n_drivers + j,
            weight_kg=float(rng.uniform(1.0, 30.0)),
            volume_l=float(rng.uniform(5.0, 150.0)),
            longest_side_cm=float(rng.uniform(20.0, 120.0)),
            delivery_earliest_s=float(opens[j]),
            delivery_latest_s=float(opens[j] + 7200.0),
            delivery_service_s=120.0,
            penalty=UNSERVED_PENALTY_M,
        )
        for j in range(n_parcels)
    )
    return Problem(locations=locations, vehicles=vehicles, parcels=parcels, travel=travel)
