"""The same problem solved by VROOM (pyvroom), a benchmark-only yardstick.

Translation: vehicle costs become per-profile integer cost matrices (cost_per_m × distance, and
for drivers with a compensation scheme, the compensation on the arc into the customer); the
pruned vehicle × parcel pairs become skills (each parcel requires its own skill, held by the
vehicles allowed to carry it); parcels loaded at the store become VROOM jobs (delivered from
the load taken at departure), others shipments. A driver's detour budget becomes
``max_travel_time`` = direct drive + budget, with service times folded into the travel times so
that the limit covers them as ours does (VROOM does not count waiting there: the checker
decides whether its routes hold). The solution goes back into our ``Solution`` type so the
checker can judge it like ours.
"""

from __future__ import annotations

import math
import time

import numpy as np
import vroom

from routing.layout import build_layout
from routing.model import Problem, Route, Solution, Stop, StopKind

MAX_INT32 = 2**31 - 1


def _scale(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if len(finite) else 1.0
    return 100.0 if top < 1e5 else 1.0


def solve_with_vroom(
    problem: Problem, *, exploration_level: int = 5, threads: int = 1
) -> tuple[Solution, float]:
    """Solve ``problem`` with VROOM; returns the solution and VROOM's solve time in seconds."""
    layout = build_layout(problem)
    matrices = problem.matrices
    n_loc = len(problem.locations)
    time_scale = _scale(matrices.duration_s)
    cost_scale = 1000.0 if float(matrices.distance_m.max(initial=0.0)) < 1e4 else 1.0
    parcels, vehicles = problem.parcels, problem.vehicles

    service_at = np.zeros(n_loc)
    for p in parcels:
        service_at[p.dropoff] = max(service_at[p.dropoff], p.delivery_service_s)
        if not layout.loaded_at_start:
            service_at[p.pickup] = max(service_at[p.pickup], p.pickup_service_s)
    durations = np.ceil((matrices.duration_s + service_at[:, None]) * time_scale - 1e-9)
    np.fill_diagonal(durations, 0)
    durations_int = durations.astype(np.int64)

    def t(value: float, default: int) -> int:
        if not math.isfinite(value):
            return default
        return int(max(0, math.floor(value * time_scale)))

    offset = min(
        [v.earliest_start_s for v in vehicles if math.isfinite(v.earliest_start_s)]
        + [p.delivery_earliest_s for p in parcels if math.isfinite(p.delivery_earliest_s)]
        + [p.pickup_earliest_s for p in parcels if math.isfinite(p.pickup_earliest_s)]
        + [0.0]
    )
    horizon = MAX_INT32 // 2

    def window(lo: float, hi: float) -> vroom.TimeWindow:
        start = 0 if not math.isfinite(lo) else t(lo - offset, 0)
        end = horizon if not math.isfinite(hi) else t(hi - offset, horizon)
        return vroom.TimeWindow(start, max(start, end))

    # Skills carry only what VROOM cannot see itself: allowed lists, pins and sizes.
    static = np.ones(layout.allowed.shape, dtype=bool)
    for v, vehicle in enumerate(vehicles):
        for p_index, item in enumerate(parcels):
            static[v, p_index] = (
                (vehicle.allowed_parcels is None or item.id in vehicle.allowed_parcels)
                and problem.pinned.get(item.id, vehicle.id) == vehicle.id
                and item.longest_side_cm <= vehicle.max_longest_side_cm
            )
    use_skills = not bool(static.all())

    problem_input = vroom.Input()
    profiles: dict[tuple[float, bytes], str] = {}
    weight_scale = 1000
    for v, vehicle in enumerate(vehicles):
        key = (vehicle.cost_per_m, layout.compensation[v].tobytes())
        if key not in profiles:
            name = f"p{len(profiles)}"
            profiles[key] = name
            costs = np.rint(vehicle.cost_per_m * matrices.distance_m * cost_scale)
            for parcel_index, amount in enumerate(layout.compensation[v]):
                if amount:
                    costs[:, parcels[parcel_index].dropoff] += round(amount * cost_scale)
            np.fill_diagonal(costs, 0)
            problem_input.set_durations_matrix(profile=name, matrix_input=durations_int)
            problem_input.set_costs_matrix(profile=name, matrix_input=costs.astype(np.int64))
        allowed_skills = {int(p) + 1 for p in np.flatnonzero(static[v])} if use_skills else set()
        capacity = [
            int(min(MAX_INT32, math.floor(c * weight_scale))) if math.isfinite(c) else MAX_INT32
            for c in (vehicle.capacity_weight_kg, vehicle.capacity_volume_l)
        ]
        kwargs: dict[str, object] = {}
        if vehicle.max_parcels is not None:
            kwargs["max_tasks"] = vehicle.max_parcels * (1 if layout.loaded_at_start else 2)
        latest_end = vehicle.latest_end_s
        if layout.span_limit_s[v] < math.inf:
            kwargs["max_travel_time"] = int(math.floor(layout.span_limit_s[v] * time_scale))
            # Home no later than the last departure plus the direct drive plus the budget.
            latest_end = min(latest_end, vehicle.latest_start_s + layout.span_limit_s[v])
        problem_input.add_vehicle(
            vroom.Vehicle(
                id=v,
                start=vehicle.start,
                end=vehicle.end,
                profile=profiles[key],
                capacity=capacity,
                skills=allowed_skills,
                time_window=window(vehicle.earliest_start_s, latest_end),
                **kwargs,
            )
        )
    for index, parcel in enumerate(parcels):
        amount = [
            int(math.ceil(parcel.weight_kg * weight_scale)),
            int(math.ceil(parcel.volume_l * weight_scale)),
        ]
        skills = {index + 1} if use_skills else set()
        if layout.loaded_at_start:
            problem_input.add_job(
                vroom.Job(
                    id=index,
                    location=parcel.dropoff,
                    delivery=vroom.Amount(amount),
                    skills=skills,
                    time_windows=[window(parcel.delivery_earliest_s, parcel.delivery_latest_s)],
                )
            )
        else:
            problem_input.add_shipment(
                pickup=vroom.ShipmentStep(
                    id=index,
                    location=parcel.pickup,
                    time_windows=[window(parcel.pickup_earliest_s, parcel.pickup_latest_s)],
                ),
                delivery=vroom.ShipmentStep(
                    id=index,
                    location=parcel.dropoff,
                    time_windows=[window(parcel.delivery_earliest_s, parcel.delivery_latest_s)],
                ),
                amount=vroom.Amount(amount),
                skills=skills,
            )
    started = time.perf_counter()
    result = problem_input.solve(exploration_level=exploration_level, nb_threads=threads)
    elapsed = time.perf_counter() - started
    steps = np.asarray(result._routes_numpy())
    by_vehicle: dict[int, list[Stop]] = {v: [] for v in range(len(vehicles))}
    loaded: dict[int, list[int]] = {v: [] for v in range(len(vehicles))}
    for row in steps:
        kind = row["type"].decode() if isinstance(row["type"], bytes) else str(row["type"])
        v = int(row["vehicle_id"])
        if kind == "job":
            loaded[v].append(int(row["id"]))
        elif kind == "pickup":
            by_vehicle[v].append(Stop(parcel=int(row["id"]), kind=StopKind.PICKUP))
        elif kind == "delivery":
            by_vehicle[v].append(Stop(parcel=int(row["id"]), kind=StopKind.DROPOFF))
    routes: list[Route] = []
    served: set[int] = set()
    for v in range(len(vehicles)):
        if layout.loaded_at_start:
            stops = [Stop(parcel=p, kind=StopKind.PICKUP) for p in loaded[v]]
            stops += [Stop(parcel=p, kind=StopKind.DROPOFF) for p in loaded[v]]
        else:
            stops = by_vehicle[v]
        served.update(s.parcel for s in stops)
        routes.append(Route(vehicle=v, stops=tuple(stops)))
    unserved = tuple(p for p in range(len(parcels)) if p not in served)
    return Solution(routes=tuple(routes), unserved=unserved), elapsed
