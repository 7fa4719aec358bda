"""Route-detour optimisation core for occasional drivers. Pure Python: never imports Django.

Entry points:
- ``solve(problem, *, time_limit_s, seed=0) -> Solution``: batch optimisation (OR-Tools).
- ``best_insertions(routes, parcel, travel, k) -> list[Insertion]``: real-time insertion.
- ``check(problem, solution) -> CheckReport``: the independent checker.
"""

from routing.checker import CheckReport, RouteReport, check
from routing.insertion import (
    Insertion,
    InsertionError,
    RouteSet,
    Trip,
    TripParcel,
    best_insertions,
)
from routing.io import problem_from_json, problem_to_json, solution_from_json, solution_to_json
from routing.model import (
    Parcel,
    Problem,
    ProblemError,
    Route,
    Solution,
    Stop,
    StopKind,
    Vehicle,
    VehicleKind,
)
from routing.solver import SolverOptions, solve
from routing.travel import (
    EuclideanTravel,
    HaversineTravel,
    MatrixTravel,
    TravelError,
    TravelMatrices,
    TravelTimeProvider,
)

__all__ = [
    "CheckReport",
    "EuclideanTravel",
    "HaversineTravel",
    "Insertion",
    "InsertionError",
    "MatrixTravel",
    "Parcel",
    "Problem",
    "ProblemError",
    "Route",
    "RouteReport",
    "RouteSet",
    "Solution",
    "SolverOptions",
    "Stop",
    "StopKind",
    "TravelError",
    "TravelMatrices",
    "TravelTimeProvider",
    "Trip",
    "TripParcel",
    "Vehicle",
    "VehicleKind",
    "best_insertions",
    "check",
    "problem_from_json",
    "problem_to_json",
    "solution_from_json",
    "solution_to_json",
    "solve",
]
