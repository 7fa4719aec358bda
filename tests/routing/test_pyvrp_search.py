"""PyVRP's search for pickup-and-delivery layouts: the translation keeps every rule, the costs
agree with the checker, and the solver falls back to OR-Tools where PyVRP does not apply."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pyvrp
from pyvrp import IteratedLocalSearchParams, SolveParams
from pyvrp.IteratedLocalSearch import IteratedLocalSearch, IteratedLocalSearchCallbacks

from routing import pyvrp_search
from routing.assignment import total_cost
from routing.bench.__main__ import DEFAULT_VRPOD
from routing.bench.instances import parse_vrpod
from routing.checker import check
from routing.layout import Layout, build_layout
from routing.model import Parcel, Problem, Vehicle
from routing.solver import SolverOptions, _to_solution, solve
from routing.travel import EuclideanTravel
from tests.routing.conftest import brute_force_optimum, driver, random_store_problem, van


def pickup_and_delivery_problem(seed: int, n_parcels: int = 4) -> Problem:
    """Pickups and drop-offs scattered (not at the store), a van and two drivers going home,
    windows, sizes, budgets, a compensation and an allowed list, so that every rule binds
    somewhere."""
    rng = np.random.default_rng(seed)
    locations = rng.uniform(0, 10, (3 + 2 * n_parcels, 2))
    vehicles: tuple[Vehicle, ...] = (
        van("v0", 0, cost_per_m=1.5, fixed_cost=4.0, capacity_weight_kg=6.0, latest_end_s=60.0),
        driver(
            "d1",
            0,
            1,
            budget_s=float(rng.uniform(6, 14)),
            capacity_weight_kg=5.0,
            max_parcels=n_parcels,  # a binding limit sends the layout to OR-Tools (test below)
            earliest_start_s=1.0,
            latest_start_s=4.0,
            compensation_per_parcel=1.0,
        ),
        driver(
            "d2",
            0,
            2,
            budget_s=float(rng.uniform(6, 14)),
            capacity_weight_kg=8.0,
            max_longest_side_cm=100.0,
            allowed_parcels=frozenset({"p0", "p1", "p2"}),
        ),
    )
    parcels = tuple(
        Parcel(
            id=f"p{j}",
            pickup=3 + 2 * j,
            dropoff=4 + 2 * j,
            weight_kg=float(rng.uniform(1, 5)),
            longest_side_cm=float(rng.uniform(50, 130)),
            pickup_service_s=0.5,
            delivery_earliest_s=float(rng.uniform(0, 10)),
            delivery_latest_s=float(rng.uniform(15, 40)),
            delivery_service_s=1.0,
            penalty=float(rng.uniform(25, 45)),
        )
        for j in range(n_parcels)
    )
    return Problem(
        locations=locations, vehicles=vehicles, parcels=parcels, travel=EuclideanTravel()
    )


def translated(problem: Problem) -> tuple[Layout, pyvrp_search.Translation]:
    """``problem``'s layout and its PyVRP translation (which must exist)."""
    layout = build_layout(problem)
    translation = pyvrp_search.translate(problem, layout)
    assert translation is not None
    return layout, translation


def pyvrp_routes(problem: Problem, seconds: float) -> tuple[Layout, list[list[int]]]:
    """PyVRP's routes for ``problem`` on their own (no OR-Tools, no checker in between)."""
    layout, translation = translated(problem)
    found = pyvrp_search.search(translation, layout, seconds, seed=0)
    assert found is not None
    return layout, found.routes


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_pyvrp_finds_the_enumerated_optimum_with_every_rule(seed: int) -> None:
    problem = pickup_and_delivery_problem(seed)
    optimum = brute_force_optimum(problem)
    solution = solve(problem, time_limit_s=0.5, seed=seed)
    assert solution.stats["pyvrp_iterations"] > 0  # PyVRP's result, not the fallback's
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(optimum, abs=1e-2)
    assert solution.cost == pytest.approx(report.cost, abs=1e-6)


