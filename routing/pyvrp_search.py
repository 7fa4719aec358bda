"""PyVRP's iterated local search: the whole search for pickup-and-delivery layouts, and the
last stretch of it for parcels loaded at the store.

PyVRP (compiled; pickup-and-delivery "shipments" since 0.14) is far stronger than OR-Tools' search
in the same time once it has a good start: measured on Li & Lim 100 at 9 s per instance, 0.2 %
mean gap to the distance references instead of 1.5 % with OR-Tools' iterated local search; on
VRPOD's 100-customer instances, 5 s of our OR-Tools pipeline then 5 s of PyVRP from its result
reach −0.08 to −0.13 % on average (two runs) against the best-known values, against 2.5 % for
the pipeline alone. From its own first solution, on store evenings, it does worse than our
pipeline (synthetic 200/400: 348 parcels served against 364), hence the order.

Translation (everything in integers, as PyVRP requires):

- PyVRP locations are our layout's nodes, so every parcel has a drop-off location of its own (and
  a pickup one when it has a pickup node) and per-vehicle rules can live on the arcs into them.
- One routing profile per distinct cost structure. A van pays ``cost_per_m`` × distance. A driver
  pays ``cost_per_m`` × its detour: the arcs into its home carry d(i, home) − d(start, home), so a
  route sums to its distance minus the direct drive and an unused driver costs nothing (those arcs
  may be negative; PyVRP allows it) — drivers sharing a home must share a start, else a driver
  gets a profile of its own. A compensation is added to the arcs into the parcel's first stop; a
  parcel the vehicle may not carry for a reason PyVRP cannot see itself (size, allowed list, pin)
  gets arcs it can never afford, and so do the arcs between parcels for a vehicle that carries
  one parcel at most.
- Identical vehicles become one vehicle type with that many vehicles.
- Loads: grams, millilitres and a parcel count (``max_parcels``); travel times rounded up, windows
  rounded inwards, so that a route PyVRP finds feasible is feasible for the checker too. A detour
  budget is the route's ``shift_duration`` (direct drive + budget; waiting counts, as in the
  checker).
- Optional parcels are optional visits with their penalty as prize, and PyVRP's cap on its
  penalties is raised above the largest prize (else an overfull route could look cheaper than a
  parcel left out); mandatory and pinned parcels are required visits. The load penalties start
  where a typical parcel's excess costs a typical arc or prize (``_starting_penalties``).
- A driver or van without an earliest departure leaves no earlier than the checker lets it
  (``min(0, latest_start_s)``); drivers never pay a fixed cost.

``translate`` returns None when the translation would not fit in memory (one cost matrix per
profile — vehicles whose size limits or allowed lists differ need one each), when a parcel limit
could bind with separate pickups (PyVRP limits what is on board, our rule what is delivered), or
when PyVRP refuses the data; ``search`` returns None when PyVRP finds nothing feasible (e.g. a
mandatory parcel it cannot place). The caller then keeps or runs the OR-Tools search.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp import PenaltyParams, SolveParams
from pyvrp.exceptions import PenaltyBoundWarning

from routing.layout import Layout, refused
from routing.model import Problem

LOAD_SCALE = 1000.0  # kg, litres -> grams, millilitres
MATRIX_BUDGET_BYTES = 256 * 2**20  # all profiles' distance and duration matrices together
UNLIMITED = 2**40  # capacities and counts without a limit

IntMatrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Translation:
    data: pyvrp.ProblemData
    members: list[list[int]]  # our vehicle indices per PyVRP vehicle type
    kept: list[int]  # our parcel index per PyVRP client or shipment (parcels someone may carry)
    penalties: _Penalties  # PyVRP's penalties per unit of violation: where they start, their cap


@dataclass(frozen=True)
class SearchResult:
    routes: list[list[int]]  # layout nodes per vehicle
    iterations: int


def _benchmark_units(layout: Layout) -> bool:
    """Small coordinates (the benchmark sets) rather than metres and seconds."""
    finite = layout.distance_m[np.isfinite(layout.distance_m)]
    return float(finite.max()) < 1e4 if finite.size else True


def _profiles(layout: Layout, restricted: npt.NDArray[np.bool_]) -> list[int]:
    """The routing profile of each vehicle (see the module docstring)."""
    keys: dict[tuple[object, ...], int] = {}
    start_of_home: dict[tuple[object, ...], int] = {}
    out: list[int] = []
    for v in range(len(layout.start_node)):
        key: tuple[object, ...] = (
            bool(layout.is_driver[v]),
            float(layout.cost_per_m[v]),
            layout.compensation[v].tobytes(),
            restricted[v].tobytes(),
            _single_stop(layout, v),
        )
        if layout.is_driver[v]:
            home, start = int(layout.end_node[v]), int(layout.start_node[v])
            if start_of_home.setdefault((*key, home), start) != start:
                key = (*key, v)  # the arcs into this home already charge another commute
        out.append(keys.setdefault(key, len(keys)))
    return out


def _single_stop(layout: Layout, v: int) -> bool:
    """Vehicle ``v`` carries at most one parcel loaded at the store."""
    return bool(layout.loaded_at_start and layout.max_parcels[v] <= 1)


def _cost_matrix(
    layout: Layout,
    vehicles: list[int],
    restricted: npt.NDArray[np.bool_],
    scale: float,
    forbidden: float,
) -> IntMatrix:
    """The cost matrix of the profile shared by ``vehicles``."""
    v = vehicles[0]
    distance = np.where(np.isfinite(layout.distance_m), layout.distance_m, forbidden)
    cost = layout.cost_per_m[v] * distance
    if layout.is_driver[v]:
        for k in vehicles:
            # The commute happens anyway: charged back on the way into home.
            home = layout.end_node[k]
            cost[:, home] = layout.cost_per_m[k] * (distance[:, home] - layout.direct_m[k])
    first = layout.dropoff_node if layout.loaded_at_start else layout.pickup_node
    cost[:, first] += layout.compensation[v][None, :]
    cost[:, first[restricted[v]]] = forbidden
    cost[:, layout.dropoff_node[restricted[v]]] = forbidden
    if _single_stop(layout, v):
        # Exact (no such route goes from one parcel to another) and it matters: PyVRP treats the
        # parcel limit as a soft load and would otherwise search long among overfull routes.
        drops = layout.dropoff_node
        cost[np.ix_(drops, drops)] = forbidden
    matrix = np.rint(np.clip(cost, -forbidden, forbidden) * scale).astype(np.int64)
    np.fill_diagonal(matrix, 0)
    return matrix


def _load(value: float, *, up: bool) -> int:
    if not math.isfinite(value):
        return UNLIMITED
    scaled = value * LOAD_SCALE
    return int(math.ceil(scaled - 1e-9) if up else math.floor(scaled + 1e-9))


@dataclass(frozen=True)
class _Clock:
    """Layout times -> PyVRP integers: thousandths of a benchmark unit, tenths of a second."""

    offset: float
    scale: float

    @classmethod
    def of(cls, layout: Layout) -> _Clock:
        times = np.concatenate(
            [
                layout.earliest_start_s,
                layout.latest_start_s,
                layout.latest_end_s,
                layout.node_earliest_s,
                layout.node_latest_s,
                [0.0],
            ]
        )
        scale = 1000.0 if _benchmark_units(layout) else 10.0
        return cls(offset=float(times[np.isfinite(times)].min()), scale=scale)

    def at(self, value: float, *, up: bool) -> int:
        scaled = (value - self.offset) * self.scale
        return int(math.ceil(scaled - 1e-6) if up else math.floor(scaled + 1e-6))

    def length(self, value: float, *, up: bool) -> int:
        return self.at(value + self.offset, up=up)


def _shift(layout: Layout, v: int, clock: _Clock) -> dict[str, int]:
    """Departure window and latest arrival; rounded inwards, then kept in order (a window
    shorter than one tick would otherwise come out reversed — the checker has the last word)."""
    early = layout.earliest_start_s[v]
    if not math.isfinite(early):
        early = min(0.0, layout.latest_start_s[v])  # where the checker starts such a vehicle
    shift: dict[str, int] = {}
    if math.isfinite(early):
        shift["tw_early"] = clock.at(early, up=True)
    floor = shift.get("tw_early", 0)
    if math.isfinite(layout.latest_end_s[v]):
        shift["tw_late"] = max(floor, clock.at(layout.latest_end_s[v], up=False))
    if math.isfinite(layout.latest_start_s[v]):
        late = max(floor, clock.at(layout.latest_start_s[v], up=False))
        shift["start_late"] = min(late, shift.get("tw_late", late))
    return shift


def _vehicle_types(
    layout: Layout, profile_of: list[int], scale: float, clock: _Clock
) -> tuple[list[pyvrp.VehicleType], list[list[int]]]:
    """One PyVRP vehicle type per group of identical vehicles, and each group's members."""
    depot_nodes = sorted(set(layout.start_node.tolist()) | set(layout.end_node.tolist()))
    depot_index = {node: i for i, node in enumerate(depot_nodes)}
    types: dict[tuple[object, ...], int] = {}
    members: list[list[int]] = []
    capacity_of: list[list[int]] = []
    settings_of: list[dict[str, Any]] = []
    for v in range(len(layout.start_node)):
        parcels = layout.max_parcels[v]
        capacity = [
            _load(layout.capacity_weight_kg[v], up=False),
            _load(layout.capacity_volume_l[v], up=False),
            int(parcels) if math.isfinite(parcels) else UNLIMITED,
        ]
        settings: dict[str, Any] = {
            "start_depot": depot_index[int(layout.start_node[v])],
            "end_depot": depot_index[int(layout.end_node[v])],
            "fixed_cost": 0 if layout.is_driver[v] else int(round(layout.fixed_cost[v] * scale)),
            "profile": profile_of[v],
            **_shift(layout, v, clock),
        }
        if math.isfinite(layout.span_limit_s[v]):
            settings["shift_duration"] = clock.length(layout.span_limit_s[v], up=False)
        key = (*capacity, *sorted(settings.items()))
        if key not in types:
            types[key] = len(members)
            members.append([])
            capacity_of.append(capacity)
            settings_of.append(settings)
        members[types[key]].append(v)
    vehicle_types = [
        pyvrp.VehicleType(len(group), capacity, **settings)
        for group, capacity, settings in zip(members, capacity_of, settings_of, strict=True)
    ]
    return vehicle_types, members


