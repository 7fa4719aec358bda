"""Benchmarks: ``python -m routing.bench {vrpod,lilim,synthetic,insertion} …``.

Each prints one JSON line per instance and a last line ``summary: key=value …``. Every solution
(ours and VROOM's) goes through the independent checker; objectives are the checker's.
``synthetic --map FILE.osm.pbf`` plays the store evening on an extract's roads (road matrices
from OSRM, VROOM on the same matrix) and reports what planning on the straight line costs.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing.bench.instances import (
    Instance,
    map_store_evening,
    parse_lilim,
    parse_vrpod,
    synthetic_store_evening,
    with_travel,
)
from routing.checker import CheckReport, check
from routing.model import Problem, Solution
from routing.solver import solve
from routing.travel import FloatArray, HaversineTravel, MatrixTravel, TravelTimeProvider

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VRPOD = REPO_ROOT / "fixtures" / "benchmarks" / "vrpod"
DEFAULT_LILIM = REPO_ROOT / "fixtures" / "benchmarks" / "lilim100"
DEFAULT_ROAD_DIR = REPO_ROOT / ".local" / "osrm"  # where set-up prepares the demo extract


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4f}"


def vrpod_instances(folder: Path, pattern: str, limit: int | None) -> Iterator[Instance]:
    best: dict[str, float] = {}
    for line in (folder / "best_known.tsv").read_text().splitlines():
        if "\t" in line:
            name, value = line.split("\t")[:2]
            best[name.strip()] = float(value)
    files = sorted(p for p in folder.glob(pattern) if p.name in best)
    for path in files[:limit]:
        yield Instance(name=path.name, problem=parse_vrpod(path), reference=best[path.name])


def lilim_instances(folder: Path, pattern: str, limit: int | None) -> Iterator[Instance]:
    refs: dict[str, float] = {}
    lines = (folder / "distance_objective_refs.csv").read_text().splitlines()
    for line in lines[1:]:
        fields = line.split(",")
        refs[fields[0]] = float(fields[2]) / 1000.0
    files = sorted(p for p in folder.glob(pattern) if p.stem in refs)
    for path in files[:limit]:
        yield Instance(name=path.stem, problem=parse_lilim(path), reference=refs[path.stem])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _vroom(problem: Problem) -> tuple[Solution, CheckReport, float]:
    from routing.bench.vroom_adapter import solve_with_vroom

    solution, seconds = solve_with_vroom(problem)
    return solution, check(problem, solution), seconds


def _default_limit(kind: str, problem: Problem) -> float:
    if kind == "vrpod":
        return 2.0 if len(problem.parcels) <= 25 else 10.0
    if kind == "lilim":
        return 10.0
    return 10.0 if len(problem.parcels) <= 400 else 30.0


def run_reference_set(
    kind: str, instances: Iterator[Instance], time_limit_s: float | None, vs: str | None, seed: int
) -> dict[str, float]:
    gaps: list[float] = []
    seconds: list[float] = []
    feasible = 0
    count = 0
    vroom_gaps: list[float] = []
    vroom_seconds: list[float] = []
    vroom_feasible = 0
    for instance in instances:
        problem = instance.problem
        limit = time_limit_s or _default_limit(kind, problem)
        started = time.perf_counter()
        solution = solve(problem, time_limit_s=limit, seed=seed)
        elapsed = time.perf_counter() - started
        report = check(problem, solution)
        reference = instance.reference or math.nan
        gap = 100.0 * (report.cost / reference - 1.0)
        line: dict[str, object] = {
            "instance": instance.name,
            "objective": round(report.cost, 6),
            "reference": reference,
            "gap_pct": round(gap, 4),
            "seconds": round(elapsed, 3),
            "feasible": report.feasible,
            "served": report.served,
        }
        if not report.feasible:
            line["violations"] = list(report.violations[:5])
        count += 1
        seconds.append(elapsed)
        if report.feasible:
            feasible += 1
        gaps.append(gap)
        if vs == "vroom":
            _, vreport, vsec = _vroom(problem)
            vgap = 100.0 * (vreport.cost / reference - 1.0)
            line.update(
                vroom_objective=round(vreport.cost, 6),
                vroom_gap_pct=round(vgap, 4),
                vroom_seconds=round(vsec, 3),
                vroom_feasible=vreport.feasible,
            )
            vroom_gaps.append(vgap)
            vroom_seconds.append(vsec)
            vroom_feasible += int(vreport.feasible)
        print(json.dumps(line), flush=True)
    summary = {
        "instances": float(count),
        "feasible": float(feasible),
        "mean_gap_pct": statistics.fmean(gaps) if gaps else math.nan,
        "median_gap_pct": statistics.median(gaps) if gaps else math.nan,
        "max_gap_pct": max(gaps) if gaps else math.nan,
        "mean_s": statistics.fmean(seconds) if seconds else math.nan,
    }
    if vs == "vroom":
        summary.update(
            vroom_feasible=float(vroom_feasible),
            vroom_mean_gap_pct=statistics.fmean(vroom_gaps) if vroom_gaps else math.nan,
            vroom_median_gap_pct=statistics.median(vroom_gaps) if vroom_gaps else math.nan,
            vroom_max_gap_pct=max(vroom_gaps) if vroom_gaps else math.nan,
            vroom_mean_s=statistics.fmean(vroom_seconds) if vroom_seconds else math.nan,
        )
    return summary


def _feasible_part(problem: Problem, solution: Solution) -> tuple[Solution, CheckReport]:
    """Keep only the routes the checker accepts on their own (others emptied, their parcels
    unserved): how a yardstick's infeasible routes are counted."""
    from routing.model import Route

    kept: list[Route] = []
    for route in solution.routes:
        single = Solution(routes=(route,), unserved=())
        report = check(problem, single)
        route_ok = not [v for v in report.violations if not v.startswith("mandatory")]
        kept.append(route if route_ok else Route(vehicle=route.vehicle))
    served = {s.parcel for r in kept for s in r.stops}
    cleaned = Solution(
        routes=tuple(kept),
        unserved=tuple(p for p in range(len(problem.parcels)) if p not in served),
    )
    return cleaned, check(problem, cleaned)


