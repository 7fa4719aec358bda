"""JSON in and out: ``problem.schema.json`` and ``solution.schema.json`` describe the documents.

Numbers that may be unbounded (windows, capacities, budgets) are simply left out (or null) when
unbounded: JSON has no infinity. Parcels and vehicles are referred to by id in documents, by
index in the dataclasses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from routing.checker import CheckReport
from routing.model import (
    Parcel,
    Problem,
    ProblemError,
    Route,
    Solution,
    Stop,
    StopKind,
    Vehicle,
    VehicleKind,
)
from routing.travel import (
    EuclideanTravel,
    HaversineTravel,
    MatrixTravel,
    TravelError,
    TravelTimeProvider,
)

SCHEMA_DIR = Path(__file__).resolve().parent
PROBLEM_SCHEMA = SCHEMA_DIR / "problem.schema.json"
SOLUTION_SCHEMA = SCHEMA_DIR / "solution.schema.json"

_VEHICLE_NUMBERS = (
    "earliest_start_s",
    "latest_start_s",
    "latest_end_s",
    "capacity_weight_kg",
    "capacity_volume_l",
    "max_longest_side_cm",
    "cost_per_m",
    "fixed_cost",
    "compensation_per_parcel",
)
_PARCEL_NUMBERS = (
    "weight_kg",
    "volume_l",
    "longest_side_cm",
    "pickup_earliest_s",
    "pickup_latest_s",
    "pickup_service_s",
    "delivery_earliest_s",
    "delivery_latest_s",
    "delivery_service_s",
)


def validate_document(document: Mapping[str, Any], schema_path: Path) -> None:
    """Validate against a JSON Schema when ``jsonschema`` is installed (raises ProblemError)."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - the check is a convenience, not a requirement
        return
    schema = json.loads(schema_path.read_text())
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path)
        raise ProblemError(f"{schema_path.name}: {where or 'document'}: {error.message}") from None


def _travel_from_json(spec: Mapping[str, Any], locations: np.ndarray) -> TravelTimeProvider:
    kind = spec["kind"]
    if kind == "haversine":
        return HaversineTravel(
            speed_kmh=float(spec.get("speed_kmh", 30.0)), circuity=float(spec.get("circuity", 1.3))
        )
    if kind == "euclidean":
        return EuclideanTravel(
            speed_m_per_s=float(spec.get("speed_m_per_s", 1.0)),
            distance_scale=float(spec.get("distance_scale", 1.0)),
        )
    if kind == "matrix":
        try:
            return MatrixTravel(
                points=locations,
                duration_s=np.asarray(spec["duration_s"], dtype=np.float64),
                distance_m=np.asarray(spec["distance_m"], dtype=np.float64),
            )
        except TravelError as error:
            raise ProblemError(str(error)) from None
    raise ProblemError(f"unknown travel kind {kind!r}")


def _travel_to_json(travel: TravelTimeProvider) -> dict[str, Any]:
    if isinstance(travel, HaversineTravel):
        return {"kind": "haversine", "speed_kmh": travel.speed_kmh, "circuity": travel.circuity}
    if isinstance(travel, EuclideanTravel):
        return {
            "kind": "euclidean",
            "speed_m_per_s": travel.speed_m_per_s,
            "distance_scale": travel.distance_scale,
        }
    if isinstance(travel, MatrixTravel):
        return {
            "kind": "matrix",
            "duration_s": travel.duration_s.tolist(),
            "distance_m": travel.distance_m.tolist(),
        }
    raise ProblemError(f"cannot write travel provider {type(travel).__name__} as JSON")


def _number(value: Any, default: float) -> float:
    return default if value is None else float(value)


def problem_from_json(document: Mapping[str, Any], *, validate: bool = True) -> Problem:
    """Build a ``Problem`` from a problem document.

    Raises:
        ProblemError: if the document does not follow the schema or describes an impossible
            problem (negative capacity, reversed window, matrix of the wrong shape…).
    """
    if validate:
        validate_document(document, PROBLEM_SCHEMA)
    locations = np.asarray(document["locations"], dtype=np.float64).reshape(-1, 2)
    travel = _travel_from_json(document["travel"], locations)
    defaults = Vehicle(id="", kind=VehicleKind.DRIVER, start=0, end=0)
    vehicles = []
    for item in document["vehicles"]:
        numbers = {k: _number(item.get(k), getattr(defaults, k)) for k in _VEHICLE_NUMBERS}
        allowed = item.get("allowed_parcels")
        vehicles.append(
            Vehicle(
                id=str(item["id"]),
                kind=VehicleKind(item.get("kind", "driver")),
                start=int(item["start"]),
                end=int(item["end"]),
                max_parcels=item.get("max_parcels"),
                max_detour_s=item.get("max_detour_s"),
                compensation=MappingProxyType(
                    {str(k): float(v) for k, v in (item.get("compensation") or {}).items()}
                ),
                allowed_parcels=None if allowed is None else frozenset(map(str, allowed)),
                **numbers,
            )
        )
    parcel_defaults = Parcel(id="", pickup=0, dropoff=0)
    parcels = []
    for item in document["parcels"]:
        numbers = {k: _number(item.get(k), getattr(parcel_defaults, k)) for k in _PARCEL_NUMBERS}
        penalty = item.get("penalty")
        parcels.append(
            Parcel(
                id=str(item["id"]),
                pickup=int(item["pickup"]),
                dropoff=int(item["dropoff"]),
                penalty=None if penalty is None else float(penalty),
                **numbers,
            )
        )
    pinned = {str(k): str(v) for k, v in (document.get("pinned") or {}).items()}
    return Problem(
        locations=locations,
        vehicles=tuple(vehicles),
        parcels=tuple(parcels),
        travel=travel,
        pinned=MappingProxyType(pinned),
    )