def test_a_driver_pays_its_detour_not_its_drive_home() -> None:
    # Home is 10 away; the parcel lies on the way (detour 0) — the driver should take it even
    # though its whole route is 10 long and the van's round trip (8) is shorter than that.
    locations = np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    problem = Problem(
        locations=locations,
        vehicles=(van("v", 0, cost_per_m=1.0), driver("d", 0, 1, budget_s=1.0)),
        parcels=(Parcel(id="p", pickup=2, dropoff=3, penalty=100.0),),
        travel=EuclideanTravel(),
    )
    solution = solve(problem, time_limit_s=0.3)
    assert solution.stats["pyvrp_iterations"] > 0
    assert solution.routes[1].parcels == (0,)
    assert check(problem, solution).cost == pytest.approx(0.0, abs=1e-9)


def test_a_parcel_no_vehicle_may_carry_is_left_out_before_pyvrp_sees_it() -> None:
    problem = pickup_and_delivery_problem(5)
    too_heavy = Parcel(id="heavy", pickup=3, dropoff=4, weight_kg=50.0, penalty=1.0)
    problem = Problem(
        locations=problem.locations,
        vehicles=problem.vehicles,
        parcels=(*problem.parcels, too_heavy),
        travel=problem.travel,
    )
    translation = pyvrp_search.translate(problem, build_layout(problem))
    assert translation is not None
    assert len(problem.parcels) - 1 not in translation.kept
    solution = solve(problem, time_limit_s=0.3)
    assert len(problem.parcels) - 1 in solution.unserved
    assert check(problem, solution).feasible


def test_identical_vans_share_one_vehicle_type() -> None:
    problem = pickup_and_delivery_problem(6)
    vans = tuple(van(f"v{k}", 0, cost_per_m=1.0, capacity_weight_kg=6.0) for k in range(4))
    problem = Problem(
        locations=problem.locations,
        vehicles=vans + problem.vehicles[1:],
        parcels=problem.parcels,
        travel=problem.travel,
    )
    translation = pyvrp_search.translate(problem, build_layout(problem))
    assert translation is not None
    assert translation.members[0] == [0, 1, 2, 3]
    assert translation.data.num_vehicles == 6


def test_a_binding_parcel_limit_with_separate_pickups_stays_with_or_tools() -> None:
    # PyVRP limits what is on board at once; the rule limits what the route delivers.
    problem = pickup_and_delivery_problem(4)
    limited = driver("d1", 0, 1, budget_s=40.0, capacity_weight_kg=50.0, max_parcels=1)
    problem = Problem(
        locations=problem.locations,
        vehicles=(limited,),
        parcels=problem.parcels,
        travel=problem.travel,
    )
    assert pyvrp_search.translate(problem, build_layout(problem)) is None
    solution = solve(problem, time_limit_s=0.5)
    assert "pyvrp_iterations" not in solution.stats
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.served <= 1
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)


def test_too_large_a_translation_falls_back_to_or_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyvrp_search, "MATRIX_BUDGET_BYTES", 1)
    problem = pickup_and_delivery_problem(2)
    solution = solve(problem, time_limit_s=0.5, seed=2)
    assert "pyvrp_iterations" not in solution.stats
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)


def test_a_solution_limit_keeps_the_reproducible_or_tools_search() -> None:
    problem = pickup_and_delivery_problem(3)
    options = SolverOptions(solution_limit=50)
    first = solve(problem, time_limit_s=5.0, seed=1, options=options)
    assert "pyvrp_iterations" not in first.stats
    assert first.routes == solve(problem, time_limit_s=5.0, seed=1, options=options).routes


def test_drivers_sharing_a_home_but_not_a_start_get_profiles_of_their_own() -> None:
    # Both drivers live at location 2 but leave from different places, so the arcs into that
    # home cannot charge back one commute for both.
    locations = np.array([[0.0, 0.0], [0.0, 8.0], [10.0, 0.0], [5.0, 1.0], [9.0, 1.0], [3.0, 6.0]])
    problem = Problem(
        locations=locations,
        vehicles=(driver("a", 0, 2, budget_s=6.0), driver("b", 1, 2, budget_s=6.0)),
        parcels=(
            Parcel(id="p", pickup=3, dropoff=4, penalty=30.0),
            Parcel(id="q", pickup=5, dropoff=3, penalty=30.0),
        ),
        travel=EuclideanTravel(),
    )
    _, translation = translated(problem)
    assert translation.data.num_profiles == 2
    solution = solve(problem, time_limit_s=0.3)
    assert solution.stats["pyvrp_iterations"] > 0
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_store_evenings_end_with_pyvrp_from_our_solution(seed: int) -> None:
    problem = random_store_problem(seed, 3, 4)
    solution = solve(problem, time_limit_s=1.0, seed=seed)
    assert solution.stats["pyvrp_iterations"] > 0
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)
    assert solution.cost == pytest.approx(report.cost, abs=1e-2)  # OR-Tools' rounding if kept