def run_synthetic(
    drivers: int, parcels: int, seed: int, time_limit_s: float | None, vs: str | None
) -> dict[str, float]:
    problem = synthetic_store_evening(drivers, parcels, seed)
    limit = time_limit_s or _default_limit("synthetic", problem)
    started = time.perf_counter()
    solution = solve(problem, time_limit_s=limit, seed=seed)
    elapsed = time.perf_counter() - started
    peak_mb = _peak_mb()
    report = check(problem, solution)
    line: dict[str, object] = {
        "instance": f"synthetic-{drivers}x{parcels}-seed{seed}",
        "served": report.served,
        "detour_km": round(report.driver_detour_m / 1000.0, 4),
        "seconds": round(elapsed, 3),
        "feasible": report.feasible,
        "peak_mb": round(peak_mb, 1),
    }
    summary = {
        "drivers": float(drivers),
        "parcels": float(parcels),
        "served": float(report.served),
        "detour_km": report.driver_detour_m / 1000.0,
        "seconds": elapsed,
        "peak_mb": peak_mb,
        "feasible": float(report.feasible),
    }
    if vs == "vroom":
        _compare_with_vroom(problem, line, summary)
    print(json.dumps(line), flush=True)
    return summary


def _compare_with_vroom(
    problem: Problem, line: dict[str, object], summary: dict[str, float]
) -> CheckReport:
    """VROOM on the same problem (the same matrices); its routes the checker rejects emptied."""
    vsolution, vraw, vsec = _vroom(problem)
    _, vreport = _feasible_part(problem, vsolution)
    line.update(
        vroom_served=vreport.served,
        vroom_detour_km=round(vreport.driver_detour_m / 1000.0, 4),
        vroom_seconds=round(vsec, 3),
        vroom_routes_rejected=sum(
            1 for a, b in zip(vraw.routes, vreport.routes, strict=True) if a.parcels != b.parcels
        ),
    )
    summary.update(
        vroom_served=float(vreport.served),
        vroom_detour_km=vreport.driver_detour_m / 1000.0,
        vroom_seconds=vsec,
    )
    return vreport


def road_travel(extract: Path, road_dir: Path) -> TravelTimeProvider:
    """Road travel times on ``extract`` (``routing.roads``: OSRM in process, the product's car
    profile), prepared once into ``road_dir`` and reused while the extract is the same."""
    from routing.roads import OsrmTravel, prepare_osrm

    return OsrmTravel(prepare_osrm(extract, road_dir).osrm_path)


