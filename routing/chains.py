"""Ejection chains: one more parcel served by moving a chain of others.

A parcel left out may fit nowhere as the routes stand, yet fit into a route once one of its
parcels leaves — and that parcel may fit into another route once one of *its* parcels leaves, and
so on, until the last one displaced fits somewhere as it is. Local search (OR-Tools' operators,
PyVRP's) makes such a change one move at a time and rarely gets through the intermediate states,
which leave a parcel out or cost more; this is the augmenting path of a matching, found by a
breadth-first search over parcels.

For every route and every parcel on it we keep which other parcels would fit once that one is
out (``RegretInsertion.evaluate``, vectorised over candidates), and which fit as the route
stands. A chain uses each route once, is re-checked move by move as it is applied, and is kept
only when the objective falls (the parcel's penalty against the extra detour); after a chain, only
the routes it changed are re-evaluated. Works on parcels loaded at the store.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from routing.assignment import route_cost_of
from routing.construct import RegretInsertion
from routing.layout import Layout

Chain = list[tuple[int, int, int | None]]  # (parcel, route it goes into, parcel it displaces)


class _Options:
    """What fits where: into each route as it stands, and once each of its parcels is out."""

    def __init__(self, layout: Layout, builder: RegretInsertion) -> None:
        self.layout, self.builder = layout, builder
        self.candidates = [np.flatnonzero(row) for row in layout.allowed]
        self.fits: dict[int, set[int]] = {}  # route -> parcels that fit as it stands
        self.instead: dict[tuple[int, int], set[int]] = {}  # (route, parcel out) -> parcels in

    def parcels_on(self, v: int) -> list[int]:
        return [int(p) for p in self.layout.node_parcel[self.builder.routes[v]]]

    def _fitting(self, v: int) -> set[int]:
        candidates = self.candidates[v]
        if not len(candidates):
            return set()
        cost, _ = self.builder.evaluate(v, candidates)
        return {int(p) for p in candidates[np.isfinite(cost)]}

    def refresh(self, v: int) -> None:
        builder = self.builder
        self.fits[v] = self._fitting(v)
        for key in [key for key in self.instead if key[0] == v]:
            del self.instead[key]
        for parcel in self.parcels_on(v):
            saved = _state(builder, v)
            builder.remove(v, parcel)
            self.instead[(v, parcel)] = self._fitting(v) - {parcel}
            _restore(builder, v, saved)


def _state(builder: RegretInsertion, v: int) -> tuple[list[int], float, float, float]:
    return list(builder.routes[v]), builder.load_w[v], builder.load_v[v], builder.count[v]


def _restore(
    builder: RegretInsertion, v: int, state: tuple[list[int], float, float, float]
) -> None:
    builder.routes[v], builder.load_w[v], builder.load_v[v], builder.count[v] = state


class _Index:
    """The options turned round: per parcel, the routes it fits as they stand and the
    (route, parcel on it) it could take the place of; and the route each parcel is on."""

    def __init__(self, options: _Options, n_routes: int) -> None:
        self.fits_in: dict[int, list[int]] = {}
        for v, parcels in options.fits.items():
            for p in parcels:
                self.fits_in.setdefault(p, []).append(v)
        self.displaces: dict[int, list[tuple[int, int]]] = {}
        for (v, out), parcels in options.instead.items():
            for p in parcels:
                self.displaces.setdefault(p, []).append((v, out))
        self.route_of = {p: v for v in range(n_routes) for p in options.parcels_on(v)}


def _find_chain(index: _Index, start: int) -> Chain | None:
    """The shortest chain that gets parcel ``start`` (left out) onto a route, or None."""
    came_from: dict[int, tuple[int, int] | None] = {start: None}  # parcel -> (its mover, route)
    queue = deque([start])
    while queue:
        parcel = queue.popleft()
        used, step = set(), came_from[parcel]
        while step is not None:  # the routes this branch of the chain already changes
            used.add(step[1])
            step = came_from[step[0]]
        home = index.route_of.get(parcel)
        for v in index.fits_in.get(parcel, []):
            if v != home and v not in used:
                chain: Chain = [(parcel, v, None)]
                child = parcel
                while came_from[child] is not None:
                    mover, route = came_from[child]  # type: ignore[misc]
                    chain.append((mover, route, child))
                    child = mover
                return chain
        for v, out in index.displaces.get(parcel, []):
            if out not in came_from and v != home and v not in used:
                came_from[out] = (parcel, v)
                queue.append(out)
    return None


def _apply(layout: Layout, builder: RegretInsertion, chain: Chain) -> bool:
    """Apply ``chain`` if every move still fits and the objective falls; else leave it undone."""
    touched = {v for _, v, _ in chain}
    before = {v: _state(builder, v) for v in touched}
    old_cost = sum(route_cost_of(layout, v, before[v][0]) for v in touched)
    for parcel, v, out in chain:
        if out is not None:
            builder.remove(v, out)
        cost, row = builder.evaluate(v, np.array([parcel], dtype=np.intp))
        if not np.isfinite(cost[0]):
            break
        builder.insert(v, parcel, int(row[0]))
    else:
        start = chain[-1][0]
        new_cost = sum(route_cost_of(layout, v, builder.routes[v]) for v in touched)
        if new_cost - old_cost < layout.penalty[start]:
            return True
    for v, state in before.items():
        _restore(builder, v, state)
    return False


def leaves_out(layout: Layout, routes: list[list[int]]) -> bool:
    """Some parcel that a vehicle may carry is on no route."""
    served = np.zeros(layout.n_parcels, dtype=bool)
    for nodes in routes:
        served[layout.node_parcel[nodes]] = True
    return bool(np.any(~served & layout.allowed.any(axis=0)))


def serve_more(layout: Layout, routes: list[list[int]], deadline: float) -> list[list[int]]:
    """``routes`` with as many more parcels served by ejection chains as time allows until
    ``deadline`` (``time.perf_counter()``), each chain lowering the objective."""
    if not layout.loaded_at_start or not leaves_out(layout, routes):
        return routes
    builder = RegretInsertion.from_routes(layout, routes)
    options = _Options(layout, builder)
    for v in range(len(routes)):
        if time.perf_counter() >= deadline:
            return routes
        options.refresh(v)
    # Parcels with the fewest vehicles that may carry them first.
    by_scarcity = [int(p) for p in np.argsort(layout.allowed.sum(axis=0), kind="stable")]
    carriable = np.asarray(layout.allowed.any(axis=0), dtype=bool).tolist()
    tried: set[int] = set()
    index = _Index(options, len(routes))
    while time.perf_counter() < deadline:
        left_out = [
            p for p in by_scarcity if carriable[p] and p not in index.route_of and p not in tried
        ]
        if not left_out:
            break
        parcel = left_out[0]
        tried.add(parcel)
        chain = _find_chain(index, parcel)
        if chain is not None and _apply(layout, builder, chain):
            for v in {v for _, v, _ in chain}:
                options.refresh(v)
            index = _Index(options, len(routes))
            tried.clear()  # the routes changed: earlier failures may succeed now
    return [list(nodes) for nodes in builder.routes]
