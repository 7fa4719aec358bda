"""The batch solver: optimal on tiny instances, never forces a parcel, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from routing.checker import check
from routing.model import Parcel, Problem, Vehicle, VehicleKind
from routing.solver import SolverOptions, solve
from routing.travel import EuclideanTravel
from tests.routing.conftest import brute_force_optimum, driver, random_store_problem, van


@pytest.mark.parametrize(
    ("seed", "n_drivers", "n_parcels"),
    [(1, 2, 3), (2, 3, 4), (3, 3, 4), (4, 2, 4), (5, 1, 4), (6, 3, 3)],
)
def test_solver_finds_the_enumerated_optimum_on_tiny_store_instances(
    seed: int, n_drivers: int, n_parcels: int
) -> None:
    problem = random_store_problem(seed, n_drivers, n_parcels)
    optimum = brute_force_optimum(problem)
    report = check(problem, solve(problem, time_limit_s=0.5, seed=seed))
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(optimum, abs=1e-2)


def test_solver_finds_the_enumerated_optimum_with_pickups_away_from_the_store() -> None:
    rng = np.random.default_rng(11)
    locations = rng.uniform(0, 10, (8, 2))
    vehicles = (
        van("v0", 0, cost_per_m=1.0, capacity_weight_kg=5.0),
        driver("d1", 0, 1, budget_s=12.0, capacity_weight_kg=5.0),
    )
    parcels = tuple(
        Parcel(id=f"p{j}", pickup=2 + 2 * j, dropoff=3 + 2 * j, weight_kg=3.0, penalty=60.0)
        for j in range(3)
    )
    problem = Problem(
        locations=locations, vehicles=vehicles, parcels=parcels, travel=EuclideanTravel()
    )
    optimum = brute_force_optimum(problem)
    report = check(problem, solve(problem, time_limit_s=1.0))
    assert report.feasible, report.violations
    assert report.cost == pytest.approx(optimum, abs=1e-2)


def test_a_parcel_no_driver_can_reach_is_left_unserved(line_problem: Problem) -> None:
    solution = solve(line_problem, time_limit_s=0.5)
    report = check(line_problem, solution)
    assert report.feasible, report.violations
    assert line_problem.parcel_index["far-away"] in solution.unserved
    assert report.served == 2


def test_an_unreachable_mandatory_parcel_is_reported_not_forced() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 50.0]]),
        vehicles=(driver("d", 0, 1, budget_s=5.0),),
        parcels=(Parcel(id="p", pickup=0, dropoff=2),),
        travel=EuclideanTravel(),
    )
    solution = solve(problem, time_limit_s=0.3)
    assert solution.unserved == (0,)
    assert check(problem, solution).routes[0].parcels == 0


def test_pinned_parcels_stay_on_their_driver() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 1.0], [5.0, 0.5]]),
        vehicles=(driver("near", 0, 1, budget_s=30.0), driver("pinned", 0, 2, budget_s=30.0)),
        parcels=(Parcel(id="p", pickup=0, dropoff=3, penalty=10.0),),
        travel=EuclideanTravel(),
        pinned={"p": "pinned"},
    )
    solution = solve(problem, time_limit_s=0.3)
    assert solution.routes[1].parcels == (0,)
    assert check(problem, solution).feasible


def test_vans_take_what_drivers_cannot() -> None:
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 0.0], [0.0, 8.0]]),
        vehicles=(
            driver("d", 0, 1, budget_s=2.0),
            van("v", 0, cost_per_m=1.0, fixed_cost=5.0, earliest_start_s=0.0, latest_end_s=100.0),
        ),
        parcels=(
            Parcel(id="easy", pickup=0, dropoff=2),
            Parcel(id="off-road", pickup=0, dropoff=3),
        ),
        travel=EuclideanTravel(),
    )
    solution = solve(problem, time_limit_s=0.3)
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert solution.routes[0].parcels == (0,)
    assert solution.routes[1].parcels == (1,)
    assert report.cost == pytest.approx(5.0 + 16.0)


def test_same_seed_gives_the_same_solution() -> None:
    problem = random_store_problem(21, 8, 20)
    options = SolverOptions(solution_limit=200)
    first = solve(problem, time_limit_s=20.0, seed=3, options=options)
    second = solve(problem, time_limit_s=20.0, seed=3, options=options)
    assert first.routes == second.routes
    assert first.unserved == second.unserved


def test_non_positive_time_limit_is_refused(line_problem: Problem) -> None:
    with pytest.raises(ValueError, match="time_limit_s"):
        solve(line_problem, time_limit_s=0.0)


def test_empty_problem_gives_empty_routes() -> None:
    problem = Problem(
        locations=np.zeros((1, 2)),
        vehicles=(Vehicle(id="d", kind=VehicleKind.DRIVER, start=0, end=0),),
        parcels=(),
        travel=EuclideanTravel(),
    )
    solution = solve(problem, time_limit_s=0.1)
    assert solution.served == 0
    assert check(problem, solution).feasible


@pytest.mark.parametrize("seed", range(8))
def test_every_solution_on_random_store_evenings_passes_the_checker(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    drivers, parcels = int(rng.integers(1, 7)), int(rng.integers(0, 13))
    problem = random_store_problem(seed, drivers, parcels)
    solution = solve(problem, time_limit_s=0.2, seed=seed)
    report = check(problem, solution)
    assert report.feasible, report.violations
    assert report.served + report.unserved == parcels


@pytest.mark.parametrize("solution_limit", [None, 50])
def test_or_tools_alone_serves_a_window_that_opens_before_the_drive_there(
    solution_limit: int | None,
) -> None:
    # The driver may leave at any time; the only finite time in the problem is the delivery
    # instant, 5 s, which the driver reaches only by leaving before it (3.2 s of travel).
    problem = Problem(
        locations=np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 1.0]]),
        vehicles=(driver("d", 0, 1, budget_s=10.0),),
        parcels=(
            Parcel(
                id="p",
                pickup=0,
                dropoff=2,
                delivery_earliest_s=5.0,
                delivery_latest_s=5.0,
                penalty=100.0,
            ),
        ),
        travel=EuclideanTravel(),
    )
    options = SolverOptions(pyvrp=False, solution_limit=solution_limit)
    report = check(problem, solve(problem, time_limit_s=1.0, options=options))
    assert report.feasible, report.violations
    assert report.served == 1
    assert report.cost == pytest.approx(brute_force_optimum(problem), abs=1e-2)
