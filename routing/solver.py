"""The batch optimiser: the one place where the OR-Tools routing model is built.

Pipeline: prune vehicle × parcel pairs (``routing.layout``), build a first solution with our own
regret insertion (``routing.construct``), hand it to OR-Tools and let guided local search improve it
— re-assigning single-stop drivers exactly in between (``routing.assignment``), sector by sector for
large evenings (``routing.decompose``) — and, when the search runs against the clock, serve more
parcels by ejection chains (``routing.chains``), re-choose drivers' routes by column generation
and set packing where drivers carry several parcels (``routing.packing``), and hand the result to
PyVRP's search (``routing.pyvrp_search``) for the time left. With separate
pickup nodes and a time limit, PyVRP's search does it all, and OR-Tools' iterated local search where
that does not apply. A ``solution_limit`` keeps everything in OR-Tools, where it replays exactly.
Costs, times and loads are scaled to integers (OR-Tools works in int64); times and loads are rounded
the safe way (travel up, limits down) so that whatever OR-Tools accepts the checker accepts too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from routing import packing, pyvrp_search
from routing.assignment import (
    MANDATORY_UNSERVED_COST,
    reassign,
    single_stop_drivers,
    total_cost,
)
from routing.chains import leaves_out, serve_more
from routing.checker import check
from routing.construct import regret_insertion
from routing.decompose import improve_by_sectors
from routing.layout import Layout, build_layout
from routing.model import Problem, Route, Solution, Stop, StopKind

IntMatrix = npt.NDArray[np.int64]

COST_SCALE = 1000.0  # cost units -> integer (1/1000 of a metre of detour)
TIME_SCALE = 1000.0  # seconds -> integer (milliseconds)
LOAD_SCALE = 1000.0  # kg, litres -> integer (grams, millilitres)
UNSERVED_MANDATORY_COST = int(MANDATORY_UNSERVED_COST * COST_SCALE)  # dwarfs any route cost
DECOMPOSE_ABOVE = 80  # vehicles; larger evenings are improved sector by sector
SECTOR_VEHICLES = 50
SECTOR_PASSES = 2
ROUND_SHARES = (0.7, 0.3)  # of the time, with single-stop drivers re-assigned between
# Guided local search penalty weight for parcels loaded at the store (OR-Tools' default: 0.1).
# Measured on 12 VRPOD instances at the benchmark time limits: 2.4 % mean gap at 0.5, 3.3 % at
# 0.1; 0.03 and 1.0 were worse.
GLS_LAMBDA_LOADED = 0.5
# Share of the time PyVRP's search gets at the end for parcels loaded at the store. Measured on
# 12 VRPOD instances (100 customers, 10 s): 2.2 % mean gap at 0.3, 2.0 % at 0.5, 1.7 % at 0.7,
# 3.0 % at 0.9; on the 200-driver synthetic evening 0.7 served one parcel fewer than 0.5.
POLISH_SHARE = 0.5
# Share of the time the packing of drivers' routes gets (``routing.packing``) on evenings where
# drivers carry several parcels each. Measured on the 500/1000 evening (30 s): 0.7 → 983 and
# 989 served, 0.8 → 987 and 987, 0.9 → 988 and 989; 200/400 (10 s): 369 at 0.7 and 0.8 (all
# before the packing's final settings, with which 0.9 gave 988–991 and 370).
PACKING_SHARE = 0.9


@dataclass(frozen=True)
class SolverOptions:
    """Search settings. ``solution_limit`` stops the search after that many solutions, which
    makes the result independent of machine speed (and so reproducible) when the time limit is
    not reached first. ``use_construction`` hands our regret insertion to OR-Tools as its first
    solution when parcels are loaded at the store; otherwise ``first_solution`` (an OR-Tools
    strategy) builds it. ``pyvrp`` brings in PyVRP's search (``routing.pyvrp_search``): all of
    it for pickup-and-delivery layouts (measured on Li & Lim at 10 s: 0.15 % mean gap, against
    1.5 % for OR-Tools' best), the second half of the time for parcels loaded at the store; None
    chooses it when the search runs against the clock and ``iterated_local_search`` is unset.
    Otherwise ``iterated_local_search`` switches from guided local search to OR-Tools' iterated
    local search (ruin and recreate, simulated-annealing acceptance); None chooses it for
    pickup-and-delivery layouts searched against the clock (1.5 % instead of 3.6 % at 10 s).
    ``overrides`` sets any other search parameter by dotted name.
    """

    use_construction: bool = True
    iterated_local_search: bool | None = None
    pyvrp: bool | None = None
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    solution_limit: int | None = None
    gls_lambda: float | None = None
    neighbors_ratio: float | None = None
    overrides: tuple[tuple[str, float | bool], ...] = ()


def _ceil(values: npt.NDArray[np.float64]) -> IntMatrix:
    return np.ceil(values - 1e-9).astype(np.int64)


def _floor(value: float) -> int:
    return int(math.floor(value + 1e-9))


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    seed: int = 0,
    options: SolverOptions | None = None,
) -> Solution:
    """Assign parcels to vehicles and order the stops, best effort within ``time_limit_s``.

    Minimises vehicle costs (driver detour distance × cost_per_m, van fixed cost + distance ×
    cost_per_m, compensation) plus the penalties of parcels left unserved; mandatory and pinned
    parcels are served whenever a feasible route exists. A parcel no vehicle can reach is left
    unserved, never forced. Deterministic for a given seed when the search ends by
    ``options.solution_limit`` rather than by the clock.

    Raises:
        ProblemError: if the problem is malformed (raised when the problem is built).
        ValueError: if ``time_limit_s`` is not positive.
    """
    if not time_limit_s > 0:
        raise ValueError("time_limit_s must be positive")
    options = options or SolverOptions()
    started = time.perf_counter()
    n_parcels = len(problem.parcels)
    if not problem.vehicles or not problem.parcels:
        routes = tuple(Route(vehicle=v) for v in range(len(problem.vehicles)))
        penalty = sum(p.penalty or 0.0 for p in problem.parcels)
        return Solution(routes=routes, unserved=tuple(range(n_parcels)), cost=penalty)
    layout = build_layout(problem)
    pinned = {problem.parcel_index[p]: problem.vehicle_index[v] for p, v in problem.pinned.items()}
    initial: list[list[int]] | None = None
    # Pickup-and-delivery layouts start from OR-Tools' parallel cheapest insertion: measured on
    # Li & Lim, guided local search ends far better from there than from our regret insertion
    # (lr2xx: 0 % instead of 20 % gaps). Parcels loaded at the store start from ours.
    if options.use_construction and layout.loaded_at_start:
        initial = regret_insertion(layout, seed=seed, pinned=pinned)
    constructed_s = time.perf_counter() - started
    use_pyvrp = options.pyvrp
    if use_pyvrp is None:
        use_pyvrp = options.solution_limit is None and options.iterated_local_search is None
    translation = pyvrp_search.translate(problem, layout) if use_pyvrp else None
    stats: dict[str, float] = {"loaded_at_start": float(layout.loaded_at_start)}
    if translation is not None and not layout.loaded_at_start:
        left = time_limit_s - (time.perf_counter() - started) - 0.05
        found = pyvrp_search.search(translation, layout, max(0.05, left), seed)
        if found is not None:
            accepted = {
                **stats,
                "construction_s": constructed_s,
                "total_s": time.perf_counter() - started,
                "pyvrp_iterations": float(found.iterations),
            }
            cost = total_cost(layout, found.routes)
            solution = _to_solution(problem, layout, found.routes, cost, accepted)
            # Integer rounding is done the safe way, but the checker has the last word: if it
            # disagreed, the OR-Tools search below runs instead.
            if check(problem, solution).feasible:
                return solution
        stats["pyvrp_rejected"] = 1.0
    # Parcels loaded at the store, against the clock: our pipeline first, then the packing of
    # drivers' routes, then PyVRP from the result for the last part.
    left_s = time_limit_s - (time.perf_counter() - started)
    pack_s = 0.0
    if options.solution_limit is None and packing.applies(layout):
        pack_s = PACKING_SHARE * left_s
    polish_s = 0.0
    if translation is not None and layout.loaded_at_start:
        polish_s = POLISH_SHARE * (left_s - pack_s)
    polish_s += pack_s
    ending = _Ending(problem, layout, translation, started, time_limit_s, seed, stats, pack_s)
    if (
        initial is not None
        and len(problem.vehicles) > DECOMPOSE_ABOVE
        and options.solution_limit is None
    ):

        def sub_search(
            sub: Problem, sub_layout: Layout, start: list[list[int]], seconds: float
        ) -> list[list[int]]:
            return _RoutingModel(sub, sub_layout).search(start, seconds, options)

        left = time_limit_s - (time.perf_counter() - started) - 0.05 - polish_s
        improved, windows = improve_by_sectors(
            problem, layout, initial, left, SECTOR_VEHICLES, sub_search, total_cost, SECTOR_PASSES
        )
        stats.update(construction_s=constructed_s, sectors=float(windows))
        improved = ending.run(improved)
        stats["total_s"] = time.perf_counter() - started
        return _to_solution(problem, layout, improved, total_cost(layout, improved), stats)
    single = single_stop_drivers(layout)
    between_rounds = None
    if single is not None:
        chosen = single

        def between_rounds(routes: list[list[int]]) -> list[list[int]] | None:
            return reassign(layout, chosen, routes)

    model = _RoutingModel(problem, layout)
    remaining_s = max(0.05, time_limit_s - (time.perf_counter() - started) - 0.05 - polish_s)
    routes_nodes = model.search(initial, remaining_s, options, between_rounds)
    cost = model.last_cost
    stats["construction_s"] = constructed_s
    # A search that must replay exactly stays as it was; separate pickups had PyVRP already.
    if options.solution_limit is None and layout.loaded_at_start:
        finished = ending.run(routes_nodes)
        if finished is not routes_nodes:
            routes_nodes, cost = finished, total_cost(layout, finished)
    stats["total_s"] = time.perf_counter() - started
    return _to_solution(problem, layout, routes_nodes, cost, stats)


@dataclass(frozen=True)
class _Ending:
    """The end of a search against the clock: ejection chains, then PyVRP's search for the time
    left — split in two with chains again in between while parcels are still left out (PyVRP's
    shorter detours leave room: 500/1000 evening, 969 → 972 served)."""

    problem: Problem
    layout: Layout
    translation: pyvrp_search.Translation | None
    started: float
    time_limit_s: float
    seed: int
    stats: dict[str, float]
    pack_s: float = 0.0

    def left_s(self) -> float:
        return self.time_limit_s - (time.perf_counter() - self.started)

    def run(self, routes: list[list[int]]) -> list[list[int]]:
        routes = self.serve_more(routes)
        if self.pack_s > 0:
            routes = self.pack(routes)
        if leaves_out(self.layout, routes):
            routes = self.serve_more(self.polish(routes, share=0.5))
        return self.polish(routes)

    def pack(self, routes: list[list[int]]) -> list[list[int]]:
        """``routes`` re-chosen by the packing of drivers' routes (``routing.packing``) within
        ``pack_s``, kept when the checker accepts them and they cost less."""
        layout, before = self.layout, int(sum(len(nodes) for nodes in routes))
        # The search before may have overrun its share: never past 98 % of the whole limit,
        # which leaves time to check the result and hand it back.
        deadline = min(time.perf_counter() + self.pack_s, self.started + 0.98 * self.time_limit_s)
        packed = packing.improve_by_packing(layout, routes, deadline)
        if packed is routes:
            return routes
        candidate = _to_solution(self.problem, layout, packed, math.nan, {})
        if not check(self.problem, candidate).feasible:
            return routes
        self.stats["packing_served"] = float(sum(len(nodes) for nodes in packed) - before)
        return packed

    def serve_more(self, routes: list[list[int]]) -> list[list[int]]:
        """``routes`` with more parcels served by ejection chains (``routing.chains``), within a
        tenth of the time left; ``routes`` itself when no chain was found."""
        left = self.left_s()
        if left <= 0.1:
            return routes
        before = int(sum(len(nodes) for nodes in routes))
        more = serve_more(self.layout, routes, time.perf_counter() + 0.1 * left)
        gained = int(sum(len(nodes) for nodes in more)) - before
        if gained <= 0:
            return routes
        self.stats["chains_served"] = self.stats.get("chains_served", 0.0) + gained
        return more

    def polish(self, routes: list[list[int]], share: float = 1.0) -> list[list[int]]:
        """PyVRP's search from ``routes`` for ``share`` of the time left; its result when the
        checker accepts it and it costs less, ``routes`` otherwise."""
        # Keep back 2 % of the whole limit for translating back and checking (a 1,000-parcel
        # evening needs ~0.1 s), however little time is left.
        left = share * (self.left_s() - 0.02 * self.time_limit_s) - 0.05
        layout, stats = self.layout, self.stats
        if self.translation is None or left <= 0.05:
            return routes
        found = pyvrp_search.search(self.translation, layout, left, self.seed, initial=routes)
        if found is None:
            return routes
        stats["pyvrp_iterations"] = stats.get("pyvrp_iterations", 0.0) + found.iterations
        if total_cost(layout, found.routes) >= total_cost(layout, routes) - 1e-9:
            return routes
        candidate = _to_solution(self.problem, layout, found.routes, math.nan, {})
        if not check(self.problem, candidate).feasible:
            return routes
        stats["pyvrp_improved"] = 1.0
        return found.routes


def _to_solution(
    problem: Problem,
    layout: Layout,
    routes_nodes: list[list[int]],
    cost: float,
    stats: dict[str, float],
) -> Solution:
    routes: list[Route] = []
    served: set[int] = set()
    for v, nodes in enumerate(routes_nodes):
        stops: list[Stop] = []
        if layout.loaded_at_start:
            parcels = [int(layout.node_parcel[n]) for n in nodes]
            stops.extend(Stop(parcel=p, kind=StopKind.PICKUP) for p in parcels)
            stops.extend(Stop(parcel=p, kind=StopKind.DROPOFF) for p in parcels)
        else:
            for n in nodes:
                kind = StopKind.PICKUP if layout.node_is_pickup[n] else StopKind.DROPOFF
                stops.append(Stop(parcel=int(layout.node_parcel[n]), kind=kind))
        served.update(s.parcel for s in stops if s.kind is StopKind.DROPOFF)
        routes.append(Route(vehicle=v, stops=tuple(stops)))
    unserved = tuple(p for p in range(len(problem.parcels)) if p not in served)
    return Solution(
        routes=tuple(routes), unserved=unserved, cost=cost, stats=MappingProxyType(stats)
    )


def _iterated_local_search(params: Any) -> None:
    """Iterated local search: each step ruins part of the solution — strings of nearby stops
    (SISR, Christiaens & Vanden Berghe 2020) or a random walk, one of the two at random —
    recreates it by parallel cheapest insertion, descends to a local optimum and accepts the
    result by simulated annealing (temperatures from the instance's arc costs)."""
    ils = routing_ils_pb2
    params.use_iterated_local_search = True
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    search = params.iterated_local_search_parameters
    search.perturbation_strategy = ils.PerturbationStrategy.RUIN_AND_RECREATE
    search.improve_perturbed_solution = True
    search.acceptance_strategy = ils.AcceptanceStrategy.SIMULATED_ANNEALING
    search.simulated_annealing_parameters.automatic_temperatures = True
    ruin_recreate = search.ruin_recreate_parameters
    del ruin_recreate.ruin_strategies[:]
    strings = ruin_recreate.ruin_strategies.add().sisr
    strings.max_removed_sequence_size = 10
    strings.avg_num_removed_visits = 10
    strings.bypass_factor = 0.01
    ruin_recreate.ruin_strategies.add().random_walk.num_removed_visits = 10
    ruin_recreate.ruin_composition_strategy = ils.RuinCompositionStrategy.RUN_ONE_RANDOMLY
    ruin_recreate.recreate_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )


class _RoutingModel:
    """OR-Tools model of one problem. Nodes are the layout's nodes, one-to-one."""

    def __init__(self, problem: Problem, layout: Layout):
        self.problem = problem
        self.layout = layout
        self.last_cost = math.nan
        lay = layout
        n_v = len(lay.start_node)
        self.manager = pywrapcp.RoutingIndexManager(
            lay.n_nodes, n_v, [int(s) for s in lay.start_node], [int(e) for e in lay.end_node]
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self._arc_costs()
        self._time()
        self._loads()
        self._pairs_and_options()

    # --- costs ------------------------------------------------------------------------------
    def _arc_costs(self) -> None:
        """Rule: a vehicle pays cost_per_m × distance on every arc, plus the compensation of a
        parcel on the arc leaving that parcel's drop-off; a van pays its fixed cost when used.
        Drivers are "used when empty" so that their direct commute is always counted: the
        objective then differs from the total detour by a constant, instead of charging a whole
        commute to the first parcel a driver takes."""
        lay, routing = self.layout, self.routing
        groups: dict[tuple[float, bytes], int] = {}
        self.constant_cost = 0.0
        dropoffs = lay.dropoff_node
        for v in range(len(lay.start_node)):
            compensation = lay.compensation[v]
            key = (float(lay.cost_per_m[v]), compensation.tobytes())
            if key not in groups:
                matrix = np.rint(lay.cost_per_m[v] * lay.distance_m * COST_SCALE).astype(np.int64)
                if np.any(compensation):
                    matrix[dropoffs, :] += np.rint(compensation * COST_SCALE).astype(np.int64)[
                        :, None
                    ]
                groups[key] = routing.RegisterTransitMatrix(matrix.tolist())
            routing.SetArcCostEvaluatorOfVehicle(groups[key], v)
            if lay.is_driver[v]:
                routing.SetVehicleUsedWhenEmpty(True, v)
                self.constant_cost += float(lay.cost_per_m[v] * lay.direct_m[v])
            elif lay.fixed_cost[v] > 0:
                routing.SetFixedCostOfVehicle(int(round(lay.fixed_cost[v] * COST_SCALE)), v)

    # --- time -------------------------------------------------------------------------------
    def _needs_time(self) -> bool:
        lay = self.layout
        return bool(
            not lay.loaded_at_start
            or np.any(np.isfinite(lay.node_latest_s[: 2 * lay.n_parcels]))
            or np.any(np.isfinite(lay.node_earliest_s[: 2 * lay.n_parcels]))
            or np.any(np.isfinite(lay.span_limit_s))
            or np.any(np.isfinite(lay.latest_end_s))
            or np.any(np.isfinite(lay.latest_start_s))
        )

    def _time(self) -> None:
        """Rule: arrival at j >= departure from i + travel(i, j), departure from i = arrival +
        waiting + service(i); each stop begins inside its window; a vehicle leaves within its
        departure window and arrives before its shift ends; a driver's span (departure to home)
        is at most the direct drive plus the detour budget."""
        self.time_dimension = None
        if not self._needs_time():
            return
        lay, routing = self.layout, self.routing
        finite = [
            a[np.isfinite(a)]
            for a in (
                lay.node_earliest_s,
                lay.node_latest_s,
                lay.earliest_start_s,
                lay.latest_start_s,
                lay.latest_end_s,
            )
        ]
        values = np.concatenate(finite) if finite else np.zeros(1)
        transit = _ceil((lay.duration_s + lay.node_service_s[:, None]) * TIME_SCALE)
        longest_route = int(transit.max()) * (lay.n_nodes + 1)
        # The origin lies one longest route before the first finite time, so that a vehicle
        # whose departure is unbounded can leave early enough for the first window.
        first = float(values.min()) if len(values) else 0.0
        self.t0 = first - longest_route / TIME_SCALE
        horizon = int(((values.max() if len(values) else 0.0) - first) * TIME_SCALE)
        horizon += 2 * longest_route
        self.horizon = horizon
        callback = routing.RegisterTransitMatrix(transit.tolist())
        routing.AddDimension(callback, horizon, horizon, False, "time")
        dimension = routing.GetDimensionOrDie("time")
        self.time_dimension = dimension

        def lower(value: float) -> int:
            if not math.isfinite(value):
                return 0
            return max(0, int(math.ceil((value - self.t0) * TIME_SCALE - 1e-6)))

        def upper(value: float) -> int:
            if not math.isfinite(value):
                return horizon
            return min(horizon, _floor((value - self.t0) * TIME_SCALE))

        n_parcel_nodes = lay.n_parcels if lay.loaded_at_start else 2 * lay.n_parcels
        for node in range(n_parcel_nodes):
            index = self.manager.NodeToIndex(node)
            lo, hi = lower(lay.node_earliest_s[node]), upper(lay.node_latest_s[node])
            dimension.CumulVar(index).SetRange(lo, max(lo, hi))
        for v in range(len(lay.start_node)):
            start, end = routing.Start(v), routing.End(v)
            lo, hi = lower(lay.earliest_start_s[v]), upper(lay.latest_start_s[v])
            dimension.CumulVar(start).SetRange(lo, max(lo, hi))
            dimension.CumulVar(end).SetMax(upper(lay.latest_end_s[v]))
            if math.isfinite(lay.span_limit_s[v]):
                dimension.SetSpanUpperBoundForVehicle(_floor(lay.span_limit_s[v] * TIME_SCALE), v)

    # --- loads ------------------------------------------------------------------------------
    def _loads(self) -> None:
        """Rule: the load on board never exceeds the vehicle's capacity, in weight and in volume
        (parcels loaded at the store count from departure); the number of parcels on a route
        never exceeds max_parcels."""
        lay, routing = self.layout, self.routing
        for name, demand, capacity in (
            ("weight", lay.node_weight_kg, lay.capacity_weight_kg),
            ("volume", lay.node_volume_l, lay.capacity_volume_l),
        ):
            scaled = np.rint(demand * LOAD_SCALE).astype(np.int64)
            if not np.any(scaled) or not np.any(np.isfinite(capacity)):
                continue
            total = int(np.abs(scaled).sum()) + 1
            caps = [
                min(total, _floor(c * LOAD_SCALE)) if math.isfinite(c) else total for c in capacity
            ]
            callback = routing.RegisterUnaryTransitVector(scaled.tolist())
            routing.AddDimensionWithVehicleCapacity(callback, 0, caps, True, name)
        if np.any(np.isfinite(lay.max_parcels)):
            counts = np.zeros(lay.n_nodes, dtype=np.int64)
            counts[lay.dropoff_node] = 1
            callback = routing.RegisterUnaryTransitVector(counts.tolist())
            caps = [int(m) if math.isfinite(m) else lay.n_parcels for m in lay.max_parcels]
            routing.AddDimensionWithVehicleCapacity(callback, 0, caps, True, "parcels")

    # --- pairs, optional parcels, allowed vehicles -------------------------------------------
    def _pairs_and_options(self) -> None:
        """Rules: a parcel's pickup and drop-off are served by the same vehicle, pickup first,
        or both not at all; leaving a parcel out costs its penalty (a huge one when it must be
        served or is pinned); only vehicles that survived pruning may carry it."""
        lay, routing, manager = self.layout, self.routing, self.manager
        solver = routing.solver()
        n_v = len(lay.start_node)
        for p in range(lay.n_parcels):
            drop = manager.NodeToIndex(int(lay.dropoff_node[p]))
            indices = [drop]
            penalty = lay.penalty[p]
            scaled = (
                UNSERVED_MANDATORY_COST
                if not math.isfinite(penalty)
                else int(round(penalty * COST_SCALE))
            )
            if not lay.loaded_at_start:
                pick = manager.NodeToIndex(int(lay.pickup_node[p]))
                indices.insert(0, pick)
                routing.AddPickupAndDelivery(pick, drop)
                solver.Add(routing.VehicleVar(pick) == routing.VehicleVar(drop))
                solver.Add(routing.ActiveVar(pick) == routing.ActiveVar(drop))
                if self.time_dimension is None:  # built above whenever pickups have nodes
                    raise RuntimeError("the time dimension is missing")
                solver.Add(self.time_dimension.CumulVar(pick) <= self.time_dimension.CumulVar(drop))
                routing.AddDisjunction([pick], scaled)
                routing.AddDisjunction([drop], 0)
            else:
                routing.AddDisjunction([drop], scaled)
            vehicles = np.flatnonzero(lay.allowed[:, p])
            if len(vehicles) == 0:
                for index in indices:
                    solver.Add(routing.ActiveVar(index) == 0)
            elif len(vehicles) < n_v:
                for index in indices:
                    routing.SetAllowedVehiclesForIndex([int(v) for v in vehicles], index)

    # --- search -----------------------------------------------------------------------------
    def _uses_ils(self, options: SolverOptions) -> bool:
        if options.iterated_local_search is not None:
            return options.iterated_local_search
        return not self.layout.loaded_at_start and options.solution_limit is None

    def _parameters(self, options: SolverOptions) -> Any:
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, options.first_solution
        )
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, options.metaheuristic
        )
        if self._uses_ils(options):
            _iterated_local_search(params)
        if options.gls_lambda is not None:
            params.guided_local_search_lambda_coefficient = options.gls_lambda
        elif self.layout.loaded_at_start:
            params.guided_local_search_lambda_coefficient = GLS_LAMBDA_LOADED
        if options.neighbors_ratio is not None:
            # Granular neighbourhoods: moves only towards the closest nodes.
            params.ls_operator_neighbors_ratio = options.neighbors_ratio
            params.ls_operator_min_neighbors = 10
        for path, value in options.overrides:
            target = params
            *parents, leaf = path.split(".")
            for parent in parents:
                target = getattr(target, parent)
            setattr(target, leaf, value)
        if options.solution_limit is not None:
            params.solution_limit = options.solution_limit
        return params

    def _run(
        self, params: Any, start_routes: list[list[int]] | None, seconds: float
    ) -> tuple[list[list[int]], float] | None:
        """One search from ``start_routes`` (or OR-Tools' own first solution when None)."""
        routing = self.routing
        # OR-Tools checks its clock between moves and can overrun by a few percent on large
        # models; keep a margin and also stop at the first solution found past the deadline.
        params.time_limit.FromMilliseconds(max(1, int(seconds * 950)))
        self.deadline = time.perf_counter() + seconds
        assignment = None
        if params.use_iterated_local_search:
            # OR-Tools builds its own first solution here (it takes no start).
            assignment = routing.SolveWithIteratedLocalSearch(params)
        elif start_routes is not None:
            start = routing.ReadAssignmentFromRoutes(start_routes, True)
            if start is not None:
                assignment = routing.SolveFromAssignmentWithParameters(start, params)
                if assignment is None:
                    assignment = start
            else:
                # After a first search ReadAssignmentFromRoutes refuses any routes; this
                # unchecked form still starts the search from them, and the guided local search
                # keeps the penalties it learnt — but it may end above the start (the caller
                # keeps the best).
                start = routing.solver().Assignment()
                if routing.RoutesToAssignment(start_routes, True, True, start):
                    assignment = routing.SolveFromAssignmentWithParameters(start, params)
        if assignment is None and not params.use_iterated_local_search:
            assignment = routing.SolveWithParameters(params)
        if assignment is None:
            return None
        routes: list[list[int]] = []
        for v in range(len(self.layout.start_node)):
            index = assignment.Value(routing.NextVar(routing.Start(v)))
            nodes: list[int] = []
            while not routing.IsEnd(index):
                nodes.append(self.manager.IndexToNode(index))
                index = assignment.Value(routing.NextVar(index))
            routes.append(nodes)
        return routes, float(assignment.ObjectiveValue())

    def _rounds(
        self,
        params: Any,
        initial: list[list[int]] | None,
        time_limit_s: float,
        options: SolverOptions,
        between_rounds: Callable[[list[list[int]]], list[list[int]] | None],
    ) -> tuple[list[list[int]], float] | None:
        deadline = time.perf_counter() + time_limit_s
        first = self._run(params, initial, time_limit_s * ROUND_SHARES[0])
        if first is None:
            return None
        best = first[0]
        best_cost = total_cost(self.layout, best)
        for i, share in enumerate(ROUND_SHARES[1:], start=1):
            proposal = between_rounds(best)
            left = deadline - time.perf_counter()
            if left <= 0.05 or (proposal is None and options.solution_limit is not None):
                break
            if proposal is not None and total_cost(self.layout, proposal) < best_cost:
                best, best_cost = proposal, total_cost(self.layout, proposal)
            seconds = left if i == len(ROUND_SHARES) - 1 else min(left, time_limit_s * share)
            # The same model goes on from the best so far with the penalties it has learnt
            # (measured: far better than a fresh model); it may end above its start, so the
            # best of rounds and proposals is kept.
            result = self._run(params, best, seconds)
            if result is not None and total_cost(self.layout, result[0]) < best_cost:
                best, best_cost = result[0], total_cost(self.layout, result[0])
            if options.solution_limit is not None:
                break
        return best, self._objective(best)

    def _objective(self, routes: list[list[int]]) -> float:
        """OR-Tools' objective value of ``routes`` (scaled, commutes included)."""
        return (total_cost(self.layout, routes) + self.constant_cost) * COST_SCALE

    def search(
        self,
        initial: list[list[int]] | None,
        time_limit_s: float,
        options: SolverOptions,
        between_rounds: Callable[[list[list[int]]], list[list[int]] | None] | None = None,
    ) -> list[list[int]]:
        """Guided local search from ``initial`` (or OR-Tools' own first solution) until the
        time limit. With ``between_rounds``, the search runs in rounds: after each, that
        function may propose a new start (the best solution seen is kept either way)."""
        routing = self.routing
        params = self._parameters(options)
        self.deadline = math.inf
        solver = routing.solver()

        def stop_when_late() -> None:
            if time.perf_counter() > self.deadline:
                solver.FinishCurrentSearch()

        routing.AddAtSolutionCallback(stop_when_late)
        params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
        routing.CloseModelWithParameters(params)
        result: tuple[list[list[int]], float] | None
        if between_rounds is None:
            result = self._run(params, initial, time_limit_s)
        else:
            result = self._rounds(params, initial, time_limit_s, options, between_rounds)
        if result is None:
            self.last_cost = math.nan
            return [[] for _ in range(len(self.layout.start_node))]
        routes, objective = result
        self.last_cost = objective / COST_SCALE - self.constant_cost
        return routes
