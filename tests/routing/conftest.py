"""Small problem factories for the routing tests (no Django, no database)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest

from routing.checker import check
from routing.model import Parcel, Problem, Route, Solution, Stop, StopKind, Vehicle, VehicleKind
from routing.travel import EuclideanTravel


def driver(
    vid: str, start: int, end: int, *, budget_s: float | None = None, **kwargs: object
) -> Vehicle:
    return Vehicle(
        id=vid, kind=VehicleKind.DRIVER, start=start, end=end, max_detour_s=budget_s, **kwargs
    )  # type: ignore[arg-type]


def van(vid: str, depot: int, **kwargs: object) -> Vehicle:
    return Vehicle(id=vid, kind=VehicleKind.VAN, start=depot, end=depot, **kwargs)  # type: ignore[arg-type]


def random_store_problem(seed: int, n_drivers: int, n_parcels: int) -> Problem:
    """Store at the origin, homes and customers within 10 units; windows, sizes and budgets
    drawn so that some parcels fit and some do not."""
    rng = np.random.default_rng(seed)
    homes = rng.uniform(-10, 10, (n_drivers, 2))
    customers = rng.uniform(-10, 10, (n_parcels, 2))
    locations = np.vstack([[0.0, 0.0], homes, customers])
    vehicles = tuple(
        driver(
            f"d{k}",
            0,
            1 + k,
            budget_s=float(rng.uniform(4, 14)),
            earliest_start_s=0.0,
            latest_start_s=float(rng.uniform(0, 5)),
            capacity_weight_kg=float(rng.uniform(5, 12)),
            max_parcels=int(rng.integers(1, 4)),
            cost_per_m=1.0,
        )
        for k in range(n_drivers)
    )
    opens = rng.uniform(0, 12, n_parcels)
    parcels = tuple(
        Parcel(
            id=f"p{j}",
            pickup=0,
            dropoff=1 + n_drivers + j,
            weight_kg=float(rng.uniform(1, 6)),
            delivery_earliest_s=float(opens[j]),
            delivery_latest_s=float(opens[j] + rng.uniform(3, 12)),
            delivery_service_s=float(rng.uniform(0, 1)),
            penalty=float(rng.uniform(20, 40)),
        )
        for j in range(n_parcels)
    )
    return Problem(
        locations=locations, vehicles=vehicles, parcels=parcels, travel=EuclideanTravel()
    )


def _vehicle_orders(problem: Problem, parcels: list[int]) -> Iterator[tuple[Stop, ...]]:
    """Every stop order for these parcels on one vehicle, pickups before drop-offs."""
    stops = [Stop(p, StopKind.PICKUP) for p in parcels] + [
        Stop(p, StopKind.DROPOFF) for p in parcels
    ]
    loaded_at_store = all(
        problem.parcels[p].pickup == 0 and problem.parcels[p].pickup_service_s == 0 for p in parcels
    )
    if loaded_at_store:
        for order in itertools.permutations(parcels):
            yield tuple(Stop(p, StopKind.PICKUP) for p in parcels) + tuple(
                Stop(p, StopKind.DROPOFF) for p in order
            )
        return
    for stop_order in itertools.permutations(stops):
        seen: set[int] = set()
        ok = True
        for s in stop_order:
            if s.kind is StopKind.PICKUP:
                seen.add(s.parcel)
            elif s.parcel not in seen:
                ok = False
                break
        if ok:
            yield tuple(stop_order)


def brute_force_optimum(problem: Problem) -> float:
    """The least checker cost over every assignment and every order (tiny problems only)."""
    n_v, n_p = len(problem.vehicles), len(problem.parcels)
    best = math.inf
    for assignment in itertools.product(range(-1, n_v), repeat=n_p):
        per_vehicle = [[p for p in range(n_p) if assignment[p] == v] for v in range(n_v)]
        choices = [list(_vehicle_orders(problem, ps)) for ps in per_vehicle]
        # Vehicles are independent: pick each vehicle's best feasible order on its own.
        total = sum(
            problem.parcels[p].penalty or math.inf for p in range(n_p) if assignment[p] == -1
        )
        for v, orders in enumerate(choices):
            best_v = math.inf
            for order in orders:
                report = check(
                    problem,
                    Solution(routes=(Route(vehicle=v, stops=order),), unserved=()),
                )
                route_violations = [x for x in report.violations if "not served" not in x]
                if not route_violations:
                    best_v = min(best_v, report.routes[0].cost)
            total += best_v
            if total >= best:
                break
        best = min(best, total)
    return best


@pytest.fixture
def line_problem() -> Problem:
    """Store at 0, one driver going home to x=10, parcels on and off the way."""
    locations = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0], [5.0, 3.0], [5.0, 40.0]])
    return Problem(
        locations=locations,
        vehicles=(driver("d0", 0, 1, budget_s=8.0, capacity_weight_kg=10.0, max_parcels=2),),
        parcels=(
            Parcel(id="on-the-way", pickup=0, dropoff=2, weight_kg=4.0, penalty=100.0),
            Parcel(id="small-detour", pickup=0, dropoff=3, weight_kg=4.0, penalty=100.0),
            Parcel(id="far-away", pickup=0, dropoff=4, weight_kg=1.0, penalty=100.0),
        ),
        travel=EuclideanTravel(),
    )
