"""Road travel times from OSRM on the bundled Monaco-region extract, in process and over HTTP
(a real ``osrm-routed`` on loopback). Expected values are OSRM's own answers for these pairs
on this extract with the product's car profile, not tolerances around the straight line."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from routing.roads import (
    OsrmHttpTravel,
    OsrmTravel,
    TravelUnavailable,
    prepare_osrm,
    read_prepared,
)
from routing.travel import HaversineTravel

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "fixtures" / "osm" / "monaco-region.osm.pbf"

FONTVIEILLE = (43.7285, 7.4165)  # the store end
CASINO = (43.7396, 7.4278)
BEAUSOLEIL = (43.7445, 7.4236)
CAP_D_AIL = (43.7220, 7.4040)
ROQUEBRUNE = (43.7610, 7.4710)
LA_TURBIE = (43.7455, 7.4005)  # up the hill, by the A8
AT_SEA = (43.7150, 7.4300)  # 1.4 km off the coast

PLACES = [CASINO, BEAUSOLEIL, CAP_D_AIL, ROQUEBRUNE, LA_TURBIE]
# OSRM's answers from Fontvieille to each place, and back (s, m).
OUT_S = [220.0, 341.3, 165.6, 552.2, 762.3]
OUT_M = [2019.1, 3869.3, 1901.6, 7815.9, 7272.4]
BACK_S = [206.1, 328.2, 150.3, 521.6, 803.1]
BACK_M = [2455.3, 3114.8, 1828.0, 8043.7, 8556.6]


@pytest.fixture(scope="module")
def prepared() -> Path:
    return prepare_osrm(EXTRACT, ROOT / ".local" / "osrm").osrm_path


@pytest.fixture(scope="module")
def roads(prepared: Path) -> OsrmTravel:
    return OsrmTravel(prepared)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def routed(prepared: Path) -> Iterator[str]:
    """A real osrm-routed serving the same dataset on loopback."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "osrm", "routed", "--algorithm", "ch", "--ip", "127.0.0.1"]
        + ["--port", str(port), "--max-table-size", "1000", str(prepared)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                OsrmHttpTravel(url).ping()
                break
            except TravelUnavailable:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_preparing_again_reuses_the_dataset_and_records_the_network_top_speed(
    prepared: Path,
) -> None:
    hierarchy = prepared.with_name(prepared.name + ".hsgr")  # what osrm-contract writes
    before = hierarchy.stat().st_mtime_ns
    again = prepare_osrm(EXTRACT, prepared.parent.parent)
    assert again.osrm_path == prepared
    assert hierarchy.stat().st_mtime_ns == before
    # The fastest way in the extract is the A8 motorway; the profile caps everything at 130.
    assert 80 <= read_prepared(prepared).top_speed_kmh <= 130


def test_road_times_are_osrms_answers_on_the_extract(roads: OsrmTravel) -> None:
    out = roads.between(np.array([FONTVIEILLE]), np.array(PLACES))
    back = roads.between(np.array(PLACES), np.array([FONTVIEILLE]))
    assert out.duration_s[0].tolist() == OUT_S
    assert out.distance_m[0].tolist() == OUT_M
    assert back.duration_s[:, 0].tolist() == BACK_S
    assert back.distance_m[:, 0].tolist() == BACK_M
    # Roads are not symmetric, and not the straight line × 1.3 at 30 km/h.
    straight = HaversineTravel().between(np.array([FONTVIEILLE]), np.array(PLACES))
    assert not np.allclose(out.duration_s, straight.duration_s, rtol=0.1)


def test_paired_is_the_diagonal_of_the_matrix(roads: OsrmTravel) -> None:
    origins = np.array([FONTVIEILLE, CASINO, LA_TURBIE, FONTVIEILLE])
    destinations = np.array([CASINO, ROQUEBRUNE, FONTVIEILLE, FONTVIEILLE])
    paired = roads.paired(origins, destinations)
    full = roads.between(origins, destinations)
    assert paired.duration_s.tolist() == np.diag(full.duration_s).tolist()
    assert paired.duration_s[-1] == 0.0


def test_no_road_time_beats_the_straight_line_at_the_networks_top_speed(
    roads: OsrmTravel,
) -> None:
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(43.72, 43.76, 400), rng.uniform(7.40, 7.48, 400)])
    points = points[roads.snap_m(np.vstack([[FONTVIEILLE], points]))[1:] <= roads.max_snap_m]
    points = np.vstack([[FONTVIEILLE], points])
    road = roads.between(points, points)
    straight_m = HaversineTravel(circuity=1.0).between(points, points).distance_m
    snapped = roads.snap_m(points)
    slack = snapped[:, None] + snapped[None, :]
    bound_s = (straight_m - slack) / roads.straight_speed_bound_m_per_s - 10.0
    assert len(points) > 100
    assert np.all(road.duration_s >= bound_s)


def test_a_point_off_the_network_is_named_not_guessed(roads: OsrmTravel) -> None:
    with pytest.raises(TravelUnavailable) as caught:
        roads.between(np.array([FONTVIEILLE]), np.array([CASINO, AT_SEA]))
    assert caught.value.unroutable == (2,)  # origins then destinations
    assert roads.snap_m(np.array([FONTVIEILLE, AT_SEA]))[1] > 1000


def test_the_http_service_gives_the_same_answers(routed: str, roads: OsrmTravel) -> None:
    service = OsrmHttpTravel(routed)
    points = np.array([FONTVIEILLE, *PLACES])
    assert service.between(points, points).duration_s.tolist() == (
        roads.between(points, points).duration_s.tolist()
    )
    line = service.route_line(np.array([FONTVIEILLE, CASINO]))
    assert line == roads.route_line(np.array([FONTVIEILLE, CASINO]))
    assert len(line) > 10


def test_an_unreachable_service_says_unavailable() -> None:
    service = OsrmHttpTravel(f"http://127.0.0.1:{_free_port()}", timeout_s=0.5)
    with pytest.raises(TravelUnavailable):
        service.between(np.array([FONTVIEILLE]), np.array([CASINO]))