def _stop(layout: Layout, node: int, prefix: str, clock: _Clock) -> dict[str, Any]:
    stop: dict[str, Any] = {
        f"{prefix}service_duration": clock.length(layout.node_service_s[node], up=True)
    }
    if math.isfinite(layout.node_earliest_s[node]):
        stop[f"{prefix}tw_early"] = clock.at(layout.node_earliest_s[node], up=True)
    if math.isfinite(layout.node_latest_s[node]):
        late = clock.at(layout.node_latest_s[node], up=False)
        stop[f"{prefix}tw_late"] = max(late, stop.get(f"{prefix}tw_early", late))
    return stop


def _visit(layout: Layout, p: int, prize: float | None, clock: _Clock) -> Any:
    """The client (parcel loaded at the store) or shipment for parcel ``p``; a parcel without a
    prize must be served."""
    pick, drop = int(layout.pickup_node[p]), int(layout.dropoff_node[p])
    first = drop if layout.loaded_at_start else pick
    amount = [
        _load(layout.node_weight_kg[first], up=True),
        _load(layout.node_volume_l[first], up=True),
        1,
    ]
    if layout.loaded_at_start:
        return pyvrp.Client(
            location=drop,
            delivery=amount,
            prize=0 if prize is None else int(round(prize)),
            required=prize is None,
            **_stop(layout, drop, "", clock),
        )
    return pyvrp.Shipment(
        pickup_location=pick,
        delivery_location=drop,
        amount=amount,
        prize=0 if prize is None else int(round(prize)),
        required=prize is None,
        **_stop(layout, pick, "pickup_", clock),
        **_stop(layout, drop, "delivery_", clock),
    )


