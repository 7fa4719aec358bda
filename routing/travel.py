"""Travel times and distances behind one interface, vectorised (no per-pair Python loop).

A point is a row (a, b) of a float array: (lat, lng) degrees for ``HaversineTravel``, (x, y)
for ``EuclideanTravel``, and any of the known points for ``MatrixTravel``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8


class TravelError(ValueError):
    """Travel times cannot be computed for these points (wrong shape, unknown point)."""


@dataclass(frozen=True)
class TravelMatrices:
    """Durations (s) and distances (m) from each origin (rows) to each destination (columns)."""

    duration_s: FloatArray
    distance_m: FloatArray


@runtime_checkable
class TravelTimeProvider(Protocol):
    """Anything that turns points into travel durations and distances."""

    def between(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        """Matrices of shape (len(origins), len(destinations))."""
        ...

    def paired(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        """Element-wise travel from origins[i] to destinations[i]; both arrays (..., 2)."""
        ...


def _points(points: FloatArray) -> FloatArray:
    array = np.asarray(points, dtype=np.float64)
    if array.shape[-1:] != (2,):
        raise TravelError(f"points must have shape (..., 2), got {array.shape}")
    return array


@dataclass(frozen=True)
class HaversineTravel:
    """Great-circle distance × ``circuity`` driven at ``speed_kmh``; points are (lat, lng)."""

    speed_kmh: float = 30.0
    circuity: float = 1.3

    def __post_init__(self) -> None:
        if self.speed_kmh <= 0 or self.circuity < 1.0:
            raise TravelError("speed_kmh must be positive and circuity at least 1")

    def _distance_m(self, a: FloatArray, b: FloatArray) -> FloatArray:
        lat1, lng1 = np.radians(a[..., 0]), np.radians(a[..., 1])
        lat2, lng2 = np.radians(b[..., 0]), np.radians(b[..., 1])
        h = (
            np.sin((lat2 - lat1) / 2.0) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2.0) ** 2
        )
        great_circle = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        return np.asarray(great_circle * self.circuity, dtype=np.float64)

    def _matrices(self, distance_m: FloatArray) -> TravelMatrices:
        return TravelMatrices(duration_s=distance_m / (self.speed_kmh / 3.6), distance_m=distance_m)

    def between(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        a, b = _points(origins), _points(destinations)
        return self._matrices(self._distance_m(a[:, None, :], b[None, :, :]))

    def paired(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        return self._matrices(self._distance_m(_points(origins), _points(destinations)))


@dataclass(frozen=True)
class EuclideanTravel:
    """Straight-line distance (× ``distance_scale``) driven at ``speed_m_per_s``.

    With the defaults, duration = distance = Euclidean distance, as in the Solomon-derived
    benchmark sets (VRPOD, Li & Lim).
    """

    speed_m_per_s: float = 1.0
    distance_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.speed_m_per_s <= 0 or self.distance_scale <= 0:
            raise TravelError("speed_m_per_s and distance_scale must be positive")

    def _matrices(self, delta: FloatArray) -> TravelMatrices:
        distance_m = np.sqrt(np.sum(delta * delta, axis=-1)) * self.distance_scale
        return TravelMatrices(duration_s=distance_m / self.speed_m_per_s, distance_m=distance_m)

    def between(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        a, b = _points(origins), _points(destinations)
        return self._matrices(a[:, None, :] - b[None, :, :])

    def paired(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        return self._matrices(_points(origins) - _points(destinations))


class MatrixTravel:
    """Explicit matrices over a fixed list of points (e.g. from a road-network table).

    Raises:
        TravelError: if the matrices are not square, finite and non-negative with one row per
            point, or if asked about a point that is not in the list.
    """

    def __init__(self, points: FloatArray, duration_s: FloatArray, distance_m: FloatArray):
        self.points = _points(points).reshape(-1, 2)
        self.duration_s = np.asarray(duration_s, dtype=np.float64)
        self.distance_m = np.asarray(distance_m, dtype=np.float64)
        n = len(self.points)
        for name, matrix in (("duration_s", self.duration_s), ("distance_m", self.distance_m)):
            if matrix.shape != (n, n):
                raise TravelError(f"{name} has shape {matrix.shape}, expected {(n, n)}")
            if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
                raise TravelError(f"{name} must be finite and non-negative")
        self._index = {(float(x), float(y)): i for i, (x, y) in enumerate(self.points)}

    def _indices(self, points: FloatArray) -> npt.NDArray[np.intp]:
        array = _points(points)
        flat = array.reshape(-1, 2)
        try:
            found = [self._index[(float(x), float(y))] for x, y in flat]
        except KeyError as error:
            raise TravelError(f"point {error.args[0]} is not in the travel matrix") from None
        return np.asarray(found, dtype=np.intp).reshape(array.shape[:-1])

    def between(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        i, j = self._indices(origins), self._indices(destinations)
        return TravelMatrices(
            duration_s=self.duration_s[np.ix_(i, j)], distance_m=self.distance_m[np.ix_(i, j)]
        )

    def paired(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        i, j = self._indices(origins), self._indices(destinations)
        return TravelMatrices(duration_s=self.duration_s[i, j], distance_m=self.distance_m[i, j])
