"""Places for a store evening, read from an OpenStreetMap extract (``.osm.pbf``, pyosmium).

- **Commercial sites**, where a store can stand, strongest evidence first: shops of the bulky
  kinds (DIY, furniture, garden centres, malls…), ``landuse=retail`` areas, features whose name
  says shopping centre (a car park, a bus stop or a road named after it), ``landuse=commercial``
  areas, and last car parks (``amenity=parking``, ``service=parking_aisle``), for extracts whose
  mappers tagged no retail land use. Each site is placed on the nearest road a car can stop on
  (no motorway), at most ``SITE_MAX_ROAD_M`` from the site, so that it is routable.
- **Residential streets**: ``highway=residential`` and ``living_street`` ways open to cars. Homes
  and customers are points along them, drawn in proportion to street length and set off the
  centre line by at most a few metres (a house front), so they stay routable.

Points are (lat, lng) degrees; lengths metres, in a local equirectangular projection around the
extract's centre (exact to ~0.1 % over a region of tens of kilometres). Reading is
deterministic (the file's order) and so is every draw for a given ``numpy`` generator.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import osmium
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

FloatArray = npt.NDArray[np.float64]

METRES_PER_DEGREE = 111_195.0
SITE_MAX_ROAD_M = 150.0  # a site further than this from a road a car can stop on is dropped
SITE_MIN_SPACING_M = 120.0  # two sites closer than this are one site (the stronger is kept)
NAMED_ROAD_SEARCH_M = 1000.0  # a site on an unnamed road takes the nearest named one's name
ROAD_SAMPLE_SPACING_M = 10.0  # roads are sampled this densely for snapping
STREET_MIN_LENGTH_M = 20.0
HOUSE_OFFSET_M = 5.0  # homes and customers at most this far off a street's centre line

CAR_ROADS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)
# Roads a store's customers and drivers can stop on: every car road but the fast ones.
STOPPING_ROADS = CAR_ROADS - {"motorway", "motorway_link", "trunk", "trunk_link"}
RESIDENTIAL_ROADS = frozenset({"residential", "living_street"})
CLOSED_TO_CARS = frozenset({"no", "private", "agricultural", "forestry", "delivery"})
# Shops that sell what a customer would rather not carry home.
BULKY_SHOPS = frozenset(
    {
        "doityourself",
        "hardware",
        "trade",
        "furniture",
        "interior_decoration",
        "kitchen",
        "bed",
        "garden_centre",
        "appliance",
        "department_store",
        "mall",
        "supermarket",
    }
)


# Names that say "shopping centre", in the languages of the regions this product serves.
SHOPPING_NAMES = (
    "centre commercial",
    "zone commerciale",
    "galerie marchande",
    "retail park",
    "shopping",
    "einkaufszentrum",
    "einkaufscenter",
    "centro commerciale",
    "centro comercial",
)


class SiteKind(IntEnum):
    """What a commercial site is, the strongest evidence of a shopping place first."""

    SHOP = 0
    RETAIL = 1
    SHOPPING_NAME = 2
    COMMERCIAL = 3
    CAR_PARK = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


@dataclass(frozen=True)
class CommercialSite:
    """A place a store can stand: ``lat``/``lng`` is on the road where a car stops for it."""

    kind: SiteKind
    osm_id: str  # "n123", "w456", "r789" (the area's way or relation)
    name: str  # the site's own name in the extract, "" when it has none
    street: str  # the nearest named road, "" when none is near
    lat: float
    lng: float
    area_m2: float  # the site's area (car parks: their aisles' length × 10 m), for ranking
    road_distance_m: float  # from the site's centre to its point on the road


@dataclass(frozen=True)
class Street:
    """A residential street open to cars, as a polyline of (lat, lng) points."""

    osm_id: int
    name: str
    points: FloatArray
    length_m: float


@dataclass(frozen=True)
class HousePoints:
    """Points on residential streets: ``points`` (n, 2) (lat, lng), each on ``street`` (an index
    into ``Places.streets``)."""

    points: FloatArray
    street: npt.NDArray[np.intp]


@dataclass(frozen=True)
class Places:
    """Commercial sites and residential streets of one extract (see ``read_places``)."""

    extract: str
    origin: tuple[float, float]  # (lat, lng) of the projection's centre
    sites: tuple[CommercialSite, ...]
    streets: tuple[Street, ...]
    _cumulative: FloatArray = field(repr=False, compare=False)

    @property
    def residential_length_m(self) -> float:
        return float(self._cumulative[-1]) if len(self._cumulative) else 0.0

    def house_points(
        self, n: int, rng: np.random.Generator, *, offset_m: float = HOUSE_OFFSET_M
    ) -> HousePoints:
        """``n`` points along residential streets, each street drawn in proportion to its
        length, the point uniform along it and set off its centre line by up to ``offset_m``.

        Raises:
            ValueError: if the extract has no residential street, or ``n`` or ``offset_m`` is
                negative.
        """
        if n < 0 or offset_m < 0:
            raise ValueError("n and offset_m must not be negative")
        if not self.streets:
            raise ValueError(f"{self.extract}: no residential street open to cars")
        along = rng.uniform(0.0, self.residential_length_m, n)
        street = np.searchsorted(self._cumulative, along, side="right").astype(np.intp)
        street = np.minimum(street, len(self.streets) - 1)
        offsets = rng.uniform(-offset_m, offset_m, n)
        points = np.empty((n, 2), dtype=np.float64)
        for k in range(n):
            s = self.streets[int(street[k])]
            start = float(self._cumulative[street[k] - 1]) if street[k] > 0 else 0.0
            points[k] = self._along(s, float(along[k]) - start, float(offsets[k]))
        return HousePoints(points=points, street=street)

    def _along(self, street: Street, distance_m: float, offset_m: float) -> FloatArray:
        xy = _project(street.points, self.origin)
        legs = np.diff(xy, axis=0)
        lengths = np.hypot(legs[:, 0], legs[:, 1])
        ends = np.cumsum(lengths)
        leg = min(int(np.searchsorted(ends, distance_m, side="right")), len(lengths) - 1)
        while lengths[leg] == 0.0 and leg > 0:
            leg -= 1
        into = distance_m - (float(ends[leg]) - float(lengths[leg]))
        unit = legs[leg] / max(float(lengths[leg]), 1e-9)
        normal = np.array([-unit[1], unit[0]])
        point = xy[leg] + unit * min(max(into, 0.0), float(lengths[leg])) + normal * offset_m
        return _unproject(point[None, :], self.origin)[0]


def _project(latlng: FloatArray, origin: tuple[float, float]) -> FloatArray:
    """(lat, lng) degrees → (x east, y north) metres around ``origin``."""
    array = np.asarray(latlng, dtype=np.float64).reshape(-1, 2)
    scale = math.cos(math.radians(origin[0]))
    return np.column_stack(
        [
            (array[:, 1] - origin[1]) * METRES_PER_DEGREE * scale,
            (array[:, 0] - origin[0]) * METRES_PER_DEGREE,
        ]
    )


def _unproject(xy: FloatArray, origin: tuple[float, float]) -> FloatArray:
    scale = math.cos(math.radians(origin[0]))
    return np.column_stack(
        [
            origin[0] + xy[:, 1] / METRES_PER_DEGREE,
            origin[1] + xy[:, 0] / (METRES_PER_DEGREE * scale),
        ]
    )


def _open_to_cars(tags: dict[str, str]) -> bool:
    if tags.get("area") == "yes":
        return False
    return not any(
        tags.get(key) in CLOSED_TO_CARS
        for key in ("access", "vehicle", "motor_vehicle", "motorcar")
    )


def _ring_centroid_area(xy: FloatArray) -> tuple[FloatArray, float]:
    """Centroid and area (m²) of a closed ring; its mean point when degenerate."""
    x, y = xy[:, 0], xy[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = 0.5 * float(cross.sum())
    if abs(area) < 1e-6:
        return xy.mean(axis=0), 0.0
    cx = float(((x[:-1] + x[1:]) * cross).sum()) / (6.0 * area)
    cy = float(((y[:-1] + y[1:]) * cross).sum()) / (6.0 * area)
    return np.array([cx, cy]), abs(area)


@dataclass
class _Candidate:
    kind: SiteKind
    osm_id: str
    name: str
    latlng: FloatArray  # (n, 2): a point, a ring or a line
    closed: bool


@dataclass
class _Road:
    name: str
    latlng: FloatArray
    refs: tuple[int, ...]


def _coordinates(nodes: Iterable[osmium.osm.NodeRef]) -> FloatArray | None:
    points = []
    for node in nodes:
        location = node.location
        if not location.valid():
            return None
        points.append((location.lat, location.lon))
    return np.array(points, dtype=np.float64) if len(points) >= 2 else None


def _site_kind(tags: dict[str, str]) -> SiteKind | None:
    if tags.get("shop") in BULKY_SHOPS:
        return SiteKind.SHOP
    if tags.get("landuse") == "retail":
        return SiteKind.RETAIL
    name = tags.get("name", "").casefold()
    if any(words in name for words in SHOPPING_NAMES):
        return SiteKind.SHOPPING_NAME
    if tags.get("landuse") == "commercial":
        return SiteKind.COMMERCIAL
    if tags.get("amenity") == "parking":
        return SiteKind.CAR_PARK
    return None


def read_places(extract: Path | str) -> Places:
    """Read the commercial sites and residential streets of an ``.osm.pbf`` extract.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it holds no road a car can stop on.
    """
    path = Path(extract)
    if not path.is_file():
        raise FileNotFoundError(path)
    candidates: list[_Candidate] = []
    roads: list[_Road] = []
    streets: list[tuple[int, str, FloatArray, tuple[int, ...]]] = []
    car_ways: list[tuple[int, ...]] = []
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter("landuse", "amenity", "shop"))
    )
    for obj in processor:
        tags = dict(obj.tags)
        if isinstance(obj, osmium.osm.Node):
            kind = _site_kind(tags)
            if kind is not None and obj.location.valid():
                point = np.array([[obj.location.lat, obj.location.lon]])
                candidates.append(
                    _Candidate(kind, f"n{obj.id}", tags.get("name", ""), point, closed=False)
                )
        elif isinstance(obj, osmium.osm.Area):
            kind = _site_kind(tags)
            if kind is None:
                continue
            rings = [_coordinates(ring) for ring in obj.outer_rings()]
            ring = max((r for r in rings if r is not None), key=len, default=None)
            if ring is not None:
                prefix = "w" if obj.from_way() else "r"
                candidates.append(
                    _Candidate(
                        kind, f"{prefix}{obj.orig_id()}", tags.get("name", ""), ring, closed=True
                    )
                )
        elif isinstance(obj, osmium.osm.Way):
            if _site_kind(tags) is SiteKind.SHOPPING_NAME and (line := _coordinates(obj.nodes)):
                candidates.append(
                    _Candidate(SiteKind.SHOPPING_NAME, f"w{obj.id}", tags["name"], line, False)
                )
            highway = tags.get("highway")
            if highway not in CAR_ROADS or not _open_to_cars(tags):
                continue
            line = _coordinates(obj.nodes)
            if line is None:
                continue
            name = tags.get("name", "")
            refs = tuple(node.ref for node in obj.nodes)
            car_ways.append(refs)
            if highway in STOPPING_ROADS:
                roads.append(_Road(name, line, refs))
            if tags.get("service") == "parking_aisle":
                candidates.append(
                    _Candidate(SiteKind.CAR_PARK, f"w{obj.id}", name, line, closed=False)
                )
            if highway in RESIDENTIAL_ROADS:
                streets.append((obj.id, name, line, refs))
    # Only the network's main part counts: an extract's edge leaves islands of streets whose
    # way out was clipped off, and a point there would be routed from a road far away.
    main = _main_network(car_ways)
    roads = [r for r in roads if main.issuperset(r.refs)]
    if not roads:
        raise ValueError(f"{path.name}: no road a car can stop on")
    every = np.vstack([r.latlng for r in roads])
    origin = (float(every[:, 0].mean()), float(every[:, 1].mean()))
    sites = _sites(candidates, roads, origin)
    kept = []
    lengths = []
    for osm_id, name, line, refs in streets:
        if not main.issuperset(refs):
            continue
        xy = _project(line, origin)
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
        if length >= STREET_MIN_LENGTH_M:
            kept.append(Street(osm_id=osm_id, name=name, points=line, length_m=length))
            lengths.append(length)
    return Places(
        extract=path.name,
        origin=origin,
        sites=sites,
        streets=tuple(kept),
        _cumulative=np.cumsum(np.array(lengths, dtype=np.float64)),
    )


def _main_network(ways: Sequence[tuple[int, ...]]) -> frozenset[int]:
    """The node ids of the largest connected part of the car network (directions ignored)."""
    index: dict[int, int] = {}
    heads: list[int] = []
    tails: list[int] = []
    for refs in ways:
        ids = [index.setdefault(ref, len(index)) for ref in refs]
        heads += ids[:-1]
        tails += ids[1:]
    if not index:
        return frozenset()
    graph = coo_matrix((np.ones(len(heads)), (heads, tails)), shape=(len(index), len(index)))
    _, labels = connected_components(graph, directed=False)
    largest = int(np.bincount(labels).argmax())
    return frozenset(ref for ref, i in index.items() if labels[i] == largest)


def _road_samples(
    roads: Sequence[_Road], origin: tuple[float, float]
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Points every ``ROAD_SAMPLE_SPACING_M`` or closer along each road, with the road index."""
    chunks: list[FloatArray] = []
    owners: list[npt.NDArray[np.intp]] = []
    for index, road in enumerate(roads):
        xy = _project(road.latlng, origin)
        for a, b in itertools.pairwise(xy):
            steps = max(1, math.ceil(float(np.hypot(*(b - a))) / ROAD_SAMPLE_SPACING_M))
            t = np.linspace(0.0, 1.0, steps, endpoint=False)[:, None]
            chunks.append(a + t * (b - a))
            owners.append(np.full(steps, index, dtype=np.intp))
        chunks.append(xy[-1:])
        owners.append(np.array([index], dtype=np.intp))
    return np.vstack(chunks), np.concatenate(owners)