def translate(problem: Problem, layout: Layout) -> Translation | None:
    """PyVRP problem data for ``layout``; None when its matrices would not fit in
    ``MATRIX_BUDGET_BYTES``, when a parcel limit could bind with separate pickups (PyVRP counts
    what is on board, the rule counts what the route delivers), or when PyVRP refuses the data."""
    n_v, n_nodes = len(layout.start_node), layout.n_nodes
    if not layout.loaded_at_start:
        reachable = layout.allowed.sum(axis=1)
        if np.any(layout.max_parcels < reachable):
            return None
    restricted = refused(problem)  # what PyVRP cannot see itself
    profile_of = _profiles(layout, restricted)
    n_profiles = max(profile_of) + 1
    if 16 * n_nodes * n_nodes * n_profiles > MATRIX_BUDGET_BYTES:
        return None
    benchmark = _benchmark_units(layout)
    scale = 1000.0 if benchmark else 1.0
    kept = [p for p in range(layout.n_parcels) if layout.allowed[:, p].any()]
    prizes = [x * scale if math.isfinite(x) else None for x in layout.penalty[kept]]
    top_prize = max((x for x in prizes if x is not None), default=0.0)
    # An arc no route can afford: dearer than any prize and than any route made of real arcs.
    finite = layout.distance_m[np.isfinite(layout.distance_m)]
    longest = float(finite.max()) if finite.size else 0.0
    route_bound = n_nodes * longest * float(layout.cost_per_m.max(initial=0.0))
    route_bound += float(layout.compensation.max(initial=0.0)) * layout.n_parcels
    forbidden = 10.0 * (top_prize / scale + route_bound + 1.0)
    matrices: list[Any] = [  # PyVRP's stubs want a 2-D int matrix type numpy lacks
        _cost_matrix(
            layout, [v for v in range(n_v) if profile_of[v] == k], restricted, scale, forbidden
        )
        for k in range(n_profiles)
    ]
    clock = _Clock.of(layout)
    durations = np.where(np.isfinite(layout.duration_s), layout.duration_s, forbidden)
    duration: Any = np.ceil(durations * clock.scale - 1e-6).astype(np.int64)
    np.fill_diagonal(duration, 0)
    vehicle_types, members = _vehicle_types(layout, profile_of, scale, clock)
    coordinates = problem.locations[layout.node_location]
    xy = np.rint(coordinates * (1000.0 if benchmark else 1e5)).astype(np.int64)
    depot_nodes = sorted(set(layout.start_node.tolist()) | set(layout.end_node.tolist()))
    visits = [_visit(layout, p, prize, clock) for p, prize in zip(kept, prizes, strict=True)]
    try:
        data = pyvrp.ProblemData(
            locations=[pyvrp.Location(x=int(x), y=int(y)) for x, y in xy],
            clients=visits if layout.loaded_at_start else [],
            depots=[pyvrp.Depot(location=int(node)) for node in depot_nodes],
            vehicle_types=vehicle_types,
            distance_matrices=matrices,
            duration_matrices=[duration] * n_profiles,
            shipments=[] if layout.loaded_at_start else visits,
        )
    except ValueError:
        # PyVRP checks its data more strictly than our model does; whatever it refuses, the
        # OR-Tools search handles.
        return None
    # PyVRP caps its penalty per unit of violation (100,000 by default): below a prize, an
    # overfull route would look cheaper than leaving a parcel out.
    max_penalty = max(100_000.0, 2.0 * top_prize)
    # What a typical violation is weighed against: a typical arc, or the parcel it lets in.
    arcs = matrices[0][(matrices[0] > 0) & (matrices[0] < forbidden * scale)]
    optional = [x for x in prizes if x is not None]
    worth = max(float(np.median(arcs)) if arcs.size else 1.0, float(np.median(optional or [0.0])))
    penalties = _Penalties(
        max_penalty=max_penalty, start=_starting_penalties(data, worth, max_penalty)
    )
    return Translation(data=data, members=members, kept=kept, penalties=penalties)


