"""Exact re-assignment of parcels to single-stop drivers, between rounds of local search.

A single-stop driver (room for one parcel, loaded at the store) carries a parcel on a route of its
own: start → drop-off → home. Its cost and feasibility for each parcel do not depend on anything
else, so choosing which parcels such drivers take, given the other routes, is an assignment
problem, which OR-Tools' moves only approach one or two parcels at a time (moving a parcel to a
driver who already carries one needs a chain of moves that each look worse).

``reassign`` prices every option of every parcel that some single-stop driver can take — each
such driver, the other routes (its marginal cost there: the saving of removing it, or its cheapest
feasible insertion), or unserved (its penalty) — and solves the assignment exactly
(``scipy.optimize.linear_sum_assignment``). Marginal route costs are exact one parcel at a time
only, so the assignment is applied, the routes' real cost computed, and the result kept only when
lower; the solver then hands it to the next round of local search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from routing.construct import RegretInsertion
from routing.layout import Layout
from routing.schedule import time_routes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

EPSILON = 1e-6
MANDATORY_UNSERVED_COST = 1e9  # leaving out a parcel that must be served, in cost units
FORBIDDEN = 1e18  # an option that cannot be taken (finite: the assignment solver needs numbers)


@dataclass(frozen=True)
class SingleStop:
    """The single-stop drivers of a layout and what each would cost with each parcel."""

    vehicles: IntArray  # (K,) vehicle indices
    cost: FloatArray  # (K, P) cost of vehicle k carrying parcel p alone; inf when it cannot


def single_stop_drivers(layout: Layout) -> SingleStop | None:
    """The drivers with room for exactly one parcel, with the exact cost of each (driver,
    parcel) pair (windows, span and size included), or None when there are none or when no
    other vehicle exists (then there is nothing to choose between)."""
    lay = layout
    mask = lay.is_driver & (lay.max_parcels == 1)
    if not lay.loaded_at_start or lay.n_parcels == 0 or not mask.any() or mask.all():
        return None
    ks = np.flatnonzero(mask)
    n_k, n_p = len(ks), lay.n_parcels
    drop = lay.dropoff_node
    start, end = lay.start_node[ks], lay.end_node[ks]
    legs = np.stack(
        [lay.duration_s[start][:, drop], lay.duration_s[np.ix_(drop, end)].T], axis=-1
    )  # (K, P, 2)
    earliest = np.stack(
        [
            np.broadcast_to(lay.earliest_start_s[ks, None], (n_k, n_p)),
            np.broadcast_to(lay.node_earliest_s[drop][None, :], (n_k, n_p)),
            np.full((n_k, n_p), -np.inf),
        ],
        axis=-1,
    )
    latest = np.stack(
        [
            np.broadcast_to(lay.latest_start_s[ks, None], (n_k, n_p)),
            np.broadcast_to(lay.node_latest_s[drop][None, :], (n_k, n_p)),
            np.broadcast_to(lay.latest_end_s[ks, None], (n_k, n_p)),
        ],
        axis=-1,
    )
    service = np.zeros((n_k, n_p, 3))
    service[..., 1] = lay.node_service_s[drop][None, :]
    schedule = time_routes(legs, earliest, latest, service)
    span_limit = lay.span_limit_s[ks, None]
    feasible = (
        lay.allowed[ks]
        & schedule.feasible
        & (schedule.span_s <= span_limit + EPSILON * np.maximum(1.0, schedule.span_s))
    )
    detour_m = (
        lay.distance_m[start][:, drop]
        + lay.distance_m[np.ix_(drop, end)].T
        - lay.distance_m[start, end][:, None]
    )
    cost = lay.cost_per_m[ks, None] * detour_m + lay.compensation[ks]
    return SingleStop(vehicles=ks, cost=np.where(feasible, cost, np.inf))


def route_cost_of(layout: Layout, v: int, nodes: list[int]) -> float:
    lay = layout
    if not nodes:
        return 0.0
    path = np.array([lay.start_node[v], *nodes, lay.end_node[v]], dtype=np.intp)
    cost = float(lay.cost_per_m[v] * lay.distance_m[path[:-1], path[1:]].sum())
    delivered = [n for n in nodes if not lay.node_is_pickup[n]]  # each parcel once
    cost += float(lay.compensation[v, lay.node_parcel[delivered]].sum())
    if lay.is_driver[v]:
        cost -= float(lay.cost_per_m[v] * lay.direct_m[v])  # the commute happens anyway
    else:
        cost += float(lay.fixed_cost[v])
    return cost


def total_cost(layout: Layout, routes: list[list[int]]) -> float:
    """The objective of ``routes`` (vehicle costs plus penalties of the parcels left out)."""
    served = np.zeros(layout.n_parcels, dtype=bool)
    cost = 0.0
    for v, nodes in enumerate(routes):
        cost += route_cost_of(layout, v, nodes)
        served[layout.node_parcel[nodes]] = True
    penalty = layout.penalty[~served]
    return cost + float(np.where(np.isfinite(penalty), penalty, MANDATORY_UNSERVED_COST).sum())


def reassign(
    layout: Layout, single: SingleStop, routes: list[list[int]], steps: int = 4
) -> list[list[int]] | None:
    """Routes whose objective is lower than that of ``routes`` after re-choosing, up to
    ``steps`` times, which parcels the single-stop drivers take; None when no step helped."""
    best_cost = total_cost(layout, routes)
    best: list[list[int]] | None = None
    current = routes
    learned: dict[int, float] = {}
    for _ in range(steps):
        step = _assignment_step(layout, single, current, learned)
        if step is None:
            break
        proposal, inserted = step
        cost = total_cost(layout, proposal)
        if cost < best_cost - EPSILON * max(1.0, abs(best_cost)):
            best, best_cost, current = proposal, cost, proposal
            learned = {}
            continue
        # Not better: a parcel inserted next to one that left at the same time was priced too
        # low. Price such parcels at what they really cost in the proposal and try again.
        changed = False
        for p in inserted:
            real = _marginal_cost(layout, proposal, p)
            if real > learned.get(p, -np.inf) + EPSILON:
                learned[p] = real
                changed = True
        if not changed:
            break
    return best


def _marginal_cost(layout: Layout, routes: list[list[int]], parcel: int) -> float:
    for v, nodes in enumerate(routes):
        kept = [n for n in nodes if int(layout.node_parcel[n]) != parcel]
        if len(kept) != len(nodes):
            return route_cost_of(layout, v, nodes) - route_cost_of(layout, v, kept)
    return 0.0


def _assignment_step(
    layout: Layout, single: SingleStop, routes: list[list[int]], learned: dict[int, float]
) -> tuple[list[list[int]], list[int]] | None:
    """One assignment: a different choice of which parcels the single-stop drivers take (and
    the parcels it inserts into the other routes), or None when the current one is already the
    best the assignment can see. ``learned`` raises the price of inserting some parcels."""
    lay = layout
    options = _route_options(layout, single, routes, learned)
    if options is None:
        return None
    parcels, route_cost, holder, is_single = options

    # Assignment: rows = parcels; columns = single-stop drivers, then one "other routes" and one
    # "unserved" column per parcel.
    n_r, n_k = len(parcels), len(single.vehicles)
    matrix = np.full((n_r, n_k + 2 * n_r), FORBIDDEN)
    pair_cost = single.cost[:, parcels].T
    matrix[:, :n_k] = np.where(np.isfinite(pair_cost), pair_cost, FORBIDDEN)
    rows = np.arange(n_r)
    matrix[rows, n_k + rows] = np.where(np.isfinite(route_cost), route_cost, FORBIDDEN)
    penalty = lay.penalty[parcels]
    matrix[rows, n_k + n_r + rows] = np.where(np.isfinite(penalty), penalty, FORBIDDEN)

    # The current choice, in the same terms.
    current_col = np.empty(n_r, dtype=np.intp)
    k_of_vehicle = {int(v): k for k, v in enumerate(single.vehicles)}
    for i, p in enumerate(parcels):
        v = holder[p]
        if v >= 0 and is_single[v]:
            current_col[i] = k_of_vehicle[int(v)]
        elif v >= 0:
            current_col[i] = n_k + i
        else:
            current_col[i] = n_k + n_r + i
    current = float(matrix[rows, current_col].sum())
    chosen_rows, chosen_cols = linear_sum_assignment(matrix)
    best = float(matrix[chosen_rows, chosen_cols].sum())
    if best >= FORBIDDEN or best >= current - EPSILON * max(1.0, abs(current)):
        return None
    choice = np.empty(n_r, dtype=np.intp)
    choice[chosen_rows] = chosen_cols
    if np.array_equal(choice, current_col):
        return None

    # Apply: take the moving parcels out, seat the single-stop drivers, insert the rest.
    involved = {int(p) for p in parcels}
    new_routes = [list(r) for r in routes]
    for v in single.vehicles:
        if new_routes[v] and int(lay.node_parcel[new_routes[v][0]]) in involved:
            new_routes[v] = []
    moving = set()
    for i, p in enumerate(parcels):
        if choice[i] != current_col[i]:
            moving.add(int(p))
    for v in np.flatnonzero(~is_single):
        new_routes[v] = [n for n in new_routes[v] if int(lay.node_parcel[n]) not in moving]
    to_insert: list[int] = []
    for i, p in enumerate(parcels):
        c = int(choice[i])
        if c < n_k:
            new_routes[single.vehicles[c]] = [int(lay.dropoff_node[p])]
        elif c < n_k + n_r and int(p) in moving:
            to_insert.append(int(p))
    builder = RegretInsertion.from_routes(lay, new_routes)
    others = np.flatnonzero(~is_single)
    for p in to_insert:
        best_cost, best_v, best_row = np.inf, -1, -1
        for v in others:
            if not lay.allowed[v, p]:
                continue
            cost, row = builder.evaluate(int(v), np.array([p], dtype=np.intp))
            if cost[0] < best_cost:
                best_cost, best_v, best_row = float(cost[0]), int(v), int(row[0])
        if best_v < 0:
            if not np.isfinite(lay.penalty[p]):
                return None  # a parcel that must be served would be dropped
            continue
        builder.insert(best_v, p, best_row)
    for v in others:
        new_routes[v] = builder.routes[v]
    return new_routes, to_insert


def _route_options(
    layout: Layout, single: SingleStop, routes: list[list[int]], learned: dict[int, float]
) -> tuple[IntArray, FloatArray, IntArray, npt.NDArray[np.bool_]] | None:
    """The parcels some single-stop driver can take, each one's cost on the other routes (what
    it costs where it is, or its cheapest feasible insertion), who holds each parcel (-1: no
    one) and which vehicles are single-stop drivers."""
    lay = layout
    n_v, n_p = len(lay.start_node), lay.n_parcels
    is_single = np.zeros(n_v, dtype=bool)
    is_single[single.vehicles] = True
    holder = np.full(n_p, -1, dtype=np.intp)
    position = np.full(n_p, -1, dtype=np.intp)
    for v, nodes in enumerate(routes):
        for i, node in enumerate(nodes):
            holder[lay.node_parcel[node]] = v
            position[lay.node_parcel[node]] = i
    parcels = np.flatnonzero(np.isfinite(single.cost).any(axis=0))
    if len(parcels) == 0:
        return None

    # Cost of each parcel's "other routes" option: what it costs where it is, or its cheapest
    # feasible insertion into the other vehicles' current routes.
    route_cost = np.full(len(parcels), np.inf)
    builder = RegretInsertion.from_routes(
        lay, [[] if is_single[v] else r for v, r in enumerate(routes)]
    )
    outside = [i for i, p in enumerate(parcels) if holder[p] < 0 or is_single[holder[p]]]
    if outside:
        candidates = parcels[outside]
        for v in np.flatnonzero(~is_single):
            ok = lay.allowed[v, candidates]
            if not ok.any():
                continue
            cost, _ = builder.evaluate(int(v), candidates[ok])
            sub = np.asarray(outside)[ok]
            route_cost[sub] = np.minimum(route_cost[sub], cost)
        for i in outside:
            route_cost[i] = max(route_cost[i], learned.get(int(parcels[i]), -np.inf))
    for i, p in enumerate(parcels):
        v = holder[p]
        if v >= 0 and not is_single[v]:
            nodes = routes[v]
            without = nodes[: position[p]] + nodes[position[p] + 1 :]
            route_cost[i] = route_cost_of(lay, int(v), nodes) - route_cost_of(lay, int(v), without)

    return parcels, route_cost, holder, is_single
