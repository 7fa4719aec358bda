"""Vectorised timing of many candidate routes at once (used by construction and insertion).

A batch is B routes of N nodes each: node 0 is the start (its window is the departure window),
node N-1 the end. A route leaves at its earliest departure, and then delays departure by as much
as the waiting on the way allows without breaking a later window; its span is the time from that
departure to arrival at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

EPSILON_S = 1e-6


@dataclass(frozen=True)
class ScheduleBatch:
    feasible: BoolArray
    departure_s: FloatArray
    span_s: FloatArray


def time_routes(
    leg_s: FloatArray, earliest_s: FloatArray, latest_s: FloatArray, service_s: FloatArray
) -> ScheduleBatch:
    """Time B routes: ``leg_s`` (B, N-1), the other arrays (B, N).

    Returns feasibility against every window, the chosen departure and the span (seconds).
    """
    first_latest = latest_s[..., 0]
    t0 = np.where(
        np.isfinite(earliest_s[..., 0]), earliest_s[..., 0], np.minimum(0.0, first_latest)
    )
    t = t0.copy()
    feasible = np.ones(t.shape, dtype=bool)
    waiting = np.zeros(t.shape)
    room = np.full(t.shape, np.inf)
    for k in range(1, earliest_s.shape[-1]):
        arrival = t + service_s[..., k - 1] + leg_s[..., k - 1]
        begin = np.maximum(arrival, earliest_s[..., k])
        latest = latest_s[..., k]
        # An absolute tolerance: times may be epoch seconds, where a relative one would let a
        # route arrive half an hour late.
        feasible &= begin <= latest + EPSILON_S * np.maximum(1.0, leg_s[..., k - 1])
        waiting += begin - arrival
        room = np.minimum(room, latest - begin + waiting)
        t = begin
    delay = np.clip(np.minimum(np.minimum(first_latest - t0, waiting), room), 0.0, None)
    departure = t0 + delay
    return ScheduleBatch(feasible=feasible, departure_s=departure, span_s=t - departure)
