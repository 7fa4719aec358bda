"""Our own first solution: vectorised regret insertion.

Every parcel keeps its cheapest feasible insertion into every route it is allowed on (a (P, V)
table). Each step inserts the parcel with the largest regret (second-best minus best route cost),
or, among parcels with only one possible route, the one with the cheapest insertion; then only
the changed route's column of the table is re-evaluated, for all parcels at all positions at once.
A parcel whose cheapest insertion costs more than its penalty is left unserved.

Works on the "loaded at start" layout (drop-off nodes only), which is what the solver uses it
for, and on the pickup-and-delivery layout (the pickup and drop-off inserted as a pair, at every
pair of positions; the solver starts those from OR-Tools' parallel cheapest insertion instead).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from routing.layout import Layout
from routing.schedule import time_routes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

EPSILON = 1e-6


@functools.lru_cache(maxsize=256)
def _templates(length: int, paired: bool) -> tuple[IntArray, IntArray, IntArray]:
    """Index templates for inserting into a route of ``length`` nodes (start and end included).

    Returns (template, first_slot, second_slot): template[k] lists, for each new sequence, the
    old node position or -1 (the inserted pickup / single stop) or -2 (the inserted drop-off).
    """
    rows: list[list[int]] = []
    firsts: list[int] = []
    seconds: list[int] = []
    old = list(range(length))
    for i in range(length - 1):
        if not paired:
            rows.append(old[: i + 1] + [-1] + old[i + 1 :])
            firsts.append(i)
            seconds.append(i)
            continue
        for j in range(i, length - 1):
            # pickup after old position i, drop-off after old position j
            rows.append(old[: i + 1] + [-1] + old[i + 1 : j + 1] + [-2] + old[j + 1 :])
            firsts.append(i)
            seconds.append(j)
    return np.array(rows, dtype=np.intp), np.array(firsts), np.array(seconds)


class RegretInsertion:
    """Builds routes (lists of node indices, start and end excluded) for every vehicle."""

    def __init__(self, layout: Layout, seed: int = 0, noise: float = 0.0):
        self.layout = layout
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        n_v = len(layout.start_node)
        self.routes: list[list[int]] = [[] for _ in range(n_v)]
        self.load_w = np.zeros(n_v)
        self.load_v = np.zeros(n_v)
        self.count = np.zeros(n_v)

    @classmethod
    def from_routes(cls, layout: Layout, routes: list[list[int]]) -> RegretInsertion:
        """A builder holding ``routes`` (node indices per vehicle) as they are."""
        builder = cls(layout)
        for v, nodes in enumerate(routes):
            builder.routes[v] = list(nodes)
            builder.load_w[v] = float(layout.node_weight_kg[nodes].sum()) if nodes else 0.0
            builder.load_v[v] = float(layout.node_volume_l[nodes].sum()) if nodes else 0.0
            builder.count[v] = len(layout.node_parcel[nodes])
        return builder

    def evaluate(self, v: int, candidates: IntArray) -> tuple[FloatArray, IntArray]:
        """Cheapest insertion cost and template row of each candidate parcel into route v."""
        lay = self.layout
        paired = not lay.loaded_at_start
        base = np.array([lay.start_node[v], *self.routes[v], lay.end_node[v]], dtype=np.intp)
        template, _, _ = _templates(len(base), paired)
        n_c = len(candidates)
        if n_c == 0:
            return np.empty(0), np.empty(0, dtype=np.intp)
        first = lay.dropoff_node[candidates] if not paired else lay.pickup_node[candidates]
        second = lay.dropoff_node[candidates]
        nodes = np.where(template >= 0, base[np.maximum(template, 0)], 0)[None, :, :]
        nodes = np.broadcast_to(nodes, (n_c, *template.shape)).copy()
        nodes = np.where(template[None] == -1, first[:, None, None], nodes)
        nodes = np.where(template[None] == -2, second[:, None, None], nodes)
        leg = lay.duration_s[nodes[..., :-1], nodes[..., 1:]]
        earliest = lay.node_earliest_s[nodes]
        latest = lay.node_latest_s[nodes]
        earliest[..., 0] = lay.earliest_start_s[v]
        latest[..., 0] = lay.latest_start_s[v]
        latest[..., -1] = lay.latest_end_s[v]
        schedule = time_routes(leg, earliest, latest, lay.node_service_s[nodes])
        feasible = schedule.feasible & (
            schedule.span_s <= lay.span_limit_s[v] + EPSILON * np.maximum(1.0, schedule.span_s)
        )
        if paired:
            load_w = np.cumsum(lay.node_weight_kg[nodes], axis=-1)
            load_v = np.cumsum(lay.node_volume_l[nodes], axis=-1)
            feasible &= np.all(load_w <= lay.capacity_weight_kg[v] + EPSILON, axis=-1)
            feasible &= np.all(load_v <= lay.capacity_volume_l[v] + EPSILON, axis=-1)
        else:
            w = self.load_w[v] + lay.node_weight_kg[second]
            vol = self.load_v[v] + lay.node_volume_l[second]
            ok = (w <= lay.capacity_weight_kg[v] + EPSILON) & (
                vol <= lay.capacity_volume_l[v] + EPSILON
            )
            feasible &= ok[:, None]
        feasible &= self.count[v] + 1 <= lay.max_parcels[v]
        distance = lay.distance_m[nodes[..., :-1], nodes[..., 1:]].sum(axis=-1)
        old_distance = float(lay.distance_m[base[:-1], base[1:]].sum())
        cost = lay.cost_per_m[v] * (distance - old_distance)
        cost += lay.compensation[v, lay.node_parcel[second]][:, None]
        if not self.routes[v] and not lay.is_driver[v]:
            cost += lay.fixed_cost[v]
        cost = np.where(feasible, cost, np.inf)
        best_row = np.argmin(cost, axis=1)
        return cost[np.arange(n_c), best_row], best_row

    def insert(self, v: int, parcel: int, row: int) -> None:
        lay = self.layout
        paired = not lay.loaded_at_start
        base = [int(lay.start_node[v]), *self.routes[v], int(lay.end_node[v])]
        template, _, _ = _templates(len(base), paired)
        sequence: list[int] = []
        for t in template[row]:
            if t >= 0:
                sequence.append(base[t])
            elif t == -1:
                node = lay.pickup_node[parcel] if paired else lay.dropoff_node[parcel]
                sequence.append(int(node))
            else:
                sequence.append(int(lay.dropoff_node[parcel]))
        self.routes[v] = sequence[1:-1]
        self.load_w[v] += (
            max(0.0, lay.node_weight_kg[lay.dropoff_node[parcel]]) if not paired else 0
        )
        self.load_v[v] += max(0.0, lay.node_volume_l[lay.dropoff_node[parcel]]) if not paired else 0
        self.count[v] += 1

    def remove(self, v: int, parcel: int) -> None:
        """Take ``parcel`` (loaded at the store) off route ``v``."""
        node = int(self.layout.dropoff_node[parcel])
        self.routes[v] = [n for n in self.routes[v] if n != node]
        self.load_w[v] -= max(0.0, self.layout.node_weight_kg[node])
        self.load_v[v] -= max(0.0, self.layout.node_volume_l[node])
        self.count[v] -= 1

    def run(self, pinned: dict[int, int] | None = None) -> list[list[int]]:
        """Insert pinned parcels first (on their vehicle), then all others by regret."""
        lay = self.layout
        n_p, n_v = lay.n_parcels, len(lay.start_node)
        unassigned = np.ones(n_p, dtype=bool)
        for parcel, vehicle in (pinned or {}).items():
            cost, row = self.evaluate(vehicle, np.array([parcel], dtype=np.intp))
            if np.isfinite(cost[0]):
                self.insert(vehicle, parcel, int(row[0]))
                unassigned[parcel] = False
        best = np.full((n_p, n_v), np.inf)
        best_row = np.zeros((n_p, n_v), dtype=np.intp)
        allowed_t = lay.allowed.T  # (P, V)
        for v in range(n_v):
            candidates = np.flatnonzero(allowed_t[:, v] & unassigned)
            cost, row = self.evaluate(v, candidates)
            best[candidates, v] = cost
            best_row[candidates, v] = row
        jitter = 1.0 + self.noise * self.rng.random(n_p) if self.noise > 0 else np.ones(n_p)
        tie_break = self.rng.random(n_p) * 1e-9
        while True:
            live = np.flatnonzero(unassigned)
            if len(live) == 0:
                break
            table = best[live]
            if n_v >= 2:
                two = np.partition(table, 1, axis=1)[:, :2]
                c1, c2 = two[:, 0], two[:, 1]
            else:
                c1, c2 = table[:, 0], np.full(len(live), np.inf)
            worth = np.isfinite(c1) & (c1 < lay.penalty[live])
            if not np.any(worth):
                break
            with np.errstate(invalid="ignore"):
                regret = np.where(np.isfinite(c2), c2 - c1, np.inf)
            # Parcels with a single option go first (cheapest first), then the largest regret.
            key_single = np.where(worth & ~np.isfinite(regret), -c1 * jitter[live], -np.inf)
            if np.any(np.isfinite(key_single) & worth & ~np.isfinite(regret)):
                pick = int(np.argmax(key_single + tie_break[live]))
            else:
                key = np.where(worth, regret * jitter[live], -np.inf) + tie_break[live]
                pick = int(np.argmax(key))
            parcel = int(live[pick])
            v = int(np.argmin(best[parcel]))
            self.insert(v, parcel, int(best_row[parcel, v]))
            unassigned[parcel] = False
            best[parcel, :] = np.inf
            candidates = np.flatnonzero(allowed_t[:, v] & unassigned)
            cost, row = self.evaluate(v, candidates)
            best[candidates, v] = cost
            best_row[candidates, v] = row
        return self.routes


def regret_insertion(
    layout: Layout, *, seed: int = 0, noise: float = 0.0, pinned: dict[int, int] | None = None
) -> list[list[int]]:
    """Routes (node indices per vehicle) built by regret insertion; see the module docstring."""
    return RegretInsertion(layout, seed=seed, noise=noise).run(pinned)
