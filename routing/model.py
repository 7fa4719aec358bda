"""Inputs and outputs of the routing core: frozen dataclasses, units in the names.

Times are seconds from one reference instant chosen by the caller (epoch seconds work; so do
seconds since midnight). Distances are metres for the haversine provider and "units" for the
Euclidean benchmark provider; costs are in the same unit as ``cost_per_m`` × distance, usually
metres of detour. Locations are rows of ``Problem.locations``: (lat, lng) degrees for the
haversine provider, (x, y) for the Euclidean one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from routing.travel import TravelMatrices, TravelTimeProvider

FloatArray = npt.NDArray[np.float64]


class ProblemError(ValueError):
    """The problem cannot be solved as given (bad shape, negative capacity, reversed window…)."""


class VehicleKind(StrEnum):
    DRIVER = "driver"  # occasional driver: store -> own home, paid by detour or compensation
    VAN = "van"  # the store's own vehicle: closed route, paid per metre (+ a fixed cost if used)


class StopKind(StrEnum):
    PICKUP = "pickup"
    DROPOFF = "dropoff"


@dataclass(frozen=True)
class Parcel:
    """One parcel: picked up at ``pickup``, delivered at ``dropoff`` (location indices).

    ``penalty`` is the cost of leaving it unserved; ``None`` means it must be served (a solution
    that leaves it out is infeasible).
    """

    id: str
    pickup: int
    dropoff: int
    weight_kg: float = 0.0
    volume_l: float = 0.0
    longest_side_cm: float = 0.0
    pickup_earliest_s: float = -math.inf
    pickup_latest_s: float = math.inf
    pickup_service_s: float = 0.0
    delivery_earliest_s: float = -math.inf
    delivery_latest_s: float = math.inf
    delivery_service_s: float = 0.0
    penalty: float | None = None


@dataclass(frozen=True)
class Vehicle:
    """A driver's trip home or a store van.

    A driver's cost is ``cost_per_m`` × its detour in distance (route minus the direct drive
    start -> end) plus the compensation of each parcel it carries. A van's cost is
    ``fixed_cost`` (if it serves anything) plus ``cost_per_m`` × its route distance.
    ``max_detour_s`` bounds (arrival at end - departure) - direct drive time.
    ``max_parcels`` bounds the number of parcels on the route. ``allowed_parcels`` (ids) restricts
    which parcels the vehicle may carry; ``None`` allows all.
    """

    id: str
    kind: VehicleKind
    start: int
    end: int
    earliest_start_s: float = -math.inf
    latest_start_s: float = math.inf
    latest_end_s: float = math.inf
    capacity_weight_kg: float = math.inf
    capacity_volume_l: float = math.inf
    max_longest_side_cm: float = math.inf
    max_parcels: int | None = None
    max_detour_s: float | None = None
    cost_per_m: float = 1.0
    fixed_cost: float = 0.0
    compensation_per_parcel: float = 0.0
    compensation: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    allowed_parcels: frozenset[str] | None = None

    def compensation_for(self, parcel_id: str) -> float:
        """Compensation paid to this vehicle for carrying ``parcel_id`` (cost units)."""
        return self.compensation.get(parcel_id, self.compensation_per_parcel)


@dataclass(frozen=True, eq=False)
class Problem:
    """Who can carry what: locations, vehicles, parcels, travel times, pinned assignments.

    ``pinned`` maps a parcel id to the vehicle id that already holds it (accepted assignment);
    the solver keeps it on that vehicle and treats it as mandatory.

    Raises:
        ProblemError: on a malformed problem (see ``validate``).
    """

    locations: FloatArray
    vehicles: tuple[Vehicle, ...]
    parcels: tuple[Parcel, ...]
    travel: TravelTimeProvider
    pinned: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        locations = np.asarray(self.locations, dtype=np.float64)
        object.__setattr__(self, "locations", locations)
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "parcels", tuple(self.parcels))
        self.validate()

    def validate(self) -> None:
        """Raise ``ProblemError`` with a clear message on the first malformed input found."""
        if self.locations.ndim != 2 or self.locations.shape[1] != 2:
            raise ProblemError(f"locations must have shape (n, 2), got {self.locations.shape}")
        if not np.all(np.isfinite(self.locations)):
            raise ProblemError("locations must be finite numbers")
        n = len(self.locations)
        ids = [v.id for v in self.vehicles]
        if len(set(ids)) != len(ids):
            raise ProblemError("vehicle ids must be unique")
        pids = [p.id for p in self.parcels]
        if len(set(pids)) != len(pids):
            raise ProblemError("parcel ids must be unique")
        for v in self.vehicles:
            for name in ("start", "end"):
                index = getattr(v, name)
                if not 0 <= index < n:
                    raise ProblemError(f"vehicle {v.id}: {name} location {index} out of range")
            for name in ("capacity_weight_kg", "capacity_volume_l", "max_longest_side_cm"):
                if getattr(v, name) < 0:
                    raise ProblemError(f"vehicle {v.id}: {name} must not be negative")
            if v.max_parcels is not None and v.max_parcels < 0:
                raise ProblemError(f"vehicle {v.id}: max_parcels must not be negative")
            if v.max_detour_s is not None and v.max_detour_s < 0:
                raise ProblemError(f"vehicle {v.id}: max_detour_s must not be negative")
            if v.earliest_start_s > v.latest_start_s:
                raise ProblemError(f"vehicle {v.id}: departure window is reversed")
            if v.earliest_start_s > v.latest_end_s:
                raise ProblemError(f"vehicle {v.id}: latest_end_s is before earliest_start_s")
            if v.cost_per_m < 0 or v.fixed_cost < 0:
                raise ProblemError(f"vehicle {v.id}: costs must not be negative")
        for p in self.parcels:
            for name in ("pickup", "dropoff"):
                index = getattr(p, name)
                if not 0 <= index < n:
                    raise ProblemError(f"parcel {p.id}: {name} location {index} out of range")
            for name in ("weight_kg", "volume_l", "longest_side_cm"):
                if getattr(p, name) < 0:
                    raise ProblemError(f"parcel {p.id}: {name} must not be negative")
            if p.pickup_earliest_s > p.pickup_latest_s:
                raise ProblemError(f"parcel {p.id}: pickup window is reversed")
            if p.delivery_earliest_s > p.delivery_latest_s:
                raise ProblemError(f"parcel {p.id}: delivery window is reversed")
            if p.pickup_service_s < 0 or p.delivery_service_s < 0:
                raise ProblemError(f"parcel {p.id}: service time must not be negative")
            if p.penalty is not None and p.penalty < 0:
                raise ProblemError(f"parcel {p.id}: penalty must not be negative")
        vehicle_ids = set(ids)
        parcel_ids = set(pids)
        for parcel_id, vehicle_id in self.pinned.items():
            if parcel_id not in parcel_ids:
                raise ProblemError(f"pinned parcel {parcel_id} is not in the problem")
            if vehicle_id not in vehicle_ids:
                raise ProblemError(f"parcel {parcel_id} is pinned to unknown vehicle {vehicle_id}")

    @cached_property
    def matrices(self) -> TravelMatrices:
        """Travel duration (s) and distance (m) between every pair of locations."""
        result = self.travel.between(self.locations, self.locations)
        n = len(self.locations)
        if result.duration_s.shape != (n, n) or result.distance_m.shape != (n, n):
            raise ProblemError(
                f"travel matrices have shape {result.duration_s.shape}, expected {(n, n)}"
            )
        return result

    @cached_property
    def parcel_index(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.parcels)}

    @cached_property
    def vehicle_index(self) -> dict[str, int]:
        return {v.id: i for i, v in enumerate(self.vehicles)}


@dataclass(frozen=True)
class Stop:
    """One visit on a route: the pickup or drop-off of parcel number ``parcel`` (an index)."""

    parcel: int
    kind: StopKind


@dataclass(frozen=True)
class Route:
    """The ordered stops of vehicle number ``vehicle`` (an index), between its start and end."""

    vehicle: int
    stops: tuple[Stop, ...] = ()

    @property
    def parcels(self) -> tuple[int, ...]:
        return tuple(s.parcel for s in self.stops if s.kind is StopKind.DROPOFF)


@dataclass(frozen=True)
class Solution:
    """One route per vehicle (empty when unused) and the parcels left unserved (indices).

    ``cost`` is the solver's own evaluation; use ``routing.checker.check`` for an independent one.
    """

    routes: tuple[Route, ...]
    unserved: tuple[int, ...]
    cost: float = math.nan
    stats: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def served(self) -> int:
        return sum(len(r.parcels) for r in self.routes)
