"""Decomposition of large store evenings into sectors, improved one after another.

With hundreds of drivers, each going home in its own direction, OR-Tools' local search on the
whole evening makes a few dozen moves per second: most of its time goes into moves between
drivers who could never share a parcel. Drivers heading the same way, with the parcels they carry
and the unserved parcels they could carry, form a much smaller problem whose search is fast.

``improve_by_sectors`` orders the vehicles by the bearing of where they go (a driver's home; a
van's parcels), then improves windows of consecutive vehicles one after another, each starting
from the current routes, in two passes whose windows overlap by half, so that a parcel on the
edge of one window is in the middle of another. A window's result replaces its routes only when it
is no worse; the whole solution is never worse than the one it started from.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from routing.layout import Layout, build_layout
from routing.model import Problem

FloatArray = npt.NDArray[np.float64]
Routes = list[list[int]]
SubSearch = Callable[[Problem, Layout, Routes, float], Routes]


def _bearings(problem: Problem, layout: Layout, routes: Routes) -> FloatArray:
    """Bearing of each vehicle's destination seen from its start (for closed routes: of the
    mean of its drop-offs; 0 when it has none)."""
    points = problem.locations
    out = np.zeros(len(problem.vehicles))
    for v, vehicle in enumerate(problem.vehicles):
        origin = points[vehicle.start]
        if vehicle.end != vehicle.start:
            target = points[vehicle.end]
        elif routes[v]:
            drops = [problem.parcels[int(layout.node_parcel[n])].dropoff for n in routes[v]]
            target = points[drops].mean(axis=0)
        else:
            continue
        out[v] = math.atan2(float(target[1] - origin[1]), float(target[0] - origin[0]))
    return out


def _subproblem(problem: Problem, vehicles: list[int], parcels: list[int]) -> Problem:
    vehicle_ids = {problem.vehicles[v].id for v in vehicles}
    parcel_ids = {problem.parcels[p].id for p in parcels}
    pinned = {p: v for p, v in problem.pinned.items() if p in parcel_ids and v in vehicle_ids}
    sub = replace(
        problem,
        vehicles=tuple(problem.vehicles[v] for v in vehicles),
        parcels=tuple(problem.parcels[p] for p in parcels),
        pinned=MappingProxyType(pinned),
    )
    sub.__dict__["matrices"] = problem.matrices  # same locations: reuse the travel matrices
    return sub


def improve_by_sectors(
    problem: Problem,
    layout: Layout,
    routes: Routes,
    time_limit_s: float,
    window: int,
    search: SubSearch,
    objective: Callable[[Layout, Routes], float],
    passes: int = 2,
) -> tuple[Routes, int]:
    """Improve ``routes`` (nodes of a "loaded at start" layout, where node = parcel index)
    window by window until ``time_limit_s``; see the module docstring. Returns the routes and
    the number of windows searched."""
    deadline = time.perf_counter() + time_limit_s
    n_v = len(problem.vehicles)
    if not layout.loaded_at_start or n_v <= window:
        return routes, 0
    routes = [list(r) for r in routes]
    order = np.argsort(_bearings(problem, layout, routes), kind="stable")
    starts = [
        first for shift in range(passes) for first in range(shift * window // passes, n_v, window)
    ]
    searched = 0
    for i, first in enumerate(starts):
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        share = left / (len(starts) - i)
        members = [int(order[(first + k) % n_v]) for k in range(window)]
        served = {int(layout.node_parcel[n]) for r in routes for n in r}
        carried = [int(layout.node_parcel[n]) for v in members for n in routes[v]]
        reachable = layout.allowed[members].any(axis=0)
        waiting = [p for p in np.flatnonzero(reachable).tolist() if p not in served]
        parcels = carried + waiting
        if not parcels:
            continue
        sub = _subproblem(problem, members, parcels)
        sub_layout = build_layout(sub)
        local = {p: q for q, p in enumerate(parcels)}
        start = [[local[int(layout.node_parcel[n])] for n in routes[v]] for v in members]
        before = objective(sub_layout, start)
        improved = search(sub, sub_layout, start, share)
        searched += 1
        if objective(sub_layout, improved) > before:
            continue
        for v, nodes in zip(members, improved, strict=True):
            routes[v] = [parcels[q] for q in nodes]
    return routes, searched
