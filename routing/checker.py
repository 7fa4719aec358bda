"""An independent checker: validates any solution against its problem and recomputes its cost.

It shares no code with the solver or the construction heuristic (only the problem's travel
matrices), so a bug there cannot hide itself here. Each route is timed with the departure that
minimises its duration: leave at the earliest allowed time, then delay departure by as much as
the waiting on the way allows without breaking any later window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from routing.model import Problem, Solution, StopKind, VehicleKind

TOLERANCE = 1e-6


@dataclass(frozen=True)
class RouteReport:
    """Figures for one route: distances in metres (or units), times in seconds."""

    vehicle: int
    parcels: int
    distance_m: float
    direct_distance_m: float
    departure_s: float
    arrival_s: float
    duration_s: float
    detour_s: float
    detour_m: float
    cost: float
    stop_begin_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class CheckReport:
    """``feasible`` is True when ``violations`` is empty; ``cost`` includes unserved penalties."""

    violations: tuple[str, ...]
    cost: float
    served: int
    unserved: int
    routes: tuple[RouteReport, ...] = field(default=())

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def driver_detour_m(self) -> float:
        return sum(r.detour_m for r in self.routes)


def _slack(tolerance: float, *values: float) -> float:
    scale = max([1.0] + [abs(v) for v in values if math.isfinite(v)])
    return tolerance * scale


def check(problem: Problem, solution: Solution, tolerance: float = TOLERANCE) -> CheckReport:
    """Validate ``solution`` and recompute its cost.

    Checks: every route belongs to a distinct existing vehicle; each parcel is picked up and
    dropped off exactly once, by the same vehicle, pickup first, or not at all (and only if it
    is optional); every capacity dimension (weight, volume, longest side, parcel count) holds at
    every point; every time window, departure window, shift end and detour budget holds; pinned
    parcels ride their vehicle; allowed-parcel lists hold. Never raises on a bad solution:
    the problems are listed in ``violations``.
    """
    violations: list[str] = []
    duration = problem.matrices.duration_s
    distance = problem.matrices.distance_m
    n_parcels = len(problem.parcels)
    picked_by: dict[int, int] = {}
    dropped_by: dict[int, int] = {}
    seen_vehicles: set[int] = set()
    reports: list[RouteReport] = []
    total_cost = 0.0

    for route in solution.routes:
        v = route.vehicle
        if not 0 <= v < len(problem.vehicles):
            violations.append(f"route for unknown vehicle {v}")
            continue
        if v in seen_vehicles:
            violations.append(f"vehicle {v} has more than one route")
        seen_vehicles.add(v)
        vehicle = problem.vehicles[v]
        weight = volume = 0.0
        on_board: set[int] = set()
        carried = 0
        # Times: nodes are start, stops..., end.
        locations = [vehicle.start]
        earliest = [vehicle.earliest_start_s]
        latest = [vehicle.latest_start_s]
        service = [0.0]
        compensation = 0.0
        for stop in route.stops:
            p = stop.parcel
            if not 0 <= p < n_parcels:
                violations.append(f"vehicle {v}: unknown parcel {p}")
                continue
            parcel = problem.parcels[p]
            if stop.kind is StopKind.PICKUP:
                if p in picked_by:
                    violations.append(f"parcel {parcel.id} picked up twice")
                picked_by[p] = v
                on_board.add(p)
                weight += parcel.weight_kg
                volume += parcel.volume_l
                locations.append(parcel.pickup)
                earliest.append(parcel.pickup_earliest_s)
                latest.append(parcel.pickup_latest_s)
                service.append(parcel.pickup_service_s)
                if parcel.longest_side_cm > vehicle.max_longest_side_cm + _slack(
                    tolerance, vehicle.max_longest_side_cm
                ):
                    violations.append(f"vehicle {v}: parcel {parcel.id} is too long")
                if vehicle.allowed_parcels is not None and parcel.id not in vehicle.allowed_parcels:
                    violations.append(f"vehicle {v}: parcel {parcel.id} is not allowed")
                pinned_to = problem.pinned.get(parcel.id)
                if pinned_to is not None and pinned_to != vehicle.id:
                    violations.append(f"parcel {parcel.id} is pinned to vehicle {pinned_to}")
            else:
                if p in dropped_by:
                    violations.append(f"parcel {parcel.id} dropped off twice")
                dropped_by[p] = v
                if p not in on_board:
                    violations.append(
                        f"vehicle {v}: parcel {parcel.id} dropped off before its pickup"
                    )
                else:
                    on_board.discard(p)
                    weight -= parcel.weight_kg
                    volume -= parcel.volume_l
                carried += 1
                compensation += vehicle.compensation_for(parcel.id)
                locations.append(parcel.dropoff)
                earliest.append(parcel.delivery_earliest_s)
                latest.append(parcel.delivery_latest_s)
                service.append(parcel.delivery_service_s)
            if weight > vehicle.capacity_weight_kg + _slack(tolerance, vehicle.capacity_weight_kg):
                violations.append(f"vehicle {v}: weight {weight:g} kg over capacity")
            if volume > vehicle.capacity_volume_l + _slack(tolerance, vehicle.capacity_volume_l):
                violations.append(f"vehicle {v}: volume {volume:g} l over capacity")
        if on_board:
            violations.append(f"vehicle {v}: parcels picked up but never dropped off")
        if vehicle.max_parcels is not None and carried > vehicle.max_parcels:
            violations.append(f"vehicle {v}: {carried} parcels, at most {vehicle.max_parcels}")
        locations.append(vehicle.end)
        earliest.append(-math.inf)
        latest.append(vehicle.latest_end_s)
        service.append(0.0)

        # Forward pass from the earliest departure.
        if math.isfinite(vehicle.earliest_start_s):
            begin = [vehicle.earliest_start_s]
        else:
            begin = [min(0.0, vehicle.latest_start_s)]
        waiting_total = 0.0
        delay_room = math.inf  # how far departure can slip before a later window breaks
        route_distance = 0.0
        time_ok = True
        for k in range(1, len(locations)):
            a, b = locations[k - 1], locations[k]
            route_distance += float(distance[a, b])
            arrival = begin[k - 1] + service[k - 1] + float(duration[a, b])
            start_service = max(arrival, earliest[k])
            # Times may be epoch seconds: the slack scales with the leg, not with the clock.
            if start_service > latest[k] + _slack(tolerance, float(duration[a, b])):
                time_ok = False
                what = "end of shift" if k == len(locations) - 1 else "window"
                violations.append(
                    f"vehicle {v}: stop {k} misses its {what} "
                    f"({start_service:.3f} > {latest[k]:.3f})"
                )
            waiting_total += start_service - arrival
            delay_room = min(delay_room, latest[k] - start_service + waiting_total)
            begin.append(start_service)
        departure_room = vehicle.latest_start_s - begin[0]
        delay = max(0.0, min(departure_room, waiting_total, delay_room)) if time_ok else 0.0
        departure = begin[0] + delay
        arrival_end = begin[-1]
        route_duration = arrival_end - departure
        direct_s = float(duration[vehicle.start, vehicle.end])
        direct_m = float(distance[vehicle.start, vehicle.end])
        empty = not route.stops
        if vehicle.kind is VehicleKind.DRIVER:
            detour_s = 0.0 if empty else route_duration - direct_s
            detour_m = 0.0 if empty else route_distance - direct_m
            cost = vehicle.cost_per_m * detour_m + compensation
            budget = vehicle.max_detour_s
            if (
                budget is not None
                and not empty
                and detour_s > budget + _slack(tolerance, budget, route_duration)
            ):
                violations.append(f"vehicle {v}: detour {detour_s:.1f} s over budget {budget} s")
        else:
            detour_s = detour_m = 0.0
            cost = 0.0 if empty else vehicle.fixed_cost + vehicle.cost_per_m * route_distance
            cost += compensation
        total_cost += cost
        reports.append(
            RouteReport(
                vehicle=v,
                parcels=carried,
                distance_m=0.0 if empty else route_distance,
                direct_distance_m=direct_m,
                departure_s=departure,
                arrival_s=arrival_end,
                duration_s=0.0 if empty else route_duration,
                detour_s=detour_s,
                detour_m=detour_m,
                cost=cost,
                stop_begin_s=tuple(begin[1:-1]),
            )
        )

    served = 0
    for p, parcel in enumerate(problem.parcels):
        if p in dropped_by and p in picked_by and dropped_by[p] != picked_by[p]:
            violations.append(f"parcel {parcel.id} picked up and dropped off by different vehicles")
        if p in dropped_by:
            served += 1
        else:
            if p in picked_by:
                continue  # already reported as never dropped off
            if parcel.penalty is None:
                violations.append(f"mandatory parcel {parcel.id} is not served")
            elif parcel.id in problem.pinned:
                violations.append(f"pinned parcel {parcel.id} is not served")
            else:
                total_cost += parcel.penalty
    listed_unserved = set(solution.unserved)
    for p in listed_unserved:
        if p in dropped_by:
            violations.append(f"parcel {p} is listed unserved but is served")
    return CheckReport(
        violations=tuple(violations),
        cost=total_cost,
        served=served,
        unserved=n_parcels - served,
        routes=tuple(reports),
    )