def road_matrix(road: TravelTimeProvider, points: FloatArray) -> MatrixTravel:
    """The road matrix between every pair of ``points``, as explicit matrices (the solver's
    and VROOM's input). Two points on one road segment, the second just behind the first, may
    come out a few decimetres apart below zero: they are at the same place."""
    matrices = road.between(points, points)
    return MatrixTravel(
        points, np.maximum(matrices.duration_s, 0.0), np.maximum(matrices.distance_m, 0.0)
    )


@dataclass(frozen=True)
class BudgetBreaches:
    """Routes that carry parcels, re-checked: which break their driver's detour budget or a
    delivery window, and by how much (seconds over the budget)."""

    routes: int
    over_budget: int
    over_budget_s: tuple[float, ...]
    over_budget_pct: tuple[float, ...]
    missing_windows: int
    parcels_on_broken: int


def budget_breaches(problem: Problem, report: CheckReport) -> BudgetBreaches:
    """The checker's figures for every route of ``report`` against the budgets of ``problem``."""
    late = {
        int(v.split()[1].rstrip(":"))
        for v in report.violations
        if v.startswith("vehicle ") and "misses its" in v
    }
    over_s: list[float] = []
    over_pct: list[float] = []
    broken_parcels = 0
    used = 0
    for route in report.routes:
        if not route.parcels:
            continue
        used += 1
        budget = problem.vehicles[route.vehicle].max_detour_s
        over = budget is not None and route.detour_s > budget + 1e-6
        if over and budget is not None:
            over_s.append(route.detour_s - budget)
            over_pct.append(100.0 * (route.detour_s - budget) / max(budget, 1.0))
        if over or route.vehicle in late:
            broken_parcels += route.parcels
    return BudgetBreaches(
        routes=used,
        over_budget=len(over_s),
        over_budget_s=tuple(over_s),
        over_budget_pct=tuple(over_pct),
        missing_windows=len(late),
        parcels_on_broken=broken_parcels,
    )


def run_synthetic_map(
    extract: Path,
    drivers: int,
    parcels: int,
    seed: int,
    time_limit_s: float | None,
    vs: str | None,
    *,
    road_dir: Path = DEFAULT_ROAD_DIR,
    matrix_points: int = 1000,
    straight: HaversineTravel | None = None,
) -> dict[str, float]:
    """The store evening on ``extract``'s roads: road matrices for its points, our solve within
    the default limit counted from before the matrix (matrix + search), VROOM on the same
    matrix, the road plan re-checked (no route may break its budget), then the same evening
    planned on the straight line (``straight``, the product's fallback by default) and
    re-checked on road times. Last, the time of one road matrix over ``matrix_points``
    residential points."""
    from routing.places import read_places

    straight = straight or HaversineTravel(speed_kmh=30.0, circuity=1.3)
    places = read_places(extract)
    started = time.perf_counter()
    road = road_travel(extract, road_dir)
    prepare_s = time.perf_counter() - started
    evening = map_store_evening(places, drivers, parcels, seed)
    started = time.perf_counter()
    problem = with_travel(evening, road_matrix(road, evening.locations))
    matrix_s = time.perf_counter() - started
    limit = time_limit_s or max(1.0, _default_limit("synthetic", problem) - matrix_s)
    started = time.perf_counter()
    solution = solve(problem, time_limit_s=limit, seed=seed)
    solve_s = time.perf_counter() - started
    peak_mb = _peak_mb()
    report = check(problem, solution)
    on_road = budget_breaches(problem, report)
    line: dict[str, object] = {
        "instance": f"{extract.name.split('.')[0]}-{drivers}x{parcels}-seed{seed}",
        "served": report.served,
        "detour_km": round(report.driver_detour_m / 1000.0, 4),
        "seconds": round(matrix_s + solve_s, 3),
        "matrix_s": round(matrix_s, 3),
        "solve_s": round(solve_s, 3),
        "feasible": report.feasible,
        "road_routes_over_budget": on_road.over_budget,
        "road_prepare_s": round(prepare_s, 3),
        "peak_mb": round(peak_mb, 1),
    }
    summary = {
        "drivers": float(drivers),
        "parcels": float(parcels),
        "served": float(report.served),
        "detour_km": report.driver_detour_m / 1000.0,
        "seconds": matrix_s + solve_s,
        "matrix_s": matrix_s,
        "peak_mb": peak_mb,
        "feasible": float(report.feasible),
        "road_routes_over_budget": float(on_road.over_budget),
    }
    if vs == "vroom":
        vreport = _compare_with_vroom(problem, line, summary)
        ratio = (
            report.driver_detour_m / vreport.driver_detour_m
            if vreport.driver_detour_m > 0
            else math.nan
        )
        line["detour_vs_vroom"] = round(ratio, 4)
        summary["detour_vs_vroom"] = ratio
    # What the straight line costs: the same evening planned on it, then driven on the roads.
    planned_on = with_travel(evening, straight)
    planned = solve(planned_on, time_limit_s=limit, seed=seed)
    promised = check(planned_on, planned)
    driven = budget_breaches(problem, check(problem, planned))
    worst = max(driven.over_budget_s, default=0.0)
    line.update(
        straight_served=promised.served,
        straight_feasible=promised.feasible,
        straight_routes=driven.routes,
        straight_routes_over_budget=driven.over_budget,
        straight_over_budget_mean_s=round(statistics.fmean(driven.over_budget_s), 1)
        if driven.over_budget_s
        else 0.0,
        straight_over_budget_max_s=round(worst, 1),
        straight_over_budget_mean_pct=round(statistics.fmean(driven.over_budget_pct), 1)
        if driven.over_budget_pct
        else 0.0,
        straight_routes_missing_windows=driven.missing_windows,
        straight_parcels_on_broken_routes=driven.parcels_on_broken,
    )
    summary.update(
        straight_routes=float(driven.routes),
        straight_routes_over_budget=float(driven.over_budget),
        straight_over_budget_mean_s=float(line["straight_over_budget_mean_s"]),  # type: ignore[arg-type]
        straight_over_budget_max_s=worst,
        straight_routes_missing_windows=float(driven.missing_windows),
    )
    if matrix_points > 0:
        points = places.house_points(matrix_points, np.random.default_rng(seed)).points
        started = time.perf_counter()
        road_matrix(road, points)
        matrix_points_s = time.perf_counter() - started
        line.update(matrix_points=matrix_points, matrix_points_s=round(matrix_points_s, 3))
        summary.update(matrix_points=float(matrix_points), matrix_points_s=matrix_points_s)
    print(json.dumps(line), flush=True)
    return summary


