"""The packing of drivers' routes: column generation over listed routes and HiGHS' MIP pick
the best packing, every route stays feasible, and it never makes the routes worse."""

from __future__ import annotations

import time

import numpy as np
import pytest

from routing.assignment import route_cost_of
from routing.bench.instances import synthetic_store_evening
from routing.checker import check
from routing.construct import regret_insertion
from routing.layout import build_layout
from routing.model import Parcel, Problem
from routing.packing import Relaxation, _by_agreement, _Master, applies, improve_by_packing
from routing.solver import _to_solution
from routing.travel import EuclideanTravel
from tests.routing.conftest import brute_force_optimum, driver, random_store_problem, van


def checked_cost(problem: Problem, routes: list[list[int]]) -> float:
    layout = build_layout(problem)
    report = check(problem, _to_solution(problem, layout, routes, float("nan"), {}))
    assert report.feasible, report.violations
    return report.cost


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_from_no_routes_at_all_the_packing_reaches_the_enumerated_optimum(seed: int) -> None:
    problem = random_store_problem(seed, 3, 4)
    layout = build_layout(problem)
    assert applies(layout)  # these draws have drivers with room for two parcels or more
    empty: list[list[int]] = [[] for _ in problem.vehicles]
    routes = improve_by_packing(layout, empty, time.perf_counter() + 5.0)
    assert checked_cost(problem, routes) == pytest.approx(brute_force_optimum(problem), abs=1e-6)


def swap_problem() -> Problem:
    """Two drivers with room for two parcels each, east (a, tight budget) and north (b). Parcel
    p lies east and fits a only; q lies between and fits either, but not on a together with p;
    r lies north and fits b, also with q."""
    locations = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [5.0, 0.3], [2.0, 2.0], [0.3, 5.0]])
    vehicles = (
        driver("a", 0, 1, budget_s=1.2, max_parcels=2),
        driver("b", 0, 2, budget_s=4.0, max_parcels=2),
    )
    parcels = tuple(
        Parcel(id=pid, pickup=0, dropoff=node, penalty=100.0)
        for pid, node in (("p", 3), ("q", 4), ("r", 5))
    )
    return Problem(
        locations=locations, vehicles=vehicles, parcels=parcels, travel=EuclideanTravel()
    )


def test_a_driver_carrying_the_wrong_parcel_hands_it_over_so_that_all_are_served() -> None:
    problem = swap_problem()
    layout = build_layout(problem)
    index = problem.parcel_index
    start = [[index["q"]], [index["r"]]]  # p is left out: it fits a only, and not beside q
    assert checked_cost(problem, start) > 100.0
    routes = improve_by_packing(layout, start, time.perf_counter() + 5.0)
    cost = checked_cost(problem, routes)
    assert routes[0] == [index["p"]]
    assert sorted(routes[1]) == sorted([index["q"], index["r"]])
    assert cost == pytest.approx(brute_force_optimum(problem), abs=1e-6)


def test_the_routes_the_relaxation_agrees_on_are_held_and_the_others_re_chosen() -> None:
    problem = swap_problem()
    layout = build_layout(problem)
    p, q, r = (problem.parcel_index[name] for name in "pqr")
    master = _Master(layout)
    for v, order in ((0, (q,)), (0, (p,)), (1, (r,)), (1, (q, r))):
        nodes = [int(layout.dropoff_node[parcel]) for parcel in order]
        master.add(v, [order], [route_cost_of(layout, v, nodes)])
    a_q, a_p, b_r, b_qr = range(4)
    usable = np.ones(4, dtype=bool)
    later = time.perf_counter() + 5.0
    # Nothing agreed: both drivers re-chosen, all three parcels served.
    agreed = np.zeros(4, dtype=bool)
    assert _by_agreement(master, {a_q, b_r}, usable, agreed, later) == {a_p, b_qr}
    # b's route held: a may swap q for p, but b cannot take q, so two stay served.
    agreed[b_r] = True
    chosen = _by_agreement(master, {a_q, b_r}, usable, agreed, later)
    assert b_r in chosen
    assert len(chosen) == 2
    assert master.value(chosen) <= master.value({a_q, b_r}) + 1e-9


