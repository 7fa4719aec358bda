"""Road travel times on OpenStreetMap data, by OSRM (car profile, contraction hierarchies).

Two providers behind the travel interface of ``routing.travel`` (points are (lat, lng)):

- ``OsrmTravel``: libosrm in this process, on a dataset prepared by ``prepare_osrm``;
- ``OsrmHttpTravel``: an ``osrm-routed`` service over HTTP (its own process or machine).

Both raise ``TravelUnavailable`` when they cannot answer: the engine is unreachable, a point lies
farther than ``max_snap_m`` from any road, or two points are not connected. The caller decides
what to do then (the product falls back to the straight-line model and says so).

``straight_speed_bound_m_per_s`` is what the candidate prefilter needs: no road time is shorter
than the straight-line distance at that speed (less the distance of the points to their roads).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from routing.travel import FloatArray, TravelError, TravelMatrices, _points

IndexArray = npt.NDArray[np.intp]

PROFILE = Path(__file__).resolve().parent / "profiles" / "car.lua"
# The profile's cap (routing/profiles/car.lua): the bound when the network's own top speed is
# not known (an HTTP service prepared elsewhere).
CAP_SPEED_KMH = 130.0
# How many legs (origin, destination) a provider remembers before it starts afresh.
PAIR_MEMORY = 200_000
# Matrices up to this many pairs are remembered pair by pair too (a trip's stops against the
# requests it may take, asked once for the whole feed, then again request by request).
BETWEEN_MEMORY = 20_000
# The side of the cells of the approximate road-time matrix made at preparation (metres).
CELL_M = 250.0
# A point farther than this from any road is not routable.
DEFAULT_MAX_SNAP_M = 250.0
# OSRM rounds each segment's duration to 0.1 s; a route of many segments may come out a little
# faster than length / speed. The bound leaves this much room (share of the time, and seconds).
ROUNDING_SHARE = 0.02
ROUNDING_S = 10.0


class TravelUnavailable(TravelError):
    """The road engine cannot give these travel times.

    ``unroutable`` lists the indices of the points too far from a road, when that is the reason
    (in the origins then the destinations, each flattened); it is empty when the engine is down
    or the points are not connected.
    """

    def __init__(self, message: str, *, unroutable: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.unroutable = tuple(unroutable)


@dataclass(frozen=True)
class PreparedNetwork:
    """A dataset ready for ``OsrmTravel``: the ``.osrm`` base path and what it was made from."""

    osrm_path: Path
    extract_sha256: str
    top_speed_kmh: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _osrm_profiles() -> Path:
    import osrm

    return Path(osrm.__file__).resolve().parent / "share" / "profiles"


def _meta_path(osrm_path: Path) -> Path:
    return osrm_path.with_name(osrm_path.name + ".meta.json")


def read_prepared(osrm_path: Path) -> PreparedNetwork:
    """What ``prepare_osrm`` recorded beside a dataset. Raises TravelUnavailable if nothing."""
    try:
        meta = json.loads(_meta_path(osrm_path).read_text())
    except (OSError, ValueError):
        raise TravelUnavailable(f"no prepared road network at {osrm_path}") from None
    return PreparedNetwork(
        osrm_path=osrm_path,
        extract_sha256=str(meta["extract_sha256"]),
        top_speed_kmh=float(meta["top_speed_kmh"]),
    )


def prepare_osrm(extract: Path, out_dir: Path) -> PreparedNetwork:
    """Prepare ``extract`` (an ``.osm.pbf``) for routing under ``out_dir``, once: osrm-extract
    with the product's car profile, osrm-contract, then the approximate cell matrix. Reused
    while the extract, the profile and the OSRM version are the same.

    Each preparation gets a folder of its own, named after what it was made from, and appears
    whole (built aside, then renamed): a process that has a dataset loaded never sees its files
    rewritten. Older preparations of the same extract are removed (open files stay readable).
    Raises subprocess.CalledProcessError if a tool fails."""
    import osrm

    extract = Path(extract).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = extract.name.removesuffix(".pbf").removesuffix(".osm")
    stamp = {
        "cell_m": CELL_M,
        "extract_sha256": _sha256(extract),
        "profile_sha256": _sha256(PROFILE),
        "osrm": getattr(osrm, "__version__", "") or _osrm_version(),
    }
    version = hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:12]
    final = out_dir / f"{name}-{version}"
    if _meta_path(final / f"{name}.osrm").is_file():
        return read_prepared(final / f"{name}.osrm")
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    try:
        osrm_path = work / f"{name}.osrm"
        # osrm-extract writes beside its input: a copy named after the dataset.
        source = work / f"{name}.osm.pbf"
        shutil.copyfile(extract, source)
        top_speed_file = work / "top-speed"
        env = {
            **os.environ,
            "OSRM_PROFILES": str(_osrm_profiles()),
            "OSRM_TOP_SPEED_FILE": str(top_speed_file),
        }
        tool = [sys.executable, "-m", "osrm"]
        for args in (["extract", "-p", str(PROFILE), str(source)], ["contract", str(osrm_path)]):
            # The tools of the installed osrm package on files of our own: no outside input.
            subprocess.run(tool + args, check=True, env=env, capture_output=True)  # noqa: S603
        speeds = [float(line) for line in top_speed_file.read_text().split()]
        source.unlink()
        meta = {**stamp, "top_speed_kmh": max(speeds, default=CAP_SPEED_KMH)}
        _meta_path(osrm_path).write_text(json.dumps(meta, indent=2) + "\n")
        build_cells(OsrmTravel(osrm_path), _extract_bbox(extract)).save(_cells_path(osrm_path))
        try:
            work.rename(final)
        except OSError:  # prepared meanwhile by another process: theirs is as good
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    for older in out_dir.glob(f"{name}-*"):
        if older != final and older.is_dir():
            shutil.rmtree(older, ignore_errors=True)
    return read_prepared(final / f"{name}.osrm")


def _osrm_version() -> str:
    from importlib.metadata import version

    return version("osrm-bindings")


def _cells_path(osrm_path: Path) -> Path:
    return osrm_path.with_name(osrm_path.name + ".cells.npz")


@dataclass(frozen=True)
class CellTravel:
    """Approximate road times, for ranking many candidates before exact times for the best:
    the road time between the centres of the ``CELL_M`` cells the two points lie in (a matrix
    made once at preparation). A cell with no road near its centre borrows its nearest cell's;
    a point outside the grid, the nearest edge cell's. Never used for a promise."""

    south: float
    west: float
    cell_lat: float
    cell_lng: float
    cell_of: npt.NDArray[np.int32]  # (rows, cols) grid → row of the matrices
    duration_s: npt.NDArray[np.float32]
    distance_m: npt.NDArray[np.float32]

    name = "osrm-cells"

    @classmethod
    def load(cls, path: Path) -> CellTravel | None:
        try:
            with np.load(path) as saved:
                origin = saved["origin"]
                return cls(
                    south=float(origin[0]),
                    west=float(origin[1]),
                    cell_lat=float(origin[2]),
                    cell_lng=float(origin[3]),
                    cell_of=saved["cell_of"],
                    duration_s=saved["duration_s"],
                    distance_m=saved["distance_m"],
                )
        except (OSError, KeyError, ValueError):
            return None

    def save(self, path: Path) -> None:
        origin = np.array([self.south, self.west, self.cell_lat, self.cell_lng])
        with path.open("wb") as out:
            np.savez(
                out,
                origin=origin,
                cell_of=self.cell_of,
                duration_s=self.duration_s,
                distance_m=self.distance_m,
            )

    def _cells(self, points: FloatArray) -> IndexArray:
        rows, cols = self.cell_of.shape
        row = np.clip(((points[..., 0] - self.south) / self.cell_lat).astype(np.intp), 0, rows - 1)
        col = np.clip(((points[..., 1] - self.west) / self.cell_lng).astype(np.intp), 0, cols - 1)
        return np.asarray(self.cell_of[row, col], dtype=np.intp)

    def between(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        i = self._cells(_points(origins).reshape(-1, 2))
        j = self._cells(_points(destinations).reshape(-1, 2))
        pick = np.ix_(i, j)
        return TravelMatrices(
            duration_s=self.duration_s[pick].astype(np.float64),
            distance_m=self.distance_m[pick].astype(np.float64),
        )

    def paired(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        i, j = self._cells(_points(origins)), self._cells(_points(destinations))
        return TravelMatrices(
            duration_s=self.duration_s[i, j].astype(np.float64),
            distance_m=self.distance_m[i, j].astype(np.float64),
        )


def _extract_bbox(extract: Path) -> tuple[float, float, float, float]:
    """(south, west, north, east) of the extract's nodes."""
    import osmium

    south, west, north, east = math.inf, math.inf, -math.inf, -math.inf
    for node in osmium.FileProcessor(str(extract), osmium.osm.NODE):
        location = node.location  # type: ignore[union-attr]  # nodes only, as asked
        if location.valid():
            south, north = min(south, location.lat), max(north, location.lat)
            west, east = min(west, location.lon), max(east, location.lon)
    return south, west, north, east


def build_cells(
    travel: _RoadTravel, bbox: tuple[float, float, float, float], cell_m: float = CELL_M
) -> CellTravel:
    """The approximate road-time matrix over ``bbox`` (see ``CellTravel``)."""
    south, west, north, east = bbox
    cell_lat = cell_m / (math.pi * 6_371_008.8 / 180)
    cell_lng = cell_lat / math.cos(math.radians((south + north) / 2))
    rows = max(1, math.ceil((north - south) / cell_lat))
    cols = max(1, math.ceil((east - west) / cell_lng))
    grid = np.stack(
        np.meshgrid(
            south + (np.arange(rows) + 0.5) * cell_lat,
            west + (np.arange(cols) + 0.5) * cell_lng,
            indexing="ij",
        ),
        axis=-1,
    ).reshape(-1, 2)
    snapped_m = travel.lenient().snap_m(grid)
    on_roads = np.flatnonzero(snapped_m <= cell_m)
    if len(on_roads) == 0:
        raise TravelUnavailable("no road in the extract's area")
    centres = grid[on_roads]
    matrices = travel.lenient().between(centres, centres)
    # Every grid cell → the nearest cell with a road (by grid distance).
    road_rc = np.column_stack(np.divmod(on_roads, cols))
    all_rc = np.column_stack(np.divmod(np.arange(rows * cols), cols))
    nearest = np.empty(rows * cols, dtype=np.int32)
    for start in range(0, rows * cols, 4096):
        chunk = all_rc[start : start + 4096]
        gap = ((chunk[:, None, :] - road_rc[None, :, :]) ** 2).sum(axis=-1)
        nearest[start : start + 4096] = gap.argmin(axis=1)
    return CellTravel(
        south=south,
        west=west,
        cell_lat=cell_lat,
        cell_lng=cell_lng,
        cell_of=nearest.reshape(rows, cols),
        duration_s=matrices.duration_s.astype(np.float32),
        distance_m=matrices.distance_m.astype(np.float32),
    )


def _speed_bound_m_per_s(top_speed_kmh: float) -> float:
    return top_speed_kmh / 3.6 * (1.0 + ROUNDING_SHARE)


class _RoadTravel:
    """What both OSRM providers share: points in, unique coordinates to the engine, matrices out."""

    name = "osrm"
    max_snap_m: float
    top_speed_kmh: float
    _pairs: dict[tuple[float, ...], tuple[float, float]]
    cells: CellTravel | None = None

    @property
    def straight_speed_bound_m_per_s(self) -> float:
        """No road time t between two points is below (straight distance − their snap distances)
        / this speed − ``ROUNDING_S``."""
        return _speed_bound_m_per_s(self.top_speed_kmh)

    def _table(
        self, coordinates: FloatArray, sources: list[int], destinations: list[int]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Durations, distances (len(sources) × len(destinations)) and each coordinate's distance
        to its road (m). ``coordinates`` are unique (lat, lng) rows."""
        raise NotImplementedError

    def _table_of(
        self, coordinates: FloatArray, sources: list[int], destinations: list[int]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        if len(coordinates) > 1:
            return self._table(coordinates, sources, destinations)
        # OSRM wants two coordinates at least: the one point twice.
        duration, distance, snapped_m = self._table(np.vstack([coordinates] * 2), [0], [0])
        return duration, distance, snapped_m[:1]

    def _matrices(
        self, origins: FloatArray, destinations: FloatArray
    ) -> tuple[FloatArray, FloatArray, IndexArray, IndexArray]:
        flat_o = origins.reshape(-1, 2)
        flat_d = destinations.reshape(-1, 2)
        unique, inverse = np.unique(np.vstack([flat_o, flat_d]), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        o_index, d_index = inverse[: len(flat_o)], inverse[len(flat_o) :]
        sources = np.unique(o_index)
        targets = np.unique(d_index)
        duration, distance, snapped_m = self._table_of(unique, sources.tolist(), targets.tolist())
        far = np.flatnonzero(snapped_m > self.max_snap_m)
        if len(far):
            given = np.flatnonzero(np.isin(inverse, far))
            raise TravelUnavailable(
                f"{len(given)} point(s) farther than {self.max_snap_m:.0f} m from a road",
                unroutable=given.tolist(),
            )
        if not (np.all(np.isfinite(duration)) and np.all(np.isfinite(distance))):
            raise TravelUnavailable("some points are not connected by roads")
        rows = np.searchsorted(sources, o_index)
        cols = np.searchsorted(targets, d_index)
        return duration, distance, rows, cols

    def between(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        a, b = _points(origins).reshape(-1, 2), _points(destinations).reshape(-1, 2)
        if len(a) == 0 or len(b) == 0:
            empty = np.zeros((len(a), len(b)))
            return TravelMatrices(duration_s=empty, distance_m=empty.copy())
        if len(a) * len(b) <= BETWEEN_MEMORY:
            pairs = [tuple(o) + tuple(d) for o in a.tolist() for d in b.tolist()]
            known = self._pairs
            if all(pair in known for pair in pairs):
                legs = np.asarray([known[pair] for pair in pairs], dtype=np.float64)
                return TravelMatrices(
                    duration_s=legs[:, 0].reshape(len(a), len(b)),
                    distance_m=legs[:, 1].reshape(len(a), len(b)),
                )
        duration, distance, rows, cols = self._matrices(a, b)
        pick = np.ix_(rows, cols)
        found = TravelMatrices(duration_s=duration[pick], distance_m=distance[pick])
        if len(a) * len(b) <= BETWEEN_MEMORY:
            if len(self._pairs) + len(pairs) > PAIR_MEMORY:
                self._pairs.clear()
            legs_found = zip(
                found.duration_s.reshape(-1).tolist(),
                found.distance_m.reshape(-1).tolist(),
                strict=True,
            )
            self._pairs.update(zip(pairs, legs_found, strict=True))
        return found

    def paired(self, origins: FloatArray, destinations: FloatArray) -> TravelMatrices:
        a, b = _points(origins), _points(destinations)
        shape = np.broadcast_shapes(a.shape, b.shape)[:-1]
        a, b = np.broadcast_to(a, (*shape, 2)), np.broadcast_to(b, (*shape, 2))
        if a.size == 0:
            empty = np.zeros(shape)
            return TravelMatrices(duration_s=empty, distance_m=empty.copy())
        flat_a, flat_b = a.reshape(-1, 2), b.reshape(-1, 2)
        # Legs between places already asked about (a store and its drivers' homes, the stops
        # of a route) come from memory: only the others go to the engine.
        pairs = np.hstack([flat_a, flat_b])
        keys = [tuple(row) for row in pairs.tolist()]
        known = self._pairs
        missing = [index for index, key in enumerate(keys) if key not in known]
        if missing:
            duration, distance, rows, cols = self._matrices(flat_a[missing], flat_b[missing])
            picked = zip(duration[rows, cols].tolist(), distance[rows, cols].tolist(), strict=True)
            if len(known) + len(missing) > PAIR_MEMORY:
                known.clear()
            for index, leg in zip(missing, picked, strict=True):
                known[keys[index]] = leg
        legs = np.asarray([known[key] for key in keys], dtype=np.float64).reshape(-1, 2)
        return TravelMatrices(
            duration_s=legs[:, 0].reshape(shape), distance_m=legs[:, 1].reshape(shape)
        )

    def snap_m(self, points: FloatArray) -> FloatArray:
        """Each point's distance (m) to the nearest road the car profile may use."""
        flat = _points(points).reshape(-1, 2)
        if len(flat) == 0:
            return np.zeros(0)
        unique, inverse = np.unique(flat, axis=0, return_inverse=True)
        _, _, snapped_m = self._table_of(unique, list(range(len(unique))), [0])
        return np.asarray(snapped_m[inverse.reshape(-1)], dtype=np.float64)

    def route_line(self, points: FloatArray) -> list[tuple[float, float]]:
        """The road route through ``points`` in order, as (lat, lng) vertices."""
        raise NotImplementedError

    def lenient(self) -> _RoadTravel:
        """The same engine snapping every point to the nearest road, however far (for points that
        stand for an area, not a place someone must reach)."""
        relaxed = copy.copy(self)
        relaxed.max_snap_m = math.inf
        relaxed._pairs = {}  # its answers hold for points the strict engine would refuse
        return relaxed

    def ping(self) -> None:
        """Raises TravelUnavailable unless the engine answers."""
        self._table_of(np.zeros((1, 2)), [0], [0])


def _nan_matrix(rows: Sequence[Sequence[float | None]]) -> FloatArray:
    return np.array(
        [[np.nan if value is None else value for value in row] for row in rows], dtype=np.float64
    )


class OsrmTravel(_RoadTravel):
    """OSRM in this process on a prepared dataset (``prepare_osrm``), contraction hierarchies.

    Raises:
        TravelUnavailable: if the dataset cannot be loaded.
    """

    def __init__(self, osrm_path: Path | str, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> None:
        import osrm

        self.osrm_path = Path(osrm_path)
        self.max_snap_m = float(max_snap_m)
        self._pairs = {}
        self.cells = CellTravel.load(_cells_path(self.osrm_path))
        self.top_speed_kmh = read_prepared(self.osrm_path).top_speed_kmh
        self._osrm = osrm
        try:
            self._engine = osrm.OSRM(
                storage_config=str(self.osrm_path), algorithm="CH", use_shared_memory=False
            )
        except RuntimeError as error:
            raise TravelUnavailable(f"cannot load the road network: {error}") from None

    def _table(
        self, coordinates: FloatArray, sources: list[int], destinations: list[int]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        parameters = self._osrm.TableParameters(
            coordinates=[(float(lng), float(lat)) for lat, lng in coordinates],
            sources=sources,
            destinations=destinations,
            annotations=["duration", "distance"],
            generate_hints=False,
        )
        try:
            result = self._engine.Table(parameters)
        except RuntimeError as error:
            raise TravelUnavailable(f"the road engine failed: {error}") from None
        if result["code"] != "Ok":
            raise TravelUnavailable(f"the road engine answered {result['code']}")
        snapped = np.zeros(len(coordinates))
        for indices, key in ((sources, "sources"), (destinations, "destinations")):
            for index, waypoint in zip(indices, result[key], strict=True):
                snapped[index] = float(waypoint["distance"])
        return _nan_matrix(result["durations"]), _nan_matrix(result["distances"]), snapped

    def route_line(self, points: FloatArray) -> list[tuple[float, float]]:
        stops = _points(points).reshape(-1, 2)
        parameters = self._osrm.RouteParameters(
            coordinates=[(float(lng), float(lat)) for lat, lng in stops],
            overview="full",
            geometries="geojson",
            generate_hints=False,
        )
        try:
            result = self._engine.Route(parameters)
        except RuntimeError as error:
            raise TravelUnavailable(f"the road engine failed: {error}") from None
        return [
            (float(lat), float(lng)) for lng, lat in result["routes"][0]["geometry"]["coordinates"]
        ]


class OsrmHttpTravel(_RoadTravel):
    """An ``osrm-routed`` service (``/table/v1/driving``, ``/route/v1/driving``) at ``url``.

    Its ``--max-table-size`` must allow the largest table asked for (the compose service sets
    it). ``top_speed_kmh`` is the network's top speed if known, else the profile's cap.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        top_speed_kmh: float = CAP_SPEED_KMH,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise TravelError(f"the road service URL must be http(s), got {url!r}")
        self.url = url.rstrip("/")
        self._pairs = {}
        self.timeout_s = float(timeout_s)
        self.max_snap_m = float(max_snap_m)
        self.top_speed_kmh = float(top_speed_kmh)

    def _get(self, path: str) -> dict[str, Any]:
        try:
            # The scheme is checked to be http(s) in __init__.
            address = f"{self.url}{path}"
            with urllib.request.urlopen(address, timeout=self.timeout_s) as answer:  # noqa: S310
                body: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                raise TravelUnavailable(f"the road service answered {error.code}") from None
        except (OSError, ValueError) as error:
            raise TravelUnavailable(f"the road service is unreachable: {error}") from None
        if body.get("code") != "Ok":
            raise TravelUnavailable(f"the road service answered {body.get('code')}")
        return body

    @staticmethod
    def _coordinates(points: FloatArray) -> str:
        return ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)

    def _table(
        self, coordinates: FloatArray, sources: list[int], destinations: list[int]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        body = self._get(
            f"/table/v1/driving/{self._coordinates(coordinates)}"
            f"?annotations=duration,distance&generate_hints=false"
            f"&sources={';'.join(map(str, sources))}"
            f"&destinations={';'.join(map(str, destinations))}"
        )
        snapped = np.zeros(len(coordinates))
        for indices, key in ((sources, "sources"), (destinations, "destinations")):
            for index, waypoint in zip(indices, body[key], strict=True):
                snapped[index] = float(waypoint["distance"])
        return _nan_matrix(body["durations"]), _nan_matrix(body["distances"]), snapped

    def route_line(self, points: FloatArray) -> list[tuple[float, float]]:
        stops = _points(points).reshape(-1, 2)
        body = self._get(
            f"/route/v1/driving/{self._coordinates(stops)}"
            "?overview=full&geometries=geojson&generate_hints=false"
        )
        return [
            (float(lat), float(lng)) for lng, lat in body["routes"][0]["geometry"]["coordinates"]
        ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m routing.roads prepare EXTRACT.osm.pbf OUT_DIR``: prepare once, print the path."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "prepare":
        print("usage: python -m routing.roads prepare EXTRACT.osm.pbf OUT_DIR", file=sys.stderr)
        return 2
    prepared = prepare_osrm(Path(args[1]), Path(args[2]))
    print(prepared.osrm_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
