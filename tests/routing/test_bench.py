"""Short smoke runs of each benchmark (a few instances, small time limits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routing.bench.__main__ import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[dict[str, object]], str]:
    assert main(list(argv)) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("summary: ")
    return [json.loads(line) for line in lines[:-1]], lines[-1]


def test_vrpod_smoke_run_is_feasible_and_near_the_best_known(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows, summary = run(
        capsys,
        "vrpod",
        "--pattern",
        "od13*C101.txt",
        "--limit",
        "2",
        "--time-limit",
        "0.5",
        "--vs",
        "vroom",
    )
    assert len(rows) == 2
    assert all(row["feasible"] for row in rows)
    assert all(float(row["gap_pct"]) < 5.0 for row in rows)  # type: ignore[arg-type]
    for key in (
        "instances=2",
        "feasible=2",
        "mean_gap_pct=",
        "median_gap_pct=",
        "max_gap_pct=",
        "mean_s=",
        "vroom_mean_gap_pct=",
    ):
        assert key in summary


def test_lilim_smoke_run_is_feasible(capsys: pytest.CaptureFixture[str]) -> None:
    rows, summary = run(capsys, "lilim", "--pattern", "lc101.txt", "--time-limit", "1")
    assert rows[0]["feasible"] is True
    assert rows[0]["served"] == 53
    assert "instances=1 feasible=1" in summary


def test_synthetic_smoke_run_reports_the_store_evening_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows, summary = run(
        capsys,
        "synthetic",
        "--drivers",
        "15",
        "--parcels",
        "30",
        "--time-limit",
        "1",
        "--vs",
        "vroom",
    )
    assert rows[0]["feasible"] is True
    for key in (
        "drivers=15",
        "parcels=30",
        "served=",
        "detour_km=",
        "seconds=",
        "peak_mb=",
        "vroom_served=",
    ):
        assert key in summary


def test_insertion_smoke_run(capsys: pytest.CaptureFixture[str]) -> None:
    _, summary = run(capsys, "insertion", "--trips", "50", "--requests", "10")
    assert "trips=50" in summary


ROOT = Path(__file__).resolve().parents[2]
MONACO = ROOT / "fixtures" / "osm" / "monaco-region.osm.pbf"


def test_map_smoke_run_plans_on_road_times_and_reports_the_straight_line_cost(
    capsys: pytest.CaptureFixture[str], monaco_osrm: Path
) -> None:
    rows, summary = run(
        capsys,
        "synthetic",
        "--map",
        str(MONACO),
        "--road-dir",
        str(ROOT / ".local" / "osrm"),  # where the suite's `monaco_osrm` prepared it
        "--drivers",
        "12",
        "--parcels",
        "24",
        "--time-limit",
        "0.5",
        "--vs",
        "vroom",
        "--matrix-points",
        "100",
    )
    row = rows[0]
    assert row["instance"] == "monaco-region-12x24-seed0"
    assert row["feasible"] is True
    assert row["served"] > 0  # type: ignore[operator]
    # Planned on the same road times the checker uses: no route breaks its budget.
    assert row["road_routes_over_budget"] == 0
    assert row["straight_feasible"] is True  # the straight-line plan holds on the straight line
    assert 0 < row["straight_routes"] <= 12  # type: ignore[operator]
    assert row["straight_routes_over_budget"] <= row["straight_routes"]  # type: ignore[operator]
    assert row["matrix_points"] == 100
    for key in (
        "served=",
        "detour_km=",
        "matrix_s=",
        "road_routes_over_budget=0",
        "vroom_served=",
        "detour_vs_vroom=",
        "straight_routes_over_budget=",
        "straight_over_budget_max_s=",
        "matrix_points_s=",
    ):
        assert key in summary


def test_budget_breaches_count_the_routes_a_straight_plan_breaks_on_roads() -> None:
    """A one-driver evening whose customer is near on the straight line and far by road:
    planned on the straight line it fits the budget, driven on the roads it does not."""
    import numpy as np

    from routing.bench.__main__ import budget_breaches
    from routing.checker import check
    from routing.model import (
        Parcel,
        Problem,
        Route,
        Solution,
        Stop,
        StopKind,
        Vehicle,
        VehicleKind,
    )
    from routing.travel import MatrixTravel

    points = np.array([[43.73, 7.41], [43.75, 7.45], [43.74, 7.43]])  # store, home, customer
    road_s = np.array([[0.0, 600.0, 900.0], [600.0, 0.0, 900.0], [900.0, 900.0, 0.0]])
    vehicle = Vehicle(id="d", kind=VehicleKind.DRIVER, start=0, end=1, max_detour_s=450.0)
    parcel = Parcel(id="p", pickup=0, dropoff=2)
    stops = (Stop(parcel=0, kind=StopKind.PICKUP), Stop(parcel=0, kind=StopKind.DROPOFF))
    plan = Solution(routes=(Route(vehicle=0, stops=stops),), unserved=())

    def evening(duration_s: np.ndarray) -> Problem:
        travel = MatrixTravel(points, duration_s, duration_s * 10.0)
        return Problem(locations=points, vehicles=(vehicle,), parcels=(parcel,), travel=travel)

    straight = evening(road_s / 3.0)  # detour 300 + 300 - 200 = 400 s
    promised = budget_breaches(straight, check(straight, plan))
    assert (promised.routes, promised.over_budget, promised.parcels_on_broken) == (1, 0, 0)
    roads = evening(road_s)  # detour 900 + 900 - 600 = 1200 s
    driven = budget_breaches(roads, check(roads, plan))
    assert (driven.routes, driven.over_budget, driven.parcels_on_broken) == (1, 1, 1)
    assert driven.over_budget_s == (pytest.approx(1200.0 - 450.0),)
    assert driven.over_budget_pct == (pytest.approx(100.0 * 750.0 / 450.0),)