def _sites(
    candidates: Sequence[_Candidate], roads: Sequence[_Road], origin: tuple[float, float]
) -> tuple[CommercialSite, ...]:
    samples, owner = _road_samples(roads, origin)
    tree = cKDTree(samples)
    named = np.array([bool(r.name) for r in roads])
    named_tree = cKDTree(samples[named[owner]]) if named.any() else None
    named_owner = owner[named[owner]]
    measured: list[tuple[SiteKind, float, str, str, FloatArray, FloatArray]] = []
    for candidate in candidates:
        xy = _project(candidate.latlng, origin)
        if candidate.closed and len(xy) >= 4:
            centre, area = _ring_centroid_area(xy)
        elif len(xy) >= 2:  # a car park's aisle: its middle, its length × a bay's depth
            centre = xy.mean(axis=0)
            area = float(np.hypot(*np.diff(xy, axis=0).T).sum()) * 10.0
        else:
            centre, area = xy[0], 0.0
        measured.append((candidate.kind, area, candidate.osm_id, candidate.name, centre, xy))
    # Strongest kind first, then the largest; car parks of one site merged into the largest.
    measured.sort(key=lambda m: (int(m[0]), -m[1], m[2]))
    chosen: list[CommercialSite] = []
    taken: list[FloatArray] = []
    for kind, area, osm_id, name, centre, _ in measured:
        distance, sample = tree.query(centre)
        if distance > SITE_MAX_ROAD_M:
            continue
        point = samples[int(sample)]
        if any(float(np.hypot(*(point - other))) < SITE_MIN_SPACING_M for other in taken):
            continue
        street = roads[int(owner[int(sample)])].name
        if not street and named_tree is not None:
            near, index = named_tree.query(point)
            if near <= NAMED_ROAD_SEARCH_M:
                street = roads[int(named_owner[int(index)])].name
        lat, lng = _unproject(point[None, :], origin)[0]
        chosen.append(
            CommercialSite(
                kind=kind,
                osm_id=osm_id,
                name=name,
                street=street,
                lat=float(lat),
                lng=float(lng),
                area_m2=round(area, 1),
                road_distance_m=round(float(distance), 1),
            )
        )
        taken.append(point)
    return tuple(chosen)


def spread_sites(sites: Sequence[CommercialSite], k: int) -> tuple[CommercialSite, ...]:
    """``k`` sites of the strongest kind available, far apart: the first site, then each time
    the one furthest from those chosen (ties to the earlier, i.e. stronger or larger, site).
    Sites of a weaker kind are used only when the stronger ones are too few.

    Raises:
        ValueError: if there are fewer than ``k`` sites.
    """
    if k > len(sites):
        raise ValueError(f"{k} stores asked for, {len(sites)} commercial sites found")
    if k <= 0:
        return ()
    ordered = sorted(sites, key=lambda s: int(s.kind))
    pool: list[CommercialSite] = []
    for kind in SiteKind:
        pool += [s for s in ordered if s.kind == kind]
        if len(pool) >= k:
            break
    origin = (pool[0].lat, pool[0].lng)
    xy = _project(np.array([[s.lat, s.lng] for s in pool]), origin)
    chosen = [0]
    nearest = np.hypot(*(xy - xy[0]).T)
    while len(chosen) < k:
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.hypot(*(xy - xy[nxt]).T))
    return tuple(pool[i] for i in chosen)
