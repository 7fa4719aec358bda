"""The node layout shared by the construction heuristic and the OR-Tools model.

Nodes are the parcels' stops followed by the vehicles' start and end locations (one node per
distinct location). When every parcel is picked up where every vehicle starts (the store), with
no pickup service time or pickup window that could bind, parcels are loaded at departure and get
a drop-off node only ("loaded at start"); otherwise each parcel has its own pickup node and its
own drop-off node.

Pruning: ``allowed[v, p]`` is False when vehicle v can certainly not carry parcel p, even alone:
its size, the allowed list, the pin, its windows from the earliest departure, the shift end, or a
lower bound on the detour (travel plus service, no waiting) over the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routing.model import Problem, VehicleKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Layout:
    loaded_at_start: bool
    n_parcels: int
    n_nodes: int
    node_location: IntArray
    node_parcel: IntArray  # -1 for depot nodes
    node_is_pickup: BoolArray
    node_earliest_s: FloatArray
    node_latest_s: FloatArray
    node_service_s: FloatArray
    node_weight_kg: FloatArray  # signed: + when loaded, - when unloaded (PDP); + at drop-off
    node_volume_l: FloatArray
    pickup_node: IntArray  # -1 when loaded at start
    dropoff_node: IntArray
    start_node: IntArray
    end_node: IntArray
    duration_s: FloatArray  # between nodes
    distance_m: FloatArray
    allowed: BoolArray  # (V, P)
    compensation: FloatArray  # (V, P)
    penalty: FloatArray  # (P,), inf when the parcel must be served
    cost_per_m: FloatArray
    fixed_cost: FloatArray
    is_driver: BoolArray
    direct_s: FloatArray
    direct_m: FloatArray
    span_limit_s: FloatArray  # direct + detour budget; inf when none
    capacity_weight_kg: FloatArray
    capacity_volume_l: FloatArray
    max_parcels: FloatArray  # inf when none
    earliest_start_s: FloatArray
    latest_start_s: FloatArray
    latest_end_s: FloatArray


def _loaded_at_start(problem: Problem) -> bool:
    if not problem.parcels or not problem.vehicles:
        return True
    locations = problem.locations
    starts = locations[[v.start for v in problem.vehicles]]
    if not np.all(starts == starts[0]):
        return False
    pickups = locations[[p.pickup for p in problem.parcels]]
    if not np.all(pickups == starts[0]):
        return False
    first_departure = min(v.earliest_start_s for v in problem.vehicles)
    last_departure = max(v.latest_start_s for v in problem.vehicles)
    return all(
        p.pickup_service_s == 0
        and p.pickup_earliest_s <= first_departure
        and p.pickup_latest_s >= last_departure
        for p in problem.parcels
    )


def refused(problem: Problem) -> BoolArray:
    """(V, P): the vehicle may not take the parcel whatever the route — too long for it, not on
    its allowed list, or pinned to another vehicle."""
    side = np.array([p.longest_side_cm for p in problem.parcels], dtype=np.float64)
    limit = np.array([v.max_longest_side_cm for v in problem.vehicles], dtype=np.float64)
    out = side[None, :] > limit[:, None]
    index = problem.parcel_index
    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.allowed_parcels is not None:
            listed = np.zeros(len(index), dtype=bool)
            listed[[index[i] for i in vehicle.allowed_parcels if i in index]] = True
            out[v] |= ~listed
    for parcel_id, vehicle_id in problem.pinned.items():
        out[:, index[parcel_id]] = True
        out[problem.vehicle_index[vehicle_id], index[parcel_id]] = False
    return out


def build_layout(problem: Problem) -> Layout:
    parcels, vehicles = problem.parcels, problem.vehicles
    n_p, n_v = len(parcels), len(vehicles)
    loaded = _loaded_at_start(problem)
    depot_locations = sorted({v.start for v in vehicles} | {v.end for v in vehicles})
    n_parcel_nodes = n_p if loaded else 2 * n_p
    depot_node = {loc: n_parcel_nodes + i for i, loc in enumerate(depot_locations)}
    n_nodes = n_parcel_nodes + len(depot_locations)

    pickup_loc = np.array([p.pickup for p in parcels], dtype=np.intp)
    dropoff_loc = np.array([p.dropoff for p in parcels], dtype=np.intp)
    weight = np.array([p.weight_kg for p in parcels], dtype=np.float64)
    volume = np.array([p.volume_l for p in parcels], dtype=np.float64)
    d_early = np.array([p.delivery_earliest_s for p in parcels], dtype=np.float64)
    d_late = np.array([p.delivery_latest_s for p in parcels], dtype=np.float64)
    d_serv = np.array([p.delivery_service_s for p in parcels], dtype=np.float64)
    p_early = np.array([p.pickup_earliest_s for p in parcels], dtype=np.float64)
    p_late = np.array([p.pickup_latest_s for p in parcels], dtype=np.float64)
    p_serv = np.array([p.pickup_service_s for p in parcels], dtype=np.float64)
    parcel_ids = np.arange(n_p, dtype=np.intp)
    depot_array = np.array(depot_locations, dtype=np.intp)
    n_depots = len(depot_locations)
    minus_one = np.full(n_depots, -1, dtype=np.intp)
    zeros, open_early, open_late = (
        np.zeros(n_depots),
        np.full(n_depots, -np.inf),
        np.full(n_depots, np.inf),
    )
    if loaded:
        node_location = np.concatenate([dropoff_loc, depot_array])
        node_parcel = np.concatenate([parcel_ids, minus_one])
        node_is_pickup = np.zeros(n_nodes, dtype=bool)
        node_earliest = np.concatenate([d_early, open_early])
        node_latest = np.concatenate([d_late, open_late])
        node_service = np.concatenate([d_serv, zeros])
        node_weight = np.concatenate([weight, zeros])
        node_volume = np.concatenate([volume, zeros])
        pickup_node = np.full(n_p, -1, dtype=np.intp)
        dropoff_node = parcel_ids.copy()
    else:
        node_location = np.concatenate([pickup_loc, dropoff_loc, depot_array])
        node_parcel = np.concatenate([parcel_ids, parcel_ids, minus_one])
        node_is_pickup = np.concatenate(
            [np.ones(n_p, dtype=bool), np.zeros(n_p + n_depots, dtype=bool)]
        )
        node_earliest = np.concatenate([p_early, d_early, open_early])
        node_latest = np.concatenate([p_late, d_late, open_late])
        node_service = np.concatenate([p_serv, d_serv, zeros])
        node_weight = np.concatenate([weight, -weight, zeros])
        node_volume = np.concatenate([volume, -volume, zeros])
        pickup_node = parcel_ids.copy()
        dropoff_node = parcel_ids + n_p

    matrices = problem.matrices
    duration = matrices.duration_s[np.ix_(node_location, node_location)]
    distance = matrices.distance_m[np.ix_(node_location, node_location)]

    start_loc = np.array([v.start for v in vehicles], dtype=np.intp)
    end_loc = np.array([v.end for v in vehicles], dtype=np.intp)
    start_node = np.array([depot_node[v.start] for v in vehicles], dtype=np.intp)
    end_node = np.array([depot_node[v.end] for v in vehicles], dtype=np.intp)
    direct_s = matrices.duration_s[start_loc, end_loc]
    direct_m = matrices.distance_m[start_loc, end_loc]
    budget = np.array([math.inf if v.max_detour_s is None else v.max_detour_s for v in vehicles])
    is_driver = np.array([v.kind is VehicleKind.DRIVER for v in vehicles], dtype=bool)
    span_limit = np.where(is_driver, direct_s + budget, np.inf)
    cap_w = np.array([v.capacity_weight_kg for v in vehicles], dtype=np.float64)
    cap_v = np.array([v.capacity_volume_l for v in vehicles], dtype=np.float64)
    max_parcels = np.array(
        [math.inf if v.max_parcels is None else v.max_parcels for v in vehicles], dtype=np.float64
    )
    early_start = np.array([v.earliest_start_s for v in vehicles], dtype=np.float64)
    late_start = np.array([v.latest_start_s for v in vehicles], dtype=np.float64)
    late_end = np.array([v.latest_end_s for v in vehicles], dtype=np.float64)

    # Pruning, vectorised over (V, P).
    allowed = (
        (weight[None, :] <= cap_w[:, None])
        & (volume[None, :] <= cap_v[:, None])
        & (max_parcels[:, None] >= 1)
        & ~refused(problem)
    )
    index = problem.parcel_index
    dur = matrices.duration_s
    to_pickup = dur[start_loc[:, None], pickup_loc[None, :]]
    pickup_to_drop = dur[pickup_loc, dropoff_loc][None, :]
    drop_to_end = dur[dropoff_loc[None, :], end_loc[:, None]]
    depart = np.where(np.isfinite(early_start), early_start, np.minimum(0.0, late_start))
    at_pickup = np.maximum(depart[:, None] + to_pickup, p_early[None, :])
    at_drop = np.maximum(at_pickup + p_serv[None, :] + pickup_to_drop, d_early[None, :])
    at_end = at_drop + d_serv[None, :] + drop_to_end
    slack = 1e-6
    allowed &= at_pickup <= p_late[None, :] + slack * np.maximum(1.0, np.abs(at_pickup))
    allowed &= at_drop <= d_late[None, :] + slack * np.maximum(1.0, np.abs(at_drop))
    allowed &= at_end <= late_end[:, None] + slack * np.maximum(1.0, np.abs(at_end))
    busy_s = to_pickup + p_serv[None, :] + pickup_to_drop + d_serv[None, :] + drop_to_end
    allowed &= busy_s <= span_limit[:, None] + slack * np.maximum(1.0, busy_s)

    compensation = np.zeros((n_v, n_p))
    for v, vehicle in enumerate(vehicles):
        if vehicle.compensation_per_parcel:
            compensation[v, :] = vehicle.compensation_per_parcel
        for parcel_id, amount in vehicle.compensation.items():
            if parcel_id in index:
                compensation[v, index[parcel_id]] = amount
    penalty = np.array(
        [math.inf if (p.penalty is None or p.id in problem.pinned) else p.penalty for p in parcels],
        dtype=np.float64,
    )
    return Layout(
        loaded_at_start=loaded,
        n_parcels=n_p,
        n_nodes=n_nodes,
        node_location=node_location,
        node_parcel=node_parcel,
        node_is_pickup=node_is_pickup,
        node_earliest_s=node_earliest,
        node_latest_s=node_latest,
        node_service_s=node_service,
        node_weight_kg=node_weight,
        node_volume_l=node_volume,
        pickup_node=pickup_node,
        dropoff_node=dropoff_node,
        start_node=start_node,
        end_node=end_node,
        duration_s=duration,
        distance_m=distance,
        allowed=allowed,
        compensation=compensation,
        penalty=penalty,
        cost_per_m=np.array([v.cost_per_m for v in vehicles], dtype=np.float64),
        fixed_cost=np.array([v.fixed_cost for v in vehicles], dtype=np.float64),
        is_driver=is_driver,
        direct_s=direct_s,
        direct_m=direct_m,
        span_limit_s=span_limit,
        capacity_weight_kg=cap_w,
        capacity_volume_l=cap_v,
        max_parcels=max_parcels,
        earliest_start_s=early_start,
        latest_start_s=late_start,
        latest_end_s=late_end,
    )
