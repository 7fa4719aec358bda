"""Real-time insertion agrees with the checker and ranks by added detour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routing.checker import check
from routing.insertion import InsertionError, RouteSet, Trip, TripParcel, best_insertions
from routing.model import Parcel, Problem, Route, Solution, Stop, StopKind, Vehicle, VehicleKind
from routing.travel import EuclideanTravel, HaversineTravel


def random_trips(seed: int, n_trips: int) -> tuple[list[Trip], TripParcel]:
    rng = np.random.default_rng(seed)
    trips = []
    for t in range(n_trips):
        n = int(rng.integers(0, 4))
        parcels = tuple(
            TripParcel(
                dropoff=(float(x), float(y)),
                earliest_s=float(o),
                latest_s=float(o + rng.uniform(5, 30)),
                service_s=float(rng.uniform(0, 1)),
                weight_kg=float(rng.uniform(0, 3)),
            )
            for x, y, o in zip(
                rng.uniform(-10, 10, n),
                rng.uniform(-10, 10, n),
                np.sort(rng.uniform(0, 25, n)),
                strict=True,
            )
        )
        trips.append(
            Trip(
                id=f"t{t}",
                start=(0.0, 0.0),
                end=(float(rng.uniform(-12, 12)), float(rng.uniform(-12, 12))),
                earliest_departure_s=0.0,
                latest_departure_s=float(rng.uniform(0, 10)),
                max_detour_s=float(rng.uniform(5, 40)),
                capacity_weight_kg=float(rng.uniform(3, 10)),
                max_parcels=int(rng.integers(1, 6)),
                parcels=parcels,
            )
        )
    new = TripParcel(
        dropoff=(float(rng.uniform(-8, 8)), float(rng.uniform(-8, 8))),
        earliest_s=float(rng.uniform(0, 15)),
        latest_s=60.0,
        service_s=1.0,
        weight_kg=1.0,
    )
    return trips, new


def as_problem(trip: Trip, order: list[TripParcel]) -> tuple[Problem, Solution]:
    points = [trip.start, trip.end] + [p.dropoff for p in order]
    vehicle = Vehicle(
        id="d",
        kind=VehicleKind.DRIVER,
        start=0,
        end=1,
        earliest_start_s=trip.earliest_departure_s,
        latest_start_s=trip.latest_departure_s,
        max_detour_s=trip.max_detour_s,
    )
    parcels = tuple(
        Parcel(
            id=str(i),
            pickup=0,
            dropoff=2 + i,
            delivery_earliest_s=p.earliest_s,
            delivery_latest_s=p.latest_s,
            delivery_service_s=p.service_s,
        )
        for i, p in enumerate(order)
    )
    problem = Problem(
        locations=np.array(points), vehicles=(vehicle,), parcels=parcels, travel=EuclideanTravel()
    )
    stops = tuple(Stop(i, StopKind.PICKUP) for i in range(len(order))) + tuple(
        Stop(i, StopKind.DROPOFF) for i in range(len(order))
    )
    return problem, Solution(routes=(Route(vehicle=0, stops=stops),), unserved=())


@pytest.mark.parametrize("seed", range(8))
def test_best_insertion_matches_exhaustive_evaluation_with_the_checker(seed: int) -> None:
    trips, new = random_trips(seed, 12)
    found = best_insertions(trips, new, EuclideanTravel(), k=len(trips))
    expected: dict[int, float] = {}
    for t, trip in enumerate(trips):
        if trip.max_parcels is not None and len(trip.parcels) + 1 > trip.max_parcels:
            continue
        if sum(p.weight_kg for p in trip.parcels) + new.weight_kg > trip.capacity_weight_kg:
            continue
        old_problem, old_solution = as_problem(trip, list(trip.parcels))
        old_report = check(old_problem, old_solution)
        old_detour = old_report.routes[0].detour_s if trip.parcels else 0.0
        for position in range(len(trip.parcels) + 1):
            order = list(trip.parcels)
            order.insert(position, new)
            report = check(*as_problem(trip, order))
            if report.feasible:
                added = report.routes[0].detour_s - old_detour
                expected[t] = min(expected.get(t, math.inf), added)
    assert {i.trip for i in found} == set(expected)
    for insertion in found:
        assert insertion.added_detour_s == pytest.approx(expected[insertion.trip], abs=1e-6)
    assert [i.added_detour_s for i in found] == sorted(i.added_detour_s for i in found)


def test_k_limits_the_answer_and_packed_routes_give_the_same_result() -> None:
    trips, new = random_trips(3, 40)
    travel = EuclideanTravel()
    loose = best_insertions(trips, new, travel, k=3)
    packed = best_insertions(RouteSet.from_trips(trips), new, travel, k=3)
    assert len(loose) <= 3
    assert loose == packed


def test_on_the_way_parcel_costs_no_detour_with_haversine() -> None:
    trip = Trip(
        start=(48.85, 2.35),
        end=(48.95, 2.35),
        earliest_departure_s=0.0,
        latest_departure_s=600.0,
        max_detour_s=300.0,
    )
    found = best_insertions([trip], TripParcel(dropoff=(48.90, 2.35)), HaversineTravel(), k=1)
    assert len(found) == 1
    assert found[0].added_detour_m == pytest.approx(0.0, abs=1e-6)
    assert found[0].position == 0


def test_nothing_fits_gives_an_empty_list() -> None:
    trip = Trip(
        start=(0.0, 0.0),
        end=(10.0, 0.0),
        earliest_departure_s=0.0,
        latest_departure_s=0.0,
        max_detour_s=1.0,
    )
    assert best_insertions([trip], TripParcel(dropoff=(5.0, 30.0)), EuclideanTravel()) == []
    assert best_insertions([], TripParcel(dropoff=(5.0, 30.0)), EuclideanTravel()) == []


def test_bad_requests_are_refused() -> None:
    with pytest.raises(InsertionError):
        TripParcel(dropoff=(0.0, 0.0), earliest_s=5.0, latest_s=1.0)
    with pytest.raises(InsertionError):
        Trip(
            start=(0.0, 0.0),
            end=(1.0, 0.0),
            earliest_departure_s=0.0,
            latest_departure_s=1.0,
            max_detour_s=10.0,
            capacity_weight_kg=-1.0,
        )
    with pytest.raises(InsertionError):
        best_insertions([], TripParcel(dropoff=(0.0, 0.0)), EuclideanTravel(), k=0)