def test_the_prices_hold_both_for_the_penalties_and_for_a_number_served() -> None:
    problem = swap_problem()
    layout = build_layout(problem)
    p, q, r = (problem.parcel_index[name] for name in "pqr")
    master = _Master(layout)

    def add(v: int, order: tuple[int, ...]) -> None:
        nodes = [int(layout.dropoff_node[parcel]) for parcel in order]
        master.add(v, [order], [route_cost_of(layout, v, nodes)])

    def assert_prices_hold() -> Relaxation:
        relaxed = master.relax(5.0)
        assert relaxed is not None
        reduced = master.reduced_costs(relaxed)
        # The duals are feasible, and the routes the relaxation takes have reduced cost 0.
        assert reduced.min() >= -1e-6
        assert np.abs(reduced[relaxed.x > 1e-6]).max() <= 1e-6
        return relaxed

    for v, order in ((0, (q,)), (0, (p,)), (1, (r,)), (1, (q,))):
        add(v, order)
    assert_prices_hold()
    # Three served needs b on q and r, a route not listed yet.
    master.require_served(3)
    assert master.relax(5.0) is None
    add(1, (q, r))  # listed now, with its number of parcels in the last row
    relaxed = assert_prices_hold()
    assert relaxed.x == pytest.approx([0, 1, 0, 0, 1], abs=1e-6)
    assert relaxed.value == pytest.approx(master.cost[1] + master.cost[4], abs=1e-6)
    with pytest.raises(RuntimeError, match="once"):
        master.require_served(2)


def test_parcels_on_held_routes_stay_where_they_are() -> None:
    problem = swap_problem()
    layout = build_layout(problem)
    q, r = problem.parcel_index["q"], problem.parcel_index["r"]
    master = _Master(layout)
    for v, order in ((0, (q,)), (1, (r,)), (1, (q, r))):
        nodes = [int(layout.dropoff_node[parcel]) for parcel in order]
        master.add(v, [order], [route_cost_of(layout, v, nodes)])
    a_q, b_r, b_qr = range(3)
    usable = np.ones(3, dtype=bool)
    agreed = np.array([True, False, False])  # a's route on q held: b cannot take q as well
    later = time.perf_counter() + 5.0
    assert _by_agreement(master, {a_q, b_r}, usable, agreed, later) == {a_q, b_r}
    # With nothing held, either may carry q, but never both.
    chosen = _by_agreement(master, {a_q, b_r}, usable, np.zeros(3, dtype=bool), later)
    assert not {a_q, b_qr} <= chosen


def test_on_an_evening_the_packing_serves_more_and_never_costs_more() -> None:
    problem = synthetic_store_evening(30, 60, seed=3)
    layout = build_layout(problem)
    start = regret_insertion(layout, seed=0)
    routes = improve_by_packing(layout, start, time.perf_counter() + 4.0)
    assert checked_cost(problem, routes) <= checked_cost(problem, start) + 1e-6
    served = sum(len(nodes) for nodes in routes)
    assert served >= sum(len(nodes) for nodes in start)
    for v, nodes in enumerate(routes):
        assert len(nodes) <= problem.vehicles[v].max_parcels  # type: ignore[operator]


def test_the_routes_come_back_unchanged_where_the_packing_does_not_apply() -> None:
    # Single-parcel drivers and a van (VRPOD's shape): nothing to list beyond one parcel.
    locations = np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 1.0], [6.0, -1.0]])
    problem = Problem(
        locations=locations,
        vehicles=(van("v", 0), driver("d", 0, 1, budget_s=5.0, max_parcels=1)),
        parcels=(
            Parcel(id="p", pickup=0, dropoff=2, penalty=50.0),
            Parcel(id="q", pickup=0, dropoff=3, penalty=50.0),
        ),
        travel=EuclideanTravel(),
    )
    layout = build_layout(problem)
    start = [[0, 1], []]
    assert not applies(layout)
    assert improve_by_packing(layout, start, time.perf_counter() + 1.0) is start
    # Separate pickups (not loaded at the store): the packing does not apply either.
    pickups = Problem(
        locations=locations,
        vehicles=(driver("d", 0, 1, budget_s=50.0, max_parcels=3),),
        parcels=(Parcel(id="p", pickup=2, dropoff=3, penalty=50.0),),
        travel=EuclideanTravel(),
    )
    assert not applies(build_layout(pickups))