def test_pyvrp_improves_a_poor_start_and_keeps_every_rule() -> None:
    # Everyone served by whoever the construction put first, in a bad order: PyVRP must find a
    # cheaper solution that the checker still accepts.
    problem = random_store_problem(7, 6, 12)
    layout, translation = translated(problem)
    found = pyvrp_search.search(translation, layout, 1.0, seed=1, initial=None)
    assert found is not None
    routes = [[int(n) for n in nodes] for nodes in found.routes]
    worse = [list(reversed(nodes)) for nodes in routes]
    again = pyvrp_search.search(translation, layout, 1.0, seed=1, initial=worse)
    assert again is not None
    assert total_cost(layout, again.routes) <= total_cost(layout, routes) + 1e-6
    solution = _to_solution(problem, layout, again.routes, math.nan, {})
    report = check(problem, solution)
    assert report.feasible, report.violations


def parcel_at_2(earliest_s: float = -math.inf, latest_s: float = math.inf) -> Parcel:
    return Parcel(
        id="p",
        pickup=0,
        dropoff=2,
        delivery_earliest_s=earliest_s,
        delivery_latest_s=latest_s,
        penalty=100.0,
    )


@pytest.mark.parametrize(
    ("vehicle", "parcel"),
    [
        # A departure window reaching past the end of the shift (our model allows it).
        (
            van("v", 0, earliest_start_s=0.0, latest_start_s=100.0, latest_end_s=50.0),
            parcel_at_2(),
        ),
        # A fixed departure and a delivery instant between two clock ticks.
        (
            driver("d", 0, 1, budget_s=10.0, earliest_start_s=1.2345, latest_start_s=1.2345),
            parcel_at_2(),
        ),
        (
            driver("d", 0, 1, budget_s=10.0),
            parcel_at_2(5.0005, 5.0005),
        ),
    ],
)
def test_windows_that_rounding_could_reverse_are_solved(vehicle: Vehicle, parcel: Parcel) -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 1.0]]),
        vehicles=(vehicle,),
        parcels=(parcel,),
        travel=EuclideanTravel(),
    )
    solution = solve(problem, time_limit_s=0.3)
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)


def test_a_driver_never_pays_a_fixed_cost() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 0.0], [4.0, 0.0]]),
        vehicles=(driver("d", 0, 1, budget_s=1.0, fixed_cost=100.0),),
        parcels=(Parcel(id="p", pickup=2, dropoff=3, penalty=50.0),),
        travel=EuclideanTravel(),
    )
    solution = solve(problem, time_limit_s=0.3)
    assert solution.stats["pyvrp_iterations"] > 0
    assert check(problem, solution).cost == pytest.approx(0.0, abs=1e-9)


def test_a_vehicle_without_earliest_departure_leaves_when_the_checker_says() -> None:
    # Times before 0 exist (a window already open); a driver without an earliest departure
    # leaves at 0 for the checker, too late for this parcel, so only the van can take it.
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 0.0]]),
        vehicles=(
            driver("d", 0, 1, budget_s=5.0),
            van("v", 0, earliest_start_s=-6.0, fixed_cost=50.0),
        ),
        parcels=(parcel_at_2(-6.0, 1.0),),
        travel=EuclideanTravel(),
    )
    layout, routes = pyvrp_routes(problem, 0.3)
    assert routes == [[], [int(layout.dropoff_node[0])]]


