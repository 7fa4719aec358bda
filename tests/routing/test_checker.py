"""The checker rejects each kind of violation and recomputes costs."""

from __future__ import annotations

import numpy as np
import pytest

from routing.checker import check
from routing.model import Parcel, Problem, Route, Solution, Stop, StopKind
from routing.travel import EuclideanTravel
from tests.routing.conftest import driver, van

P, D = StopKind.PICKUP, StopKind.DROPOFF


def solution(
    *routes: tuple[int, list[tuple[int, StopKind]]], unserved: tuple[int, ...] = ()
) -> Solution:
    return Solution(
        routes=tuple(
            Route(vehicle=v, stops=tuple(Stop(p, k) for p, k in stops)) for v, stops in routes
        ),
        unserved=unserved,
    )


def test_a_feasible_route_costs_its_detour_and_the_penalties_of_what_is_left(
    line_problem: Problem,
) -> None:
    report = check(line_problem, solution((0, [(0, P), (0, D)]), unserved=(1, 2)))
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(0.0 + 200.0)  # on the way: no detour
    assert report.served == 1


def test_detour_is_measured_against_the_direct_drive(line_problem: Problem) -> None:
    report = check(line_problem, solution((0, [(1, P), (1, D)]), unserved=(0, 2)))
    expected = 2 * np.hypot(5.0, 3.0) - 10.0
    assert report.routes[0].detour_m == pytest.approx(expected)
    assert report.routes[0].detour_s == pytest.approx(expected)


def test_checker_rejects_weight_over_capacity(line_problem: Problem) -> None:
    heavy = Problem(
        locations=line_problem.locations,
        vehicles=(driver("d0", 0, 1, capacity_weight_kg=5.0),),
        parcels=line_problem.parcels[:2],
        travel=line_problem.travel,
    )
    report = check(heavy, solution((0, [(0, P), (1, P), (0, D), (1, D)])))
    assert any("weight" in v for v in report.violations)


def test_checker_rejects_volume_and_longest_side(line_problem: Problem) -> None:
    problem = Problem(
        locations=line_problem.locations,
        vehicles=(driver("d0", 0, 1, capacity_volume_l=10.0, max_longest_side_cm=50.0),),
        parcels=(Parcel(id="big", pickup=0, dropoff=2, volume_l=20.0, longest_side_cm=80.0),),
        travel=line_problem.travel,
    )
    report = check(problem, solution((0, [(0, P), (0, D)])))
    assert any("volume" in v for v in report.violations)
    assert any("too long" in v for v in report.violations)


def test_checker_rejects_too_many_parcels(line_problem: Problem) -> None:
    problem = Problem(
        locations=line_problem.locations,
        vehicles=(driver("d0", 0, 1, max_parcels=1),),
        parcels=line_problem.parcels[:2],
        travel=line_problem.travel,
    )
    report = check(problem, solution((0, [(0, P), (1, P), (0, D), (1, D)])))
    assert any("at most 1" in v for v in report.violations)


def test_checker_rejects_a_missed_window() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("d0", 0, 1, earliest_start_s=0.0, latest_start_s=0.0),),
        parcels=(Parcel(id="p", pickup=0, dropoff=2, delivery_latest_s=4.0),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, [(0, P), (0, D)])))
    assert any("window" in v for v in report.violations)


def test_waiting_is_absorbed_by_a_later_departure_when_the_window_allows() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("d0", 0, 1, budget_s=1.0, earliest_start_s=0.0, latest_start_s=20.0),),
        parcels=(Parcel(id="p", pickup=0, dropoff=2, delivery_earliest_s=15.0),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, [(0, P), (0, D)])))
    assert report.feasible, report.violations
    assert report.routes[0].departure_s == pytest.approx(10.0)
    assert report.routes[0].detour_s == pytest.approx(0.0)


def test_checker_rejects_waiting_that_breaks_the_detour_budget() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("d0", 0, 1, budget_s=1.0, earliest_start_s=0.0, latest_start_s=2.0),),
        parcels=(Parcel(id="p", pickup=0, dropoff=2, delivery_earliest_s=15.0),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, [(0, P), (0, D)])))
    assert any("over budget" in v for v in report.violations)


def test_checker_rejects_a_dropoff_before_its_pickup(line_problem: Problem) -> None:
    report = check(line_problem, solution((0, [(0, D), (0, P)]), unserved=(1, 2)))
    assert any("before its pickup" in v for v in report.violations)


def test_checker_rejects_pickup_and_dropoff_by_different_vehicles() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("a", 0, 1), driver("b", 0, 1)),
        parcels=(Parcel(id="p", pickup=0, dropoff=2),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, [(0, P)]), (1, [(0, D)])))
    assert any("different vehicles" in v for v in report.violations)


def test_checker_rejects_a_parcel_served_twice(line_problem: Problem) -> None:
    report = check(line_problem, solution((0, [(0, P), (0, D), (0, P), (0, D)])))
    assert any("twice" in v for v in report.violations)


def test_checker_rejects_an_unserved_mandatory_parcel() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("a", 0, 1),),
        parcels=(Parcel(id="p", pickup=0, dropoff=2),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, []), unserved=(0,)))
    assert any("mandatory" in v for v in report.violations)


def test_checker_rejects_a_van_back_after_its_shift() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [30.0, 0.0]]),
        vehicles=(van("v", 0, earliest_start_s=0.0, latest_end_s=50.0, cost_per_m=2.0),),
        parcels=(Parcel(id="p", pickup=0, dropoff=1),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, [(0, P), (0, D)])))
    assert any("end of shift" in v for v in report.violations)
    assert report.routes[0].cost == pytest.approx(120.0)


def test_checker_rejects_parcels_not_allowed_or_pinned_elsewhere() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("a", 0, 1, allowed_parcels=frozenset({"q"})), driver("b", 0, 1)),
        parcels=(Parcel(id="p", pickup=0, dropoff=2), Parcel(id="q", pickup=0, dropoff=2)),
        travel=EuclideanTravel(),
        pinned={"q": "b"},
    )
    report = check(problem, solution((0, [(0, P), (0, D), (1, P), (1, D)])))
    assert any("not allowed" in v for v in report.violations)
    assert any("pinned" in v for v in report.violations)


def test_compensation_is_paid_per_parcel_carried() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0]]),
        vehicles=(driver("a", 0, 1, cost_per_m=0.0, compensation={"p": 3.5}),),
        parcels=(Parcel(id="p", pickup=0, dropoff=2),),
        travel=EuclideanTravel(),
    )
    report = check(problem, solution((0, [(0, P), (0, D)])))
    assert report.feasible
    assert report.cost == pytest.approx(3.5)