@dataclass
class _Penalties(PenaltyParams):
    """PyVRP's penalty parameters, starting from ``start`` instead of halfway to the cap
    (``pyvrp.solve`` takes its start from ``midpoint_penalties``; a test reads the evaluator the
    search really starts with, so a PyVRP release that changes this shows up there)."""

    start: tuple[list[float], float, float] = ([], 0.0, 0.0)

    def midpoint_penalties(self, data: pyvrp.ProblemData) -> tuple[list[float], float, float]:
        return self.start


def _starting_penalties(
    data: pyvrp.ProblemData, worth: float, max_penalty: float
) -> tuple[list[float], float, float]:
    """Where PyVRP's penalties per unit of violation start: a typical parcel's excess load costs
    ``worth`` in each load dimension; time warp and excess distance start where PyVRP starts them
    (halfway to the cap).

    PyVRP lowers its penalties only slowly (× 0.9 per 500 solutions). From its own start (50,000
    per gram) an overfull van stays far dearer than any route for the whole search, which then
    cannot cross infeasible ground: measured on a VRPOD instance, 8.7 % above the best-known value
    after 10 s, at it after 3 s from this start. Time warp is another matter: a start at the
    scale of a typical arc let store evenings spend the search on routes that break detour
    budgets (synthetic 200/400: no improvement on the start at all)."""
    halfway = PenaltyParams.min_penalty + (max_penalty - PenaltyParams.min_penalty) / 2
    amounts = np.array(
        [c.delivery for c in data.clients()] + [s.amount for s in data.shipments()],
        dtype=np.float64,
    ).reshape(-1, data.num_load_dimensions)
    per_unit = []
    for k in range(data.num_load_dimensions):
        used = amounts[:, k][amounts[:, k] > 0]
        typical = float(used.mean()) if used.size else 1.0
        per_unit.append(float(np.clip(worth / typical, PenaltyParams.min_penalty, max_penalty)))
    return per_unit, halfway, halfway