def test_prizes_above_pyvrp_default_penalty_cap_still_give_a_feasible_result() -> None:
    # Three drivers with room for one parcel each, ten parcels worth 200 (×1000 as integers,
    # above PyVRP's default cap of 100,000 per unit of violation): an overfull route must
    # never look cheaper than leaving a parcel out.
    rng = np.random.default_rng(0)
    locations = np.vstack([[[0.0, 0.0]], rng.uniform(-10, 10, (3, 2)), rng.uniform(-3, 3, (10, 2))])
    problem = Problem(
        locations=locations,
        vehicles=tuple(driver(f"d{k}", 0, 1 + k, max_parcels=1) for k in range(3)),
        parcels=tuple(
            Parcel(id=f"p{j}", pickup=0, dropoff=4 + j, penalty=200.0) for j in range(10)
        ),
        travel=EuclideanTravel(),
    )
    _, routes = pyvrp_routes(problem, 1.0)
    assert sum(len(nodes) for nodes in routes) == 3


def test_a_single_parcel_driver_has_no_arc_from_one_parcel_to_another() -> None:
    # PyVRP treats a parcel limit as a soft load; the arcs between parcels are what keeps its
    # search away from overfull single-parcel routes. A two-parcel driver keeps those arcs, so
    # the two drivers, otherwise alike, need profiles of their own.
    locations = np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 1.0], [6.0, -1.0]])
    problem = Problem(
        locations=locations,
        vehicles=(
            driver("one", 0, 1, budget_s=8.0, max_parcels=1),
            driver("two", 0, 1, budget_s=8.0, max_parcels=2),
        ),
        parcels=(
            Parcel(id="p", pickup=0, dropoff=2, penalty=30.0),
            Parcel(id="q", pickup=0, dropoff=3, penalty=30.0),
        ),
        travel=EuclideanTravel(),
    )
    layout, translation = translated(problem)
    data = translation.data
    assert data.num_profiles == 2
    drops = [int(node) for node in layout.dropoff_node]
    into_first = {}
    for members, vehicle_type in zip(translation.members, data.vehicle_types(), strict=True):
        (v,) = members
        matrix = data.distance_matrix(vehicle_type.profile)
        between = [int(matrix[a, b]) for a in drops for b in drops if a != b]
        into_first[problem.vehicles[v].id] = (int(matrix[0, drops[0]]), between)
    direct, between_one = into_first["one"]
    assert min(between_one) > 1000 * direct  # no route can afford them
    _, between_two = into_first["two"]
    assert max(between_two) < 1000 * 10  # real distances, in thousandths
    solution = solve(problem, time_limit_s=0.5)
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)


def test_pyvrp_starts_with_an_overfull_van_costing_about_one_arc_per_parcel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PyVRP's own start (halfway to its cap, per gram) keeps an overfull van dearer than any
    # route all search long; ours lets the search cross it. Checked on the evaluator PyVRP's
    # search really starts with.
    problem = parse_vrpod(DEFAULT_VRPOD / "od13rho0.2zeta1.1_C101.txt")
    layout, translation = translated(problem)
    evaluators: list[pyvrp.CostEvaluator] = []

    class Spy(IteratedLocalSearchCallbacks):
        def on_start(self, ils: IteratedLocalSearch) -> None:
            evaluators.append(ils.penalty_manager.cost_evaluator())

    real_solve = pyvrp.solve

    def solve_with_spy(*args: object, params: SolveParams, **kwargs: object) -> pyvrp.Result:
        spied = SolveParams(ils=IteratedLocalSearchParams(callbacks=Spy()), penalty=params.penalty)
        return real_solve(*args, params=spied, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pyvrp, "solve", solve_with_spy)
    assert pyvrp_search.search(translation, layout, 0.2, seed=0) is not None
    (evaluator,) = evaluators
    van_arcs = translation.data.distance_matrix(0)
    typical_arc = float(np.median(van_arcs[van_arcs > 0]))
    typical_parcel_g = 1000 * np.mean([p.weight_kg for p in problem.parcels])
    capacity_g = 1000 * problem.vehicles[0].capacity_weight_kg
    excess = evaluator.load_penalty(int(capacity_g + typical_parcel_g), int(capacity_g), 0)
    assert excess == pytest.approx(typical_arc, rel=0.01)