def _finite_items(obj: object, names: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in names:
        value = getattr(obj, name)
        if value is not None and math.isfinite(value):
            out[name] = value
    return out


def problem_to_json(problem: Problem) -> dict[str, Any]:
    """The problem document for ``problem`` (inverse of ``problem_from_json``)."""
    vehicles = []
    for v in problem.vehicles:
        item: dict[str, Any] = {"id": v.id, "kind": v.kind.value, "start": v.start, "end": v.end}
        item.update(_finite_items(v, _VEHICLE_NUMBERS))
        if v.max_parcels is not None:
            item["max_parcels"] = v.max_parcels
        if v.max_detour_s is not None:
            item["max_detour_s"] = v.max_detour_s
        if v.compensation:
            item["compensation"] = dict(v.compensation)
        if v.allowed_parcels is not None:
            item["allowed_parcels"] = sorted(v.allowed_parcels)
        vehicles.append(item)
    parcels = []
    for p in problem.parcels:
        entry: dict[str, Any] = {"id": p.id, "pickup": p.pickup, "dropoff": p.dropoff}
        entry.update(_finite_items(p, _PARCEL_NUMBERS))
        if p.penalty is not None:
            entry["penalty"] = p.penalty
        parcels.append(entry)
    return {
        "travel": _travel_to_json(problem.travel),
        "locations": problem.locations.tolist(),
        "vehicles": vehicles,
        "parcels": parcels,
        "pinned": dict(problem.pinned),
    }


def solution_to_json(
    problem: Problem, solution: Solution, report: CheckReport | None = None
) -> dict[str, Any]:
    """The solution document; with a checker report, routes carry times, detours and costs."""
    by_vehicle = {r.vehicle: r for r in report.routes} if report else {}
    routes = []
    for route in solution.routes:
        entry: dict[str, Any] = {
            "vehicle": problem.vehicles[route.vehicle].id,
            "stops": [
                {"parcel": problem.parcels[s.parcel].id, "kind": s.kind.value} for s in route.stops
            ],
        }
        figures = by_vehicle.get(route.vehicle)
        if figures is not None:
            for stop, begin in zip(entry["stops"], figures.stop_begin_s, strict=True):
                stop["begin_s"] = begin
            entry.update(
                departure_s=figures.departure_s,
                arrival_s=figures.arrival_s,
                distance_m=figures.distance_m,
                detour_s=figures.detour_s,
                detour_m=figures.detour_m,
                cost=figures.cost,
            )
        routes.append(entry)
    document: dict[str, Any] = {
        "routes": routes,
        "unserved": [problem.parcels[p].id for p in solution.unserved],
        "cost": report.cost if report else solution.cost,
    }
    if report is not None:
        document["feasible"] = report.feasible
        document["violations"] = list(report.violations)
        document["served"] = report.served
    return document


def solution_from_json(problem: Problem, document: Mapping[str, Any]) -> Solution:
    """Read a solution document back (ids become indices).

    Raises:
        ProblemError: if it names a vehicle or parcel that is not in the problem.
    """
    validate_document(document, SOLUTION_SCHEMA)
    try:
        routes = tuple(
            Route(
                vehicle=problem.vehicle_index[str(r["vehicle"])],
                stops=tuple(
                    Stop(parcel=problem.parcel_index[str(s["parcel"])], kind=StopKind(s["kind"]))
                    for s in r["stops"]
                ),
            )
            for r in document["routes"]
        )
        unserved = tuple(problem.parcel_index[str(p)] for p in document.get("unserved", []))
    except KeyError as error:
        raise ProblemError(f"solution refers to unknown id {error.args[0]}") from None
    return Solution(routes=routes, unserved=unserved, cost=float(document.get("cost", math.nan)))
