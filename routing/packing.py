"""Route selection by column generation: which routes, among very many, serve the most parcels.

On a store evening a driver carries a few parcels (2–5) within a tight detour budget, so the
routes one driver can drive are few enough to list, and the evening's question becomes a set
packing: at most one route per vehicle, each parcel on at most one route, for the least cost
(detours, compensation, the penalties of the parcels left out). Local search (OR-Tools', PyVRP's,
our ejection chains) changes one or two routes at a time; the packing weighs all of them at once.

Listing every route is too much (a 200-driver evening has ~400,000), so routes are generated as
they are needed (column generation):

1. The restricted master problem — the linear relaxation of the packing over the routes found so
   far, starting from the current routes and single-parcel routes (each parcel on the vehicles
   it costs least on, and on all of them when it is left out) — is solved by HiGHS
   (``highspy``) with the interior point method, whose prices converge in fewer rounds.
2. Its duals put a price on each parcel and each vehicle. For each driver, the feasible routes over
   the parcels worth the most to it are listed (``_Lister.routes``: sets grown one parcel at a
   time, the new parcel inserted where it costs least in its parent's order, windows and detour
   budget checked by ``schedule.time_routes``; a set that cannot pay for itself even with the
   best parcels added is not grown), and those with a negative reduced cost join the master.
3. When no such route is left, or the time share is spent, an integer packing is sought among
   the routes whose reduced cost leaves room to beat the current ones (the others cannot be in a
   better packing): the relaxation rounded greedily; HiGHS' MIP over the routes of the
   relaxation's optimal face started from the best so far; HiGHS' MIP over every vehicle whose
   route the relaxation does not agree on, the agreed routes held (``AGREEMENTS``); then HiGHS'
   MIP over neighbourhoods of ``NEIGHBOURHOOD`` vehicles that share parcels, every other route
   held, for the time left.
4. Before the neighbourhoods, when the best packing is within one parcel's penalty of the
   relaxation (no parcel left to gain), the master is made to serve at least as many (a last
   row) for the least detour, without the penalties (``_Master.require_served``): its prices
   then weigh detours, which the penalties dwarf, and the routes they generate are shorter; the
   vehicles whose routes this relaxation does not agree on are re-chosen again. 200/400
   evening: this relaxation ends at 121.2 km of detour at 370 served — the bound over every
   route, listed in full — and the packing at 128.4–129.6 km.

Vehicles whose routes are not listed (vans, and any vehicle not loaded at the store) keep their
current route as their only option besides staying empty; routes are listed with up to
``MAX_LISTED`` parcels. Measured on the synthetic 200-driver / 400-parcel evening: the relaxation
over every route (generated to the end, no time limit) bounds what any solution can serve at
370.8 parcels, and the packing from a 366-parcel solution serves 370 in 6 s; on 500/1000 the
bound is 991.5 and the whole solve serves 991 in 30 s (seven runs of seven).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from routing.assignment import MANDATORY_UNSERVED_COST, route_cost_of, total_cost
from routing.layout import Layout
from routing.schedule import time_routes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

EPSILON = 1e-6
MAX_LISTED = 5  # parcels per listed route
CANDIDATES = 24  # parcels per driver and pricing round, the most valuable first
LEVEL_CAP = 4000  # sets grown per size and driver, the most promising first
ADDED_PER_DRIVER = 4  # routes per driver and pricing round, the most negative reduced cost first
CHUNK = 50_000  # orders timed at once
SINGLES_PER_PARCEL = 10  # single-parcel routes per parcel in the first master
# Of the packing's time, for generating routes; the rest for the integer packing. 500/1000, served
# in 30 s: 0.2 → 991, 990, 991; 0.25 → 991, 991, 991; 0.3 → 988–991 in eight runs.
GENERATION_SHARE = 0.25
FACE_TOLERANCE = 1e-7  # relative to the relaxation's value: a route on its optimal face
FIRST_MIP_SHARE = 0.3  # of the time left for the MIP over the relaxation's optimal face
# The best packing's routes with at least these values in the relaxation are held, in turn, while
# the other vehicles' routes are re-chosen, each step for up to AGREEMENT_SHARE of the time left.
AGREEMENTS = (0.5, 0.99)
AGREEMENT_SHARE = 0.5
DETOUR_SHARE = 0.4  # of the time left once the most are served, for generating shorter routes
DETOUR_MIN_S = 0.5  # below this time left, no shorter routes are generated
# Vehicles whose routes are re-chosen together, the others held. Measured on the 500/1000 evening
# (30 s): 20 → 987 served, 30 → 988, 45 → 989.
NEIGHBOURHOOD = 45
NEIGHBOURHOOD_SECONDS = 1.0
LOG = logging.getLogger(__name__)
# INSERTIONS[k][i]: an order of k stops with the new one at position i (−1) and the old ones
# (positions 0..k−2) around it.
INSERTIONS = {
    k: np.array([[*range(i), -1, *range(i, k - 1)] for i in range(k)], dtype=np.intp)
    for k in range(1, MAX_LISTED + 1)
}


@dataclass(frozen=True)
class Listed:
    """Routes of one vehicle: parcels in driving order and the cost of each route."""

    orders: list[tuple[int, ...]]
    costs: FloatArray


@dataclass(frozen=True)
class Relaxation:
    """The master's linear relaxation: its value, what serving each parcel is worth to a route
    (``prize``: its penalty, or the price of the number served when that is required, less the
    parcel's dual), the prices of vehicles (duals, ≥ 0) and the routes' values."""

    value: float
    prize: FloatArray
    vehicle_price: FloatArray
    x: FloatArray


class _Lister:
    """Feasible routes of a layout's drivers (parcels loaded at the store), listed exactly."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        lay = layout
        self.size = np.minimum(lay.max_parcels, MAX_LISTED).astype(np.intp)
        self.listed = lay.is_driver & (self.size >= 1)
        self.single_cost: dict[int, tuple[IntArray, FloatArray]] = {}
        for v in np.flatnonzero(self.listed):
            parcels = np.flatnonzero(lay.allowed[v])
            feasible, cost = self._time(int(v), parcels[:, None])
            self.single_cost[int(v)] = (parcels[feasible], cost[feasible])

    def _time(self, v: int, sets: IntArray) -> tuple[npt.NDArray[np.bool_], FloatArray]:
        """Feasibility and cost of routes visiting ``sets`` (B, k) of parcels in that order."""
        lay = self.layout
        n_b, k = sets.shape
        nodes = np.empty((n_b, k + 2), dtype=np.intp)
        nodes[:, 0], nodes[:, -1] = lay.start_node[v], lay.end_node[v]
        nodes[:, 1:-1] = lay.dropoff_node[sets]
        earliest = lay.node_earliest_s[nodes]
        latest = lay.node_latest_s[nodes]
        earliest[:, 0] = lay.earliest_start_s[v]
        latest[:, 0] = lay.latest_start_s[v]
        latest[:, -1] = lay.latest_end_s[v]
        leg = lay.duration_s[nodes[:, :-1], nodes[:, 1:]]
        schedule = time_routes(leg, earliest, latest, lay.node_service_s[nodes])
        feasible = schedule.feasible & (
            schedule.span_s <= lay.span_limit_s[v] + EPSILON * np.maximum(1.0, schedule.span_s)
        )
        distance = lay.distance_m[nodes[:, :-1], nodes[:, 1:]].sum(axis=1)
        cost = lay.cost_per_m[v] * (distance - lay.direct_m[v])
        cost += lay.compensation[v][sets].sum(axis=1)
        return feasible, cost

    def _best_insertions(
        self, v: int, orders: IntArray, added: IntArray
    ) -> tuple[IntArray, FloatArray]:
        """Each row of ``orders`` (C, k−1) with the parcel ``added`` (C,) inserted where it
        costs least while the route stays feasible: the new orders (C, k) and their costs (inf
        when no position is feasible)."""
        n_c, k = len(orders), orders.shape[1] + 1
        template = INSERTIONS[k]  # (k, k): old positions, −1 for the new parcel
        step = max(1, CHUNK // k)
        new_orders = np.empty((n_c, k), dtype=np.intp)
        costs = np.empty(n_c)
        for first in range(0, n_c, step):
            part, extra = orders[first : first + step], added[first : first + step]
            candidates = np.where(
                template[None] >= 0,
                part[:, np.maximum(template, 0)],
                extra[:, None, None],
            )  # (C, k positions, k)
            feasible, cost = self._time(v, candidates.reshape(-1, k))
            cost = np.where(feasible, cost, np.inf).reshape(len(part), k)
            best = np.argmin(cost, axis=1)
            rows = np.arange(len(part))
            new_orders[first : first + step] = candidates[rows, best]
            costs[first : first + step] = cost[rows, best]
        return new_orders, costs

    def routes(self, v: int, prize: FloatArray, price: float) -> Listed:
        """Routes of vehicle ``v`` whose reduced cost (cost − Σ prize + price) is negative,
        over its ``CANDIDATES`` parcels with the largest prize net of their single-route cost."""
        lay = self.layout
        parcels, single = self.single_cost[v]
        gain = prize[parcels] - single
        useful = prize[parcels] > EPSILON
        order = np.argsort(-gain[useful], kind="stable")[:CANDIDATES]
        candidates = np.sort(parcels[useful][order])
        out = Listed([], np.empty(0))
        if not len(candidates):
            return out
        size = int(self.size[v])
        top = np.sort(prize[candidates])[::-1]
        sets = candidates[:, None]
        feasible, costs = self._time(v, sets)
        sets, costs = sets[feasible], costs[feasible]
        orders = sets
        found_sets, found_orders, found_costs = [], [], []
        k = 1
        while len(sets):
            reduced = costs - prize[sets].sum(axis=1) + price
            take = reduced < -EPSILON
            found_sets.append(sets[take])
            found_orders.append(orders[take])
            found_costs.append(costs[take])
            if k >= size:
                break
            # Grow each set by a parcel after its last one (each set is reached once).
            after = np.searchsorted(candidates, sets[:, -1], side="right")
            counts = len(candidates) - after
            parent = np.repeat(np.arange(len(sets)), counts)
            if not len(parent):
                break
            added = np.concatenate([candidates[a:] for a in after])
            grown = np.concatenate([sets[parent], added[:, None]], axis=1)
            k += 1
            # The grown set costs at least its parent; with the best parcels added it must pay.
            worth = prize[grown].sum(axis=1) + top[: size - k].sum() - costs[parent] - price
            fits = (
                (
                    lay.node_weight_kg[lay.dropoff_node[grown]].sum(axis=1)
                    <= lay.capacity_weight_kg[v] + EPSILON
                )
                & (
                    lay.node_volume_l[lay.dropoff_node[grown]].sum(axis=1)
                    <= lay.capacity_volume_l[v] + EPSILON
                )
                & (worth > EPSILON)
            )
            grown, worth, parent = grown[fits], worth[fits], parent[fits]
            if len(grown) > LEVEL_CAP:
                best = np.argsort(-worth, kind="stable")[:LEVEL_CAP]
                grown, parent = grown[best], parent[best]
            orders, costs = self._best_insertions(v, orders[parent], grown[:, -1])
            keep = np.isfinite(costs)
            sets, orders, costs = grown[keep], orders[keep], costs[keep]
        all_costs = np.concatenate(found_costs)
        if not len(all_costs):
            return out
        reduced = all_costs - np.concatenate([prize[s].sum(axis=1) for s in found_sets]) + price
        best = np.argsort(reduced, kind="stable")[:ADDED_PER_DRIVER]
        all_orders = np.concatenate(
            [
                np.pad(o, ((0, 0), (0, MAX_LISTED - o.shape[1])), constant_values=-1)
                for o in found_orders
            ]
        )
        return Listed(
            [tuple(int(p) for p in row if p >= 0) for row in all_orders[best]],
            all_costs[best],
        )


class _Master:
    """The packing over the routes found so far: rows are parcels then vehicles (≤ 1 each)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.n_parcels, self.n_vehicles = layout.n_parcels, len(layout.start_node)
        self.penalty = np.where(
            np.isfinite(layout.penalty), layout.penalty, MANDATORY_UNSERVED_COST
        )
        self.vehicle: list[int] = []
        self.order: list[tuple[int, ...]] = []  # parcels in driving order
        self.cost: list[float] = []
        self.known: set[tuple[int, tuple[int, ...]]] = set()
        self.highs = self._new()
        self.served_row = False  # a last row: at least so many parcels served, detours least

    def _new(self, n_rows: int | None = None) -> highspy.Highs:
        """A HiGHS model with ``n_rows`` rows (default: one per parcel and per vehicle), each
        at most 1."""
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        n_rows = self.n_parcels + self.n_vehicles if n_rows is None else n_rows
        empty = np.empty(0, dtype=np.int32)
        highs.addRows(
            n_rows,
            np.full(n_rows, -highspy.kHighsInf),
            np.ones(n_rows),
            0,
            empty,
            empty,
            np.empty(0),
        )
        return highs

    def add(self, v: int, orders: list[tuple[int, ...]], costs: list[float]) -> int:
        """Add the routes of vehicle ``v`` not in the master yet; returns how many."""
        starts: list[int] = []
        rows: list[int] = []
        values: list[float] = []
        column_costs: list[float] = []
        for order, cost in zip(orders, costs, strict=True):
            key = (v, tuple(sorted(order)))
            if key in self.known or not order:
                continue
            self.known.add(key)
            self.vehicle.append(v)
            self.order.append(order)
            self.cost.append(cost)
            starts.append(len(rows))
            rows.extend(key[1])
            rows.append(self.n_parcels + v)
            values.extend([1.0] * (len(order) + 1))
            if self.served_row:
                rows.append(self.n_parcels + self.n_vehicles)
                values.append(float(len(order)))
                column_costs.append(cost)
            else:
                column_costs.append(self.column_cost(len(self.order) - 1))
        n = len(starts)
        if n:
            self.highs.addCols(
                n,
                np.array(column_costs),
                np.zeros(n),
                np.full(n, highspy.kHighsInf),
                len(rows),
                np.array(starts, dtype=np.int32),
                np.array(rows, dtype=np.int32),
                np.array(values),
            )
        return n

    def require_served(self, served: int) -> None:
        """From now on the relaxation serves at least ``served`` parcels for the least cost
        without penalties: its prices then weigh detours, which the penalties dwarf."""
        if self.served_row:
            raise RuntimeError("the number served is required once")
        n = len(self.order)
        counts = np.array([len(order) for order in self.order], dtype=np.float64)
        self.highs.addRow(float(served), highspy.kHighsInf, n, np.arange(n, dtype=np.int32), counts)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(self.cost))
        self.served_row = True

    def relax(self, seconds: float) -> Relaxation | None:
        """Solve the relaxation over the routes so far; None when it did not finish. By the
        interior point method without crossover: its prices lie inside the optimal face rather
        than at a vertex, which makes the generation converge in fewer rounds (500/1000
        evening: the relaxation at 990.0 parcels after 5 rounds, against 986.9 with the simplex
        method) and each solve is faster."""
        highs = self.highs
        # HiGHS (1.x) measures its time limit against the model's run time summed over every
        # solve, not against this solve's.
        highs.setOptionValue("time_limit", highs.getRunTime() + max(0.01, seconds))
        highs.setOptionValue("solver", "ipm")
        highs.setOptionValue("run_crossover", "off")
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # Without crossover the interior point method may end undecided (seen on tiny
            # masters): the simplex method then.
            highs.setOptionValue("solver", "simplex")
            highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            LOG.debug("packing: relaxation not solved (%s)", highs.getModelStatus())
            return None
        solution = highs.getSolution()
        dual = -np.asarray(solution.row_dual)
        parcels, vehicles = self.n_parcels, self.n_parcels + self.n_vehicles
        worth = np.full(parcels, -dual[vehicles]) if self.served_row else self.penalty
        return Relaxation(
            value=float(highs.getInfo().objective_function_value),
            prize=worth - dual[:parcels],
            vehicle_price=dual[parcels:vehicles],
            x=np.asarray(solution.col_value),
        )

    def rounded(self, x: FloatArray) -> set[int]:
        """A packing read off the relaxation: routes taken by decreasing value, each when its
        parcels and its vehicle are still free."""
        taken: set[int] = set()
        parcels_used: set[int] = set()
        vehicles_used: set[int] = set()
        for j in np.argsort(-x, kind="stable"):
            if x[j] <= EPSILON:
                break
            v, order = self.vehicle[j], self.order[j]
            if v in vehicles_used or parcels_used.intersection(order):
                continue
            taken.add(int(j))
            vehicles_used.add(v)
            parcels_used.update(order)
        return taken

    def value(self, columns: set[int]) -> float:
        """The packing's objective (route costs less the penalties they save), which the
        integer packings minimise."""
        return sum(self.column_cost(j) for j in columns)

    def column_cost(self, j: int) -> float:
        """Route j's coefficient in the packing's objective: its cost less the penalties it
        saves (also in the relaxation until ``require_served``)."""
        return self.cost[j] - float(self.penalty[list(self.order[j])].sum())

    def reduced_costs(self, relaxed: Relaxation) -> FloatArray:
        """Each route's reduced cost under the prices of ``relaxed``: its cost less the prizes
        of its parcels plus its vehicle's price."""
        prize, vehicle_price = relaxed.prize, relaxed.vehicle_price
        return np.array(
            [
                cost - float(prize[list(order)].sum()) + vehicle_price[v]
                for v, order, cost in zip(self.vehicle, self.order, self.cost, strict=True)
            ]
        )

    def integer(
        self, keep: npt.NDArray[np.bool_], start: set[int], seconds: float
    ) -> set[int] | None:
        """The best integer packing over the columns in ``keep`` found in ``seconds``, started
        from the columns in ``start``: the chosen columns, or None. The model has a row only
        for the parcels and vehicles these columns touch."""
        columns = np.flatnonzero(keep)
        starts: list[int] = []
        touched: list[int] = []
        for j in columns:
            starts.append(len(touched))
            touched.extend(sorted(self.order[j]))
            touched.append(self.n_parcels + self.vehicle[j])
        used, rows = np.unique(np.array(touched, dtype=np.intp), return_inverse=True)
        highs = self._new(len(used))
        cost = np.array([self.column_cost(int(j)) for j in columns])
        n = len(columns)
        highs.addCols(
            n,
            cost,
            np.zeros(n),
            np.ones(n),
            len(rows),
            np.array(starts, dtype=np.int32),
            np.array(rows, dtype=np.int32),
            np.ones(len(rows)),
        )
        highs.changeColsIntegrality(
            n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n)
        )
        solution = highspy.HighsSolution()
        solution.col_value = [1.0 if int(j) in start else 0.0 for j in columns]
        solution.value_valid = True
        highs.setSolution(solution)
        highs.setOptionValue("time_limit", max(0.01, seconds))
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.run()
        if highs.getInfo().primal_solution_status != 2:  # no feasible point
            return None
        values = np.asarray(highs.getSolution().col_value)
        return {int(columns[i]) for i in np.flatnonzero(values > 0.5)}


def applies(layout: Layout) -> bool:
    """Parcels are loaded at the store and some driver has room for several."""
    return layout.loaded_at_start and bool(np.any(layout.is_driver & (layout.max_parcels >= 2)))


def improve_by_packing(layout: Layout, routes: list[list[int]], deadline: float) -> list[list[int]]:
    """``routes`` (drop-off nodes per vehicle) re-chosen by column generation and set packing
    until ``deadline`` (``time.perf_counter()``); ``routes`` itself when nothing cheaper was
    found. See the module docstring."""
    lay = layout
    if not applies(lay):
        return routes
    began = time.perf_counter()
    generate_until = began + GENERATION_SHARE * (deadline - began)
    lister = _Lister(lay)
    master = _Master(lay)
    start: set[int] = set()
    for v, nodes in enumerate(routes):
        parcels = tuple(int(p) for p in lay.node_parcel[nodes])
        if master.add(v, [parcels], [route_cost_of(lay, v, list(nodes))]):
            start.add(len(master.order) - 1)
    # Each parcel starts with its single-parcel routes on the vehicles it costs least on, all of
    # them for parcels left out: the relaxation then moves from the first round.
    served = np.zeros(lay.n_parcels, dtype=bool)
    for nodes in routes:
        served[lay.node_parcel[nodes]] = True
    single = np.full((master.n_vehicles, lay.n_parcels), np.inf)
    for v, (options, costs) in lister.single_cost.items():
        single[v, options] = costs
    rank = np.argsort(np.argsort(single, axis=0, kind="stable"), axis=0, kind="stable")
    for v, (options, costs) in lister.single_cost.items():
        chosen = ~served[options] | (rank[v, options] < SINGLES_PER_PARCEL)
        master.add(v, [(int(p),) for p in options[chosen]], costs[chosen].tolist())
    relaxed = _generate(master, lister, generate_until)
    if relaxed is None:
        return routes
    chosen = _integer_packing(master, lister, relaxed, start, total_cost(lay, routes), deadline)
    packed: list[list[int]] = [[] for _ in routes]
    for j in chosen:
        packed[master.vehicle[j]] = [int(lay.dropoff_node[p]) for p in master.order[j]]
    if total_cost(lay, packed) >= total_cost(lay, routes) - EPSILON:
        return routes
    return packed


def _generate(master: _Master, lister: _Lister, until: float) -> Relaxation | None:
    """Routes with a negative reduced cost added to the master, round by round, until none is
    left or ``until``: the last relaxation solved, or None."""
    began = time.perf_counter()
    relaxed = None
    while time.perf_counter() < until:
        lp_began = time.perf_counter()
        solved = master.relax(until - time.perf_counter())
        lp_s = time.perf_counter() - lp_began
        if solved is None:
            break
        relaxed = solved
        added = 0
        for v in lister.single_cost:
            if time.perf_counter() >= until:
                break
            listed = lister.routes(v, solved.prize, float(solved.vehicle_price[v]))
            added += master.add(v, listed.orders, listed.costs.tolist())
        LOG.debug(
            "packing: %d routes, relaxation %.1f (%.2f s), %d added, %.2f s",
            len(master.order),
            solved.value,
            lp_s,
            added,
            time.perf_counter() - began,
        )
        if not added:
            break
    return relaxed


def _integer_packing(
    master: _Master,
    lister: _Lister,
    relaxed: Relaxation,
    start: set[int],
    start_cost: float,
    deadline: float,
) -> set[int]:
    """The best packing found until ``deadline``: the start, the relaxation rounded, HiGHS' MIP
    over the routes where the relaxation's optimum lies (reduced cost 0), the MIPs over the
    vehicles whose routes the relaxation does not agree on (``_by_agreement``), the routes of a
    relaxation that must serve as many for the least detour and the vehicles it does not agree
    on, then MIPs over neighbourhoods of vehicles with the others held
    (``_by_neighbourhoods``)."""
    # The master's objective leaves out the penalty of every parcel.
    best, best_value = set(start), start_cost - float(master.penalty.sum())
    rounded = master.rounded(relaxed.x)
    LOG.debug(
        "packing: relaxation %.1f, rounded %.1f, start %.1f",
        relaxed.value,
        master.value(rounded),
        best_value,
    )
    if master.value(rounded) < best_value:
        best, best_value = rounded, master.value(rounded)
    reduced, usable = _usable(master, relaxed, best, best_value)
    # The interior point method leaves reduced costs near 0, not at 0, on its optimal face.
    keep = usable & (reduced <= FACE_TOLERANCE * max(1.0, abs(relaxed.value)))
    keep[list(best)] = True
    left = deadline - time.perf_counter()
    if left > 0.05:
        chosen = master.integer(keep, best, FIRST_MIP_SHARE * left)
        if chosen is not None and master.value(chosen) < best_value - EPSILON:
            best, best_value = chosen, master.value(chosen)
        LOG.debug("packing: MIP over %d routes: %.1f", int(keep.sum()), best_value)
    for agreement in AGREEMENTS:
        best = _by_agreement(master, best, usable, _values(master, relaxed) >= agreement, deadline)
    # When the best packing is within a parcel's penalty of the relaxation, no parcel is left to
    # gain: the relaxation that must serve as many then prices the parcels by the detour they
    # cost, and the routes it generates shorten the packed ones. Else the neighbourhoods get the
    # time to serve more.
    left = deadline - time.perf_counter()
    served_all = master.value(best) - relaxed.value < float(master.penalty.min(initial=np.inf))
    if served_all and left > DETOUR_MIN_S:
        master.require_served(sum(len(master.order[j]) for j in best))
        shorter = _generate(master, lister, time.perf_counter() + DETOUR_SHARE * left)
        if shorter is not None:
            _, usable = _usable(master, relaxed, best, master.value(best))
            agreed = _values(master, shorter) >= AGREEMENTS[0]
            best = _by_agreement(master, best, usable, agreed, deadline)
    return _by_neighbourhoods(master, best, usable, deadline)


def _values(master: _Master, relaxed: Relaxation) -> FloatArray:
    """The routes' values in ``relaxed``; 0 for those added after it was solved."""
    x = np.zeros(len(master.order))
    x[: len(relaxed.x)] = relaxed.x
    return x


def _usable(
    master: _Master, relaxed: Relaxation, best: set[int], best_value: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Reduced-cost fixing: with the duals of ``relaxed`` (the packing's own objective), a
    packing that uses route j costs at least the relaxation's value + rc_j + the most negative
    reduced cost of each vehicle (routes added after that relaxation may have some); a route
    that cannot beat ``best`` is not usable. The reduced costs, and which routes are usable."""
    reduced = master.reduced_costs(relaxed)
    lowest = np.zeros(master.n_vehicles)
    np.minimum.at(lowest, np.array(master.vehicle, dtype=np.intp), reduced)
    room = best_value - relaxed.value - float(lowest.sum()) + EPSILON * max(1.0, abs(best_value))
    usable = reduced <= room
    usable[list(best)] = True
    return reduced, usable


def _by_agreement(
    master: _Master,
    best: set[int],
    usable: npt.NDArray[np.bool_],
    agreed: npt.NDArray[np.bool_],
    deadline: float,
) -> set[int]:
    """``best`` with its routes that the relaxation agrees on (``agreed``) held and every other
    vehicle's route re-chosen by HiGHS' MIP among all its usable routes (relaxation induced
    neighbourhood search). The MIP over the optimal face is too narrow to serve the most, and the
    one over every route too wide to finish; this one is in between. 500/1000 evening, from the
    face MIP's 986 served: 991 (the most the routes allow) in 0.9 s with agreement ≥ 0.5."""
    left = deadline - time.perf_counter()
    if left <= 0.05:
        return best
    held_vehicles = {master.vehicle[j] for j in best if agreed[j]}
    free = set(range(master.n_vehicles)) - held_vehicles
    candidates = [j for j in np.flatnonzero(usable).tolist() if master.vehicle[j] in free]
    better = _rechoose(master, best, free, candidates, AGREEMENT_SHARE * left)
    LOG.debug(
        "packing: %d routes held, %d vehicles re-chosen: %.1f",
        len(held_vehicles),
        len(free),
        master.value(better if better is not None else best),
    )
    return best if better is None else better


def _rechoose(
    master: _Master, best: set[int], free: set[int], candidates: list[int], seconds: float
) -> set[int] | None:
    """The routes of the vehicles in ``free`` re-chosen by HiGHS' MIP among ``candidates``
    (routes of theirs), every other route of ``best`` held, so that parcels on held routes are
    not available: the packing when it is better than ``best``, else None."""
    inside = {j for j in best if master.vehicle[j] in free}
    held_parcels = {p for j in best - inside for p in master.order[j]}
    keep = np.zeros(len(master.order), dtype=bool)
    for j in candidates:
        if master.vehicle[j] in free and held_parcels.isdisjoint(master.order[j]):
            keep[j] = True
    keep[list(inside)] = True
    chosen = master.integer(keep, inside, seconds) if seconds > 0.01 else None
    if chosen is None or master.value(chosen) >= master.value(inside) - EPSILON:
        return None
    return (best - inside) | chosen


def _by_neighbourhoods(
    master: _Master, best: set[int], usable: npt.NDArray[np.bool_], deadline: float
) -> set[int]:
    """``best`` improved neighbourhood by neighbourhood until ``deadline``: a vehicle and the
    vehicles that share parcels with it among the usable routes, breadth first, up to
    ``NEIGHBOURHOOD`` of them (every other one starting at a vehicle that could carry a parcel
    left out); their routes re-chosen by HiGHS' MIP with every other route held
    (parcels on held routes are not available). Stops when a whole round of neighbourhoods
    brings nothing."""
    columns_of: list[list[int]] = [[] for _ in range(master.n_vehicles)]
    vehicles_of: list[set[int]] = [set() for _ in range(master.n_parcels)]
    for j in np.flatnonzero(usable).tolist():
        v = master.vehicle[j]
        columns_of[v].append(j)
        for p in master.order[j]:
            vehicles_of[p].add(v)
    served = {p for j in best for p in master.order[j]}
    wanted = sorted({v for p in range(master.n_parcels) if p not in served for v in vehicles_of[p]})
    seeds = [v for v in range(master.n_vehicles) if len(columns_of[v]) > 1]
    rng = np.random.default_rng(0)
    best = set(best)
    stale, i = 0, 0
    # Every other neighbourhood starts at a vehicle that could carry a parcel left out.
    while seeds and stale < len(seeds) and time.perf_counter() < deadline:
        if not wanted or i % 2:
            seed = seeds[int(rng.integers(len(seeds)))]
        else:
            seed = wanted[int(rng.integers(len(wanted)))]
        i += 1
        hood: list[int] = []
        seen = {seed}
        queue = [seed]
        while queue and len(hood) < NEIGHBOURHOOD:
            v = queue.pop(0)
            hood.append(v)
            for j in columns_of[v]:
                for p in master.order[j]:
                    for w in vehicles_of[p] - seen:
                        seen.add(w)
                        queue.append(w)
        candidates = [j for v in hood for j in columns_of[v]]
        seconds = min(NEIGHBOURHOOD_SECONDS, deadline - time.perf_counter())
        better = _rechoose(master, best, set(hood), candidates, seconds)
        if better is not None:
            best = better
            stale = 0
            served = {p for j in best for p in master.order[j]}
            wanted = sorted(
                {v for p in range(master.n_parcels) if p not in served for v in vehicles_of[p]}
            )
        else:
            stale += 1
    LOG.debug("packing: %d neighbourhoods, %.1f", i, master.value(best))
    return best
