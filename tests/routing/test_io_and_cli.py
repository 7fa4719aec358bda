"""The JSON formats follow their schemas, round-trip, and drive the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from routing.checker import check
from routing.io import (
    PROBLEM_SCHEMA,
    SOLUTION_SCHEMA,
    problem_from_json,
    problem_to_json,
    solution_from_json,
    solution_to_json,
)
from routing.model import Problem, ProblemError
from routing.solver import solve

REPO = Path(__file__).resolve().parents[2]


def store_document() -> dict[str, object]:
    return {
        "travel": {"kind": "haversine", "speed_kmh": 30, "circuity": 1.3},
        "locations": [[48.8566, 2.3522], [48.90, 2.40], [48.87, 2.37], [48.80, 2.30]],
        "vehicles": [
            {
                "id": "alice",
                "kind": "driver",
                "start": 0,
                "end": 1,
                "earliest_start_s": 61200,
                "latest_start_s": 63000,
                "max_detour_s": 900,
                "capacity_weight_kg": 40,
                "capacity_volume_l": 200,
                "max_longest_side_cm": 150,
                "max_parcels": 3,
            },
            {
                "id": "van-1",
                "kind": "van",
                "start": 0,
                "end": 0,
                "earliest_start_s": 57600,
                "latest_end_s": 72000,
                "capacity_weight_kg": 500,
                "cost_per_m": 2.0,
                "fixed_cost": 1000,
            },
        ],
        "parcels": [
            {
                "id": "sofa-cushion",
                "pickup": 0,
                "dropoff": 2,
                "weight_kg": 5,
                "volume_l": 60,
                "longest_side_cm": 80,
                "delivery_earliest_s": 61200,
                "delivery_latest_s": 68400,
                "delivery_service_s": 120,
                "penalty": 50000,
            },
            {
                "id": "lamp",
                "pickup": 0,
                "dropoff": 3,
                "weight_kg": 3,
                "delivery_service_s": 120,
                "penalty": 50000,
            },
        ],
        "pinned": {"sofa-cushion": "alice"},
    }


def test_problem_document_round_trips() -> None:
    document = store_document()
    jsonschema.validate(document, json.loads(PROBLEM_SCHEMA.read_text()))
    problem = problem_from_json(document)
    again = problem_to_json(problem)
    assert problem_from_json(again).parcels == problem.parcels
    assert problem_from_json(again).vehicles == problem.vehicles


def test_solution_document_follows_its_schema_and_reads_back() -> None:
    problem = problem_from_json(store_document())
    solution = solve(problem, time_limit_s=0.3)
    report = check(problem, solution)
    document = solution_to_json(problem, solution, report)
    jsonschema.validate(document, json.loads(SOLUTION_SCHEMA.read_text()))
    assert document["feasible"] is True
    assert document["routes"][0]["stops"][-1]["parcel"] == "sofa-cushion"
    assert solution_from_json(problem, document).routes == solution.routes


def test_a_document_breaking_the_schema_is_refused_clearly() -> None:
    document = store_document()
    document["vehicles"][0]["capacity_weight_kg"] = "a lot"  # type: ignore[index]
    with pytest.raises(ProblemError, match="capacity_weight_kg"):
        problem_from_json(document)


def test_a_matrix_of_the_wrong_shape_is_refused() -> None:
    document = store_document()
    document["travel"] = {
        "kind": "matrix",
        "duration_s": [[0, 1], [1, 0]],
        "distance_m": [[0, 1], [1, 0]],
    }
    with pytest.raises(ProblemError, match="shape"):
        problem_from_json(document)


def test_command_line_solves_a_problem_file(tmp_path: Path) -> None:
    problem_path = tmp_path / "problem.json"
    problem_path.write_text(json.dumps(store_document()))
    result = subprocess.run(
        [sys.executable, "-m", "routing", "solve", str(problem_path), "--time-limit", "0.5"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=60,
    )
    document = json.loads(result.stdout)
    assert document["feasible"] is True
    assert document["served"] == 2
    solution_path = tmp_path / "solution.json"
    solution_path.write_text(result.stdout)
    checked = subprocess.run(
        [sys.executable, "-m", "routing", "check", str(problem_path), str(solution_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert checked.returncode == 0


def test_command_line_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    document = store_document()
    document["parcels"][0]["delivery_latest_s"] = 0  # type: ignore[index]
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(document))
    result = subprocess.run(
        [sys.executable, "-m", "routing", "solve", str(path), "--time-limit", "0.5"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "delivery window is reversed" in result.stderr


def test_problem_keeps_numpy_locations() -> None:
    problem = problem_from_json(store_document())
    assert isinstance(problem, Problem)
    assert problem.locations.dtype == np.float64
