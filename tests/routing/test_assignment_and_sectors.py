"""Single-stop drivers re-assigned exactly; large evenings improved sector by sector."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from routing.assignment import reassign, single_stop_drivers, total_cost
from routing.bench.instances import synthetic_store_evening
from routing.checker import check
from routing.construct import regret_insertion
from routing.decompose import improve_by_sectors
from routing.layout import Layout, build_layout
from routing.model import Parcel, Problem, Route, Solution, Stop, StopKind
from routing.solver import solve
from routing.travel import EuclideanTravel
from tests.routing.conftest import brute_force_optimum, driver, random_store_problem, van


def _solution(problem: Problem, layout: Layout, routes: list[list[int]]) -> Solution:
    out = []
    for v, nodes in enumerate(routes):
        parcels = [int(layout.node_parcel[n]) for n in nodes]
        stops = [Stop(p, StopKind.PICKUP) for p in parcels] + [
            Stop(p, StopKind.DROPOFF) for p in parcels
        ]
        out.append(Route(vehicle=v, stops=tuple(stops)))
    served = {int(layout.node_parcel[n]) for r in routes for n in r}
    unserved = tuple(p for p in range(len(problem.parcels)) if p not in served)
    return Solution(routes=tuple(out), unserved=unserved)


def _single_stop_problem(seed: int) -> Problem:
    """Drivers with room for one parcel each, and one van so that there is a choice."""
    base = random_store_problem(seed, 4, 5)
    drivers = tuple(dataclasses.replace(v, max_parcels=1) for v in base.vehicles)
    vans = (van("v", 0, cost_per_m=1.0, fixed_cost=3.0),)
    return dataclasses.replace(base, vehicles=drivers + vans)


@pytest.mark.parametrize("seed", range(6))
def test_single_stop_costs_agree_with_the_checker(seed: int) -> None:
    problem = _single_stop_problem(seed)
    layout = build_layout(problem)
    single = single_stop_drivers(layout)
    assert single is not None
    empty = check(problem, _solution(problem, layout, [[] for _ in problem.vehicles])).cost
    finite = 0
    for k, v in enumerate(single.vehicles):
        for p in range(len(problem.parcels)):
            routes: list[list[int]] = [[] for _ in problem.vehicles]
            routes[v] = [int(layout.dropoff_node[p])]
            report = check(problem, _solution(problem, layout, routes))
            if math.isfinite(single.cost[k, p]):
                finite += 1
                assert report.feasible, report.violations
                # carrying p costs its route and saves its penalty
                expected = empty + single.cost[k, p] - problem.parcels[p].penalty
                assert report.cost == pytest.approx(expected, abs=1e-6)
            else:
                assert not report.feasible
    assert finite > 0


def test_reassign_makes_the_chain_move_local_search_cannot_see() -> None:
    """A carries p; q sits in the van. Best: B takes p, A takes q, the van stays home — two
    moves of which the first alone gains nothing."""
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 2.0], [9.0, 1.0], [0.0, 9.0]]),
        vehicles=(
            driver("A", 0, 1, allowed_parcels=frozenset({"p", "q"}), max_parcels=1),
            driver("B", 0, 2, allowed_parcels=frozenset({"p"}), max_parcels=1),
            van("van", 0, cost_per_m=1.0),
        ),
        parcels=(Parcel(id="p", pickup=0, dropoff=3), Parcel(id="q", pickup=0, dropoff=3)),
        travel=EuclideanTravel(),
    )
    problem = dataclasses.replace(
        problem,
        vehicles=tuple(
            dataclasses.replace(v, cost_per_m=0.0, compensation_per_parcel=1.0)
            if v.id != "van"
            else v
            for v in problem.vehicles
        ),
    )
    layout = build_layout(problem)
    single = single_stop_drivers(layout)
    assert single is not None
    start = [[0], [], [1]]  # A: p, B: nothing, van: q
    better = reassign(layout, single, start)
    assert better is not None
    assert better == [[1], [0], []]
    report = check(problem, _solution(problem, layout, better))
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-6)
    assert total_cost(layout, better) < total_cost(layout, start)
    assert reassign(layout, single, better) is None  # nothing left to gain


@pytest.mark.parametrize("seed", range(4))
def test_solver_with_single_stop_drivers_finds_the_enumerated_optimum(seed: int) -> None:
    base = random_store_problem(40 + seed, 3, 4)
    problem = dataclasses.replace(
        base,
        vehicles=tuple(dataclasses.replace(v, max_parcels=1) for v in base.vehicles[:2])
        + base.vehicles[2:],
    )
    report = check(problem, solve(problem, time_limit_s=0.6, seed=seed))
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)


def _evening() -> tuple[Problem, Layout, list[list[int]]]:
    problem = synthetic_store_evening(90, 150, seed=4)
    layout = build_layout(problem)
    return problem, layout, regret_insertion(layout, seed=0)


def test_sectors_cover_every_vehicle_and_never_make_things_worse() -> None:
    problem, layout, routes = _evening()
    seen: list[int] = []

    def worse(sub: Problem, sub_layout: Layout, start: list[list[int]], s: float):  # type: ignore[no-untyped-def]
        seen.extend(problem.vehicle_index[v.id] for v in sub.vehicles)
        return [[] for _ in start]  # serves nothing: must be refused

    result, windows = improve_by_sectors(problem, layout, routes, 5.0, 30, worse, total_cost)
    assert result == routes
    assert windows == 6  # 3 windows of 30 vehicles, twice (the second pass shifted by 15)
    assert set(seen) == set(range(len(problem.vehicles)))


def test_large_evenings_are_solved_by_sectors_and_beat_the_construction() -> None:
    problem, layout, routes = _evening()
    solution = solve(problem, time_limit_s=4.0, seed=0)
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert solution.stats["sectors"] >= 1
    constructed = check(problem, _solution(problem, layout, routes))
    assert report.served >= constructed.served
    assert report.cost < constructed.cost


def test_a_proposal_between_rounds_is_never_lost() -> None:
    """Whatever the later rounds find, the result is at least as good as what was proposed."""
    from routing.solver import SolverOptions, _RoutingModel

    problem = _single_stop_problem(3)
    layout = build_layout(problem)
    good = solve(problem, time_limit_s=1.0, seed=0)
    proposal = [
        [int(layout.dropoff_node[s.parcel]) for s in r.stops if s.kind is StopKind.DROPOFF]
        for r in good.routes
    ]
    model = _RoutingModel(problem, layout)
    start = [[] for _ in problem.vehicles]  # a poor start: nothing served
    routes = model.search(start, 0.6, SolverOptions(), lambda routes: proposal)
    assert total_cost(layout, routes) <= total_cost(layout, proposal) + 1e-9
    assert check(problem, _solution(problem, layout, routes)).feasible
