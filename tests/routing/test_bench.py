"""Short smoke runs of each benchmark (a few instances, small time limits)."""

from __future__ import annotations

import json

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