def run_insertion(trips_count: int, requests: int, seed: int) -> dict[str, float]:
    """Time ``best_insertions`` of single parcels against ``trips_count`` store-evening trips,
    each already carrying the parcels our regret insertion gave it."""
    from routing.construct import regret_insertion
    from routing.insertion import RouteSet, Trip, TripParcel, best_insertions
    from routing.layout import build_layout

    problem = synthetic_store_evening(trips_count, 2 * trips_count, seed)
    layout = build_layout(problem)
    routes = regret_insertion(layout, seed=seed)
    points = problem.locations

    def as_trip_parcel(p: int) -> TripParcel:
        parcel = problem.parcels[p]
        return TripParcel(
            dropoff=(float(points[parcel.dropoff][0]), float(points[parcel.dropoff][1])),
            earliest_s=parcel.delivery_earliest_s,
            latest_s=parcel.delivery_latest_s,
            service_s=parcel.delivery_service_s,
            weight_kg=parcel.weight_kg,
            volume_l=parcel.volume_l,
            longest_side_cm=parcel.longest_side_cm,
        )

    # Requests: parcels our construction placed, taken back off their trips, so each one is
    # known to fit somewhere.
    served = sorted({int(layout.node_parcel[n]) for nodes in routes for n in nodes})
    rng = np.random.default_rng(seed)
    picks = rng.choice(served, size=min(requests, len(served)), replace=False)
    taken = {int(p) for p in picks}
    trips = []
    for v, nodes in enumerate(routes):
        vehicle = problem.vehicles[v]
        kept = [
            int(layout.node_parcel[n]) for n in nodes if int(layout.node_parcel[n]) not in taken
        ]
        trips.append(
            Trip(
                id=vehicle.id,
                start=(float(points[vehicle.start][0]), float(points[vehicle.start][1])),
                end=(float(points[vehicle.end][0]), float(points[vehicle.end][1])),
                earliest_departure_s=vehicle.earliest_start_s,
                latest_departure_s=vehicle.latest_start_s,
                max_detour_s=vehicle.max_detour_s or 0.0,
                capacity_weight_kg=vehicle.capacity_weight_kg,
                capacity_volume_l=vehicle.capacity_volume_l,
                max_longest_side_cm=vehicle.max_longest_side_cm,
                max_parcels=vehicle.max_parcels,
                parcels=tuple(as_trip_parcel(p) for p in kept),
            )
        )
    packed_ms: list[float] = []
    unpacked_ms: list[float] = []
    found = 0
    packed = RouteSet.from_trips(trips)
    for p in picks:
        request = as_trip_parcel(int(p))
        started = time.perf_counter()
        result = best_insertions(packed, request, problem.travel, k=5)
        packed_ms.append(1000.0 * (time.perf_counter() - started))
        started = time.perf_counter()
        best_insertions(trips, request, problem.travel, k=5)
        unpacked_ms.append(1000.0 * (time.perf_counter() - started))
        found += len(result)
    packed_ms.sort()
    summary = {
        "trips": float(trips_count),
        "requests": float(len(picks)),
        "mean_ms": statistics.fmean(packed_ms),
        "p95_ms": packed_ms[int(0.95 * (len(packed_ms) - 1))],
        "max_ms": packed_ms[-1],
        "mean_ms_from_trips": statistics.fmean(unpacked_ms),
        "max_ms_from_trips": max(unpacked_ms),
        "mean_offers": found / max(1, requests),
        "stops_on_trips": float(sum(len(t.parcels) for t in trips)),
    }
    print(json.dumps({k: round(v, 3) for k, v in summary.items()}), flush=True)
    return summary


