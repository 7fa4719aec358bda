"""Inputs are validated with clear errors; travel providers are vectorised and consistent."""

from __future__ import annotations

import numpy as np
import pytest

from routing.model import Parcel, Problem, ProblemError
from routing.travel import EuclideanTravel, HaversineTravel, MatrixTravel, TravelError
from tests.routing.conftest import driver

POINTS = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])


def test_negative_capacity_is_refused() -> None:
    with pytest.raises(ProblemError, match="capacity_weight_kg must not be negative"):
        Problem(
            locations=POINTS,
            vehicles=(driver("d", 0, 1, capacity_weight_kg=-1.0),),
            parcels=(),
            travel=EuclideanTravel(),
        )


def test_reversed_window_is_refused() -> None:
    parcel = Parcel(id="p", pickup=0, dropoff=1, delivery_earliest_s=10.0, delivery_latest_s=5.0)
    with pytest.raises(ProblemError, match="delivery window is reversed"):
        Problem(locations=POINTS, vehicles=(), parcels=(parcel,), travel=EuclideanTravel())


def test_reversed_departure_window_is_refused() -> None:
    with pytest.raises(ProblemError, match="departure window is reversed"):
        Problem(
            locations=POINTS,
            vehicles=(driver("d", 0, 1, earliest_start_s=9.0, latest_start_s=1.0),),
            parcels=(),
            travel=EuclideanTravel(),
        )


def test_location_index_out_of_range_is_refused() -> None:
    with pytest.raises(ProblemError, match="out of range"):
        Problem(
            locations=POINTS, vehicles=(driver("d", 0, 7),), parcels=(), travel=EuclideanTravel()
        )


def test_matrix_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(TravelError, match="shape"):
        MatrixTravel(POINTS, np.zeros((2, 2)), np.zeros((3, 3)))


def test_matrix_for_other_points_is_refused_when_the_problem_uses_it() -> None:
    travel = MatrixTravel(POINTS[:2], np.zeros((2, 2)), np.zeros((2, 2)))
    problem = Problem(locations=POINTS, vehicles=(), parcels=(), travel=travel)
    with pytest.raises(TravelError, match="not in the travel matrix"):
        _ = problem.matrices


def test_euclidean_matrix_and_pairs_agree() -> None:
    travel = EuclideanTravel(speed_m_per_s=2.0)
    full = travel.between(POINTS, POINTS)
    assert full.distance_m[0, 1] == pytest.approx(5.0)
    assert full.duration_s[0, 2] == pytest.approx(5.0)
    pairs = travel.paired(POINTS[:-1], POINTS[1:])
    np.testing.assert_allclose(pairs.distance_m, [5.0, 5.0])


def test_haversine_is_about_111_km_per_degree_of_latitude_times_circuity() -> None:
    travel = HaversineTravel(speed_kmh=36.0, circuity=1.2)
    result = travel.between(np.array([[48.0, 2.0]]), np.array([[49.0, 2.0], [48.0, 2.0]]))
    assert result.distance_m[0, 0] == pytest.approx(111_195 * 1.2, rel=1e-3)
    assert result.distance_m[0, 1] == 0.0
    assert result.duration_s[0, 0] == pytest.approx(result.distance_m[0, 0] / 10.0)


def test_matrix_provider_looks_points_up() -> None:
    duration = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=float)
    travel = MatrixTravel(POINTS, duration, duration * 10)
    result = travel.between(POINTS[[2, 0]], POINTS[[1]])
    np.testing.assert_allclose(result.duration_s, [[3.0], [1.0]])
    np.testing.assert_allclose(travel.paired(POINTS[[0]], POINTS[[2]]).distance_m, [20.0])
