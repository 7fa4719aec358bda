"""Places read from an OpenStreetMap extract: commercial sites on a road, residential points that
stay routable, islands of the network left out, seeded draws."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from routing.places import (
    HOUSE_OFFSET_M,
    SITE_MAX_ROAD_M,
    Places,
    SiteKind,
    read_places,
    spread_sites,
)
from routing.travel import HaversineTravel

ROOT = Path(__file__).resolve().parents[2]
MONACO = ROOT / "fixtures" / "osm" / "monaco-region.osm.pbf"
STRAIGHT = HaversineTravel(speed_kmh=30.0, circuity=1.0)

# A small town, about 0.0009° (100 m) a step: a main road and a residential street joined at
# node 3, a residential street of its own nowhere near (an island), a retail park by the main
# road, a car park's aisle off the street, and a DIY shop 400 m from any road.
NODES = {
    1: (45.0000, 5.0000),
    2: (45.0000, 5.0025),
    3: (45.0000, 5.0050),
    4: (45.0018, 5.0050),
    5: (45.0036, 5.0050),
    10: (45.0300, 5.0300),
    11: (45.0300, 5.0330),
    20: (44.9995, 5.0010),
    21: (44.9995, 5.0020),
    22: (44.9985, 5.0020),
    23: (44.9985, 5.0010),
    30: (45.0030, 5.0050),
    31: (45.0030, 5.0060),
    40: (45.0100, 4.9900),
}
WAYS = [
    (100, [1, 2, 3], {"highway": "primary", "name": "Route Nationale"}),
    (101, [3, 4, 30, 5], {"highway": "residential", "name": "Rue des Lilas"}),
    (102, [10, 11], {"highway": "residential", "name": "Chemin Perdu"}),
    (103, [20, 21, 22, 23, 20], {"landuse": "retail", "name": "Zone des Prés"}),
    (104, [30, 31], {"highway": "service", "service": "parking_aisle"}),
    (105, [4, 40], {"highway": "footway"}),
]
SHOP = {"shop": "doityourself", "name": "Far Away DIY"}


def _write_town(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node, (lat, lng) in NODES.items():
        if node == 40:
            continue
        lines.append(f'<node id="{node}" version="1" lat="{lat}" lon="{lng}"/>')
    tags = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in SHOP.items())
    lines.append(
        f'<node id="40" version="1" lat="{NODES[40][0]}" lon="{NODES[40][1]}">{tags}</node>'
    )
    for way, refs, way_tags in WAYS:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in way_tags.items())
        lines.append(f'<way id="{way}" version="1">{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Places:
    return read_places(_write_town(tmp_path_factory.mktemp("osm") / "town.osm"))


@pytest.fixture(scope="module")
def monaco() -> Places:
    return read_places(MONACO)


def _distance_to_line_m(point: np.ndarray, line: np.ndarray) -> float:
    """Distance from a (lat, lng) point to a polyline, in a local metric projection."""
    scale = np.cos(np.radians(point[0]))
    xy = np.column_stack([(line[:, 1] - point[1]) * scale, line[:, 0] - point[0]]) * 111_195.0
    best = np.inf
    for a, b in itertools.pairwise(xy):
        ab = b - a
        t = np.clip(-(a @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
        best = min(best, float(np.hypot(*(a + t * ab))))
    return best


def test_sites_come_strongest_first_on_a_road_and_a_site_far_from_roads_is_dropped(
    town: Places,
) -> None:
    kinds = [s.kind for s in town.sites]
    assert kinds == [SiteKind.RETAIL, SiteKind.CAR_PARK]
    retail = town.sites[0]
    assert retail.name == "Zone des Prés"
    assert retail.street == "Route Nationale"  # placed on the main road beside it
    assert retail.lat == pytest.approx(45.0, abs=1e-6)
    assert 5.0010 <= retail.lng <= 5.0020
    assert retail.road_distance_m == pytest.approx(0.0010 * 111_195.0, rel=0.05)  # its centre
    assert all(s.name != "Far Away DIY" for s in town.sites)
    assert all(s.road_distance_m <= SITE_MAX_ROAD_M for s in town.sites)


def test_a_street_cut_off_from_the_network_is_left_out(town: Places) -> None:
    assert [s.name for s in town.streets] == ["Rue des Lilas"]
    assert town.residential_length_m == pytest.approx(0.0036 * 111_195.0, rel=0.01)


def test_house_points_lie_on_their_street_within_the_offset(town: Places) -> None:
    houses = town.house_points(200, np.random.default_rng(4))
    assert houses.points.shape == (200, 2)
    line = town.streets[0].points
    gaps = [_distance_to_line_m(p, line) for p in houses.points]
    assert max(gaps) <= HOUSE_OFFSET_M + 0.01
    assert max(gaps) > 0.5 * HOUSE_OFFSET_M  # set off the centre line, not on it
    lats = houses.points[:, 0]
    assert lats.min() < 45.0008  # spread along the whole street
    assert lats.max() > 45.0028


def test_the_same_seed_draws_the_same_points_and_another_seed_others(monaco: Places) -> None:
    first = monaco.house_points(50, np.random.default_rng(7)).points
    again = monaco.house_points(50, np.random.default_rng(7)).points
    other = monaco.house_points(50, np.random.default_rng(8)).points
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_monaco_has_the_shopping_centre_and_routable_residential_points(monaco: Places) -> None:
    (store,) = spread_sites(monaco.sites, 1)
    assert store.kind is SiteKind.SHOPPING_NAME  # the extract tags no retail land use
    assert store.street == "Avenue Albert II"  # Fontvieille's shopping centre
    houses = monaco.house_points(300, np.random.default_rng(1))
    for point, street in zip(houses.points, houses.street, strict=True):
        assert (
            _distance_to_line_m(point, monaco.streets[int(street)].points) <= HOUSE_OFFSET_M + 0.01
        )


def test_spread_sites_keeps_the_chosen_sites_apart(monaco: Places) -> None:
    sites = spread_sites(monaco.sites, 3)
    assert len({s.osm_id for s in sites}) == 3
    points = np.array([[s.lat, s.lng] for s in sites])
    for i in range(3):
        for j in range(i + 1, 3):
            assert float(STRAIGHT.paired(points[i], points[j]).distance_m) > 2000.0
    with pytest.raises(ValueError, match="commercial sites"):
        spread_sites(monaco.sites, len(monaco.sites) + 1)


def test_a_missing_extract_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_places(tmp_path / "nowhere.osm.pbf")