def _start(translation: Translation, layout: Layout, initial: list[list[int]]) -> pyvrp.Solution:
    type_of = {v: t for t, group in enumerate(translation.members) for v in group}
    position = {p: i for i, p in enumerate(translation.kept)}
    routes = []
    for v, nodes in enumerate(initial):
        if not nodes:
            continue
        activities = []
        for node in nodes:
            index = position[int(layout.node_parcel[node])]
            if layout.loaded_at_start:
                kind = pyvrp.ActivityType.CLIENT
            elif layout.node_is_pickup[node]:
                kind = pyvrp.ActivityType.PICKUP
            else:
                kind = pyvrp.ActivityType.DELIVERY
            activities.append(pyvrp.Activity(kind, index))
        routes.append(pyvrp.Route(translation.data, activities, type_of[v]))
    return pyvrp.Solution(translation.data, routes)


class _Deadline:
    """PyVRP's stopping criterion on the wall clock from the caller's start (its own
    ``MaxRuntime`` starts counting only after the neighbour lists and a first local search)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, best_cost: float) -> bool:
        return time.perf_counter() >= self.deadline


def search(
    translation: Translation,
    layout: Layout,
    time_limit_s: float,
    seed: int,
    initial: list[list[int]] | None = None,
) -> SearchResult | None:
    """PyVRP's best routes (layout nodes per vehicle) within ``time_limit_s``, from ``initial``
    (layout nodes per vehicle) when given; None when it found nothing feasible."""
    members, kept = translation.members, translation.kept
    n_v = len(layout.start_node)
    if not kept:
        return SearchResult(routes=[[] for _ in range(n_v)], iterations=0)
    start = None if initial is None else _start(translation, layout, initial)
    with warnings.catch_warnings():
        # PyVRP warns when its infeasibility penalties reach their cap, which tight evenings
        # (every driver's budget nearly used) do by nature; the result is checked either way.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(
            translation.data,
            stop=_Deadline(time.perf_counter() + time_limit_s),
            seed=seed,
            collect_stats=False,
            display=False,
            params=SolveParams(penalty=translation.penalties),
            initial_solution=start,
        )
    best = result.best
    if not best.is_feasible():
        return None
    out: list[list[int]] = [[] for _ in range(n_v)]
    used = [0] * len(members)
    for route in best.routes():
        kind = route.vehicle_type()
        v = members[kind][used[kind]]
        used[kind] += 1
        for activity in route.schedule():
            if activity.is_client() or activity.is_delivery():
                out[v].append(int(layout.dropoff_node[kept[activity.idx]]))
            elif activity.is_pickup():
                out[v].append(int(layout.pickup_node[kept[activity.idx]]))
    return SearchResult(routes=out, iterations=int(result.num_iterations))
