"""Ejection chains: a parcel left out gets on a route by moving others along, only when that
lowers the objective, and every route stays feasible."""

from __future__ import annotations

import time

import numpy as np

from routing.assignment import total_cost
from routing.chains import serve_more
from routing.checker import check
from routing.layout import Layout, build_layout
from routing.model import Parcel, Problem
from routing.solver import _to_solution
from routing.travel import EuclideanTravel
from tests.routing.conftest import driver


def chain_problem(penalty: float) -> Problem:
    """Three one-parcel drivers from the store (0) to homes 1–3. Parcel p only fits driver a;
    q fits a or b; r fits b or c."""
    locations = np.array(
        [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [-10.0, 0.0], [5.0, 0.5], [3.0, 3.0], [-2.0, 5.0]]
    )
    allowed = {"a": {"p", "q"}, "b": {"q", "r"}, "c": {"r"}}
    vehicles = tuple(
        driver(vid, 0, home, budget_s=20.0, max_parcels=1, allowed_parcels=frozenset(allowed[vid]))
        for vid, home in (("a", 1), ("b", 2), ("c", 3))
    )
    parcels = tuple(
        Parcel(id=pid, pickup=0, dropoff=node, penalty=penalty)
        for pid, node in (("p", 4), ("q", 5), ("r", 6))
    )
    return Problem(
        locations=locations, vehicles=vehicles, parcels=parcels, travel=EuclideanTravel()
    )


def nodes_of(layout: Layout, problem: Problem, *parcel_ids: str) -> list[int]:
    return [int(layout.dropoff_node[problem.parcel_index[pid]]) for pid in parcel_ids]


def test_a_parcel_left_out_gets_on_by_a_chain_of_two_moves() -> None:
    problem = chain_problem(penalty=1000.0)
    layout = build_layout(problem)
    # a carries q, b carries r, c is empty, p is left out: p fits nowhere as things stand.
    start = [nodes_of(layout, problem, "q"), nodes_of(layout, problem, "r"), []]
    routes = serve_more(layout, start, time.perf_counter() + 5.0)
    assert routes == [
        nodes_of(layout, problem, "p"),
        nodes_of(layout, problem, "q"),
        nodes_of(layout, problem, "r"),
    ]
    assert total_cost(layout, routes) < total_cost(layout, start)
    report = check(problem, _to_solution(problem, layout, routes, float("nan"), {}))
    assert report.feasible, report.violations
    assert report.served == 3


def test_a_chain_dearer_than_the_parcel_is_worth_is_not_made() -> None:
    problem = chain_problem(penalty=0.5)  # less than any of the detours the chain adds
    layout = build_layout(problem)
    start = [nodes_of(layout, problem, "q"), nodes_of(layout, problem, "r"), []]
    assert serve_more(layout, start, time.perf_counter() + 5.0) == start