_COUNTS = {
    "instances",
    "feasible",
    "drivers",
    "parcels",
    "served",
    "vroom_served",
    "vroom_feasible",
    "trips",
    "requests",
    "stops_on_trips",
    "road_routes_over_budget",
    "straight_routes",
    "straight_routes_over_budget",
    "straight_routes_missing_windows",
    "matrix_points",
}


def _summary_line(summary: dict[str, float]) -> str:
    parts = []
    for key, value in summary.items():
        if key in _COUNTS:
            parts.append(f"{key}={int(value)}")
        else:
            parts.append(f"{key}={_fmt(value)}")
    return "summary: " + " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing.bench", description=__doc__)
    sub = parser.add_subparsers(dest="kind", required=True)
    for kind, default in (("vrpod", DEFAULT_VRPOD), ("lilim", DEFAULT_LILIM)):
        p = sub.add_parser(kind)
        p.add_argument("folder", nargs="?", type=Path, default=default)
        p.add_argument("--pattern", default="*.txt", help="file glob inside the folder")
        p.add_argument("--limit", type=int, default=None, help="first N instances only")
    p = sub.add_parser("synthetic")
    p.add_argument("--drivers", type=int, default=200)
    p.add_argument("--parcels", type=int, default=400)
    p.add_argument(
        "--map",
        type=Path,
        default=None,
        help="an .osm.pbf extract: places from it, road travel times (OSRM, car)",
    )
    p.add_argument(
        "--road-dir",
        type=Path,
        default=DEFAULT_ROAD_DIR,
        help="where the extract's road data is prepared once (with --map)",
    )
    p.add_argument(
        "--matrix-points",
        type=int,
        default=1000,
        help="also time one road matrix over this many residential points (with --map; 0: no)",
    )
    p = sub.add_parser("insertion", help="time real-time insertion against many trips")
    p.add_argument("--trips", type=int, default=1000)
    p.add_argument("--requests", type=int, default=200)
    for p in sub.choices.values():
        p.add_argument("--time-limit", type=float, default=None, help="seconds per instance")
        p.add_argument("--vs", choices=["vroom"], default=None)
        p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.kind == "insertion":
        summary = run_insertion(args.trips, args.requests, args.seed)
    elif args.kind == "synthetic" and args.map is not None:
        summary = run_synthetic_map(
            args.map,
            args.drivers,
            args.parcels,
            args.seed,
            args.time_limit,
            args.vs,
            road_dir=args.road_dir,
            matrix_points=args.matrix_points,
        )
    elif args.kind == "synthetic":
        summary = run_synthetic(args.drivers, args.parcels, args.seed, args.time_limit, args.vs)
    else:
        source = vrpod_instances if args.kind == "vrpod" else lilim_instances
        instances = source(args.folder, args.pattern, args.limit)
        summary = run_reference_set(args.kind, instances, args.time_limit, args.vs, args.seed)
    print(_summary_line(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
