"""The base map's tiles, made at set-up from the same OpenStreetMap extract the roads come from:
tilemaker (Debian's package) writes vector tiles to MBTiles, the ``pmtiles`` package turns them
into one PMTiles file that the dashboard reads by HTTP range requests (``basemap.py``).

OSM has no sea areas, only the coastline (land on its left). tilemaker wants the sea as a
shapefile (normally the 800 MB ``water_polygons.shp`` from osmdata, not reachable offline), so
the sea is made here from the extract's own coastline: the extract's box is cut along the
coastline and each piece is sea or land by the side of the coastline it lies on. An extract
without a coastline gets no sea, and its land is the style's background colour.

Made once: a stamp beside the file holds a hash of everything the tiles depend on (the extract,
the tilemaker config and Lua, this module, the tools' versions) and the tiles are made again only
when it changes."""

import hashlib
import json
import re
import sqlite3
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import (
    GeometryCollection,
    GEOSGeometry,
    LineString,
    MultiLineString,
    Point,
    Polygon,
)

CONFIG_DIR = Path(__file__).resolve().parent / "map"
TILEMAKER_CONFIG = CONFIG_DIR / "tilemaker.json"
TILEMAKER_PROCESS = CONFIG_DIR / "process.lua"

# The sea: the coastline is cut out of the box as a strip this wide (degrees, about 10 cm), and
# each side of it is probed this far away (about 2 m).
CUT_WIDTH_DEG = 1e-6
PROBE_OFFSET_DEG = 2e-5
# A coastline that stops short of the box's edge (the extract was clipped there) is continued to
# the edge when the gap is at most this (about 1 km); a longer gap is a coastline cut inside the
# box, which cannot be closed safely, and gives no sea.
EDGE_GAP_DEG = 0.01


class TileBuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Prepared:
    path: Path
    built: bool  # False when the stamp showed the file up to date
    seconds: float


# --- the extract's header --------------------------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The fields of a protobuf message as (number, int or bytes); fixed-width ones skipped."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield number, value
        elif wire == 2:
            length, i = _varint(buf, i)
            yield number, buf[i : i + length]
            i += length
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise TileBuildError(f"unexpected protobuf wire type {wire}")


def pbf_bbox(path: Path) -> tuple[float, float, float, float] | None:
    """The bounding box in an .osm.pbf file's header (west, south, east, north), if it has one:
    the box the extract was clipped to (osmium extract writes it)."""
    with path.open("rb") as f:
        (size,) = struct.unpack(">I", f.read(4))
        blob_header = dict(_fields(f.read(size)))
        if blob_header.get(1) != b"OSMHeader":
            return None
        datasize = blob_header.get(3)
        if not isinstance(datasize, int):
            return None
        blob = dict(_fields(f.read(datasize)))
    raw = blob.get(1)
    zipped = blob.get(3)
    if isinstance(zipped, bytes):
        data = zlib.decompress(zipped)
    elif isinstance(raw, bytes):
        data = raw
    else:
        return None
    box = dict(_fields(data)).get(1)
    if not isinstance(box, bytes):
        return None
    values = dict(_fields(box))

    def degrees(n: int) -> float:
        value = values.get(n, 0)
        if not isinstance(value, int):
            return 0.0
        return ((value >> 1) ^ -(value & 1)) / 1e9  # zigzag sint64, nanodegrees

    left, right, top, bottom = (degrees(n) for n in (1, 2, 3, 4))
    return (left, bottom, right, top) if left < right and bottom < top else None


def data_bbox(path: Path) -> tuple[float, float, float, float] | None:
    """The box of the extract's ways (GDAL's OSM driver), for an extract whose header has none."""
    sql = (
        "SELECT MIN(MbrMinX(geometry)) AS w, MIN(MbrMinY(geometry)) AS s, "
        "MAX(MbrMaxX(geometry)) AS e, MAX(MbrMaxY(geometry)) AS n FROM lines"
    )
    out = _run(["ogrinfo", "-ro", "-q", str(path), "-dialect", "sqlite", "-sql", sql])
    values = dict(re.findall(r"^\s*([wsen]) \(Real\) = (-?[0-9.]+)$", out, re.MULTILINE))
    if len(values) != 4:
        return None
    west, south, east, north = (float(values[k]) for k in "wsen")
    return (west, south, east, north) if west < east and south < north else None


def extract_bbox(path: Path) -> tuple[float, float, float, float] | None:
    """The box the tiles cover: the header's, else the ways'."""
    return pbf_bbox(path) or data_bbox(path)


# --- the sea from the coastline --------------------------------------------------------------


def _run(args: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(args, check=True, capture_output=True, text=True, cwd=cwd)  # noqa: S603
    except FileNotFoundError:
        raise TileBuildError(f"{args[0]} is not installed (scripts/setup.sh installs it)") from None
    except subprocess.CalledProcessError as error:
        raise TileBuildError(f"{args[0]} failed: {error.stderr.strip()[-2000:]}") from None
    return done.stdout


def _features(path: Path) -> list[GEOSGeometry]:
    if not path.is_file():
        return []
    return [
        GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
        for feature in json.loads(path.read_text())["features"]
        if feature.get("geometry")
    ]


def _coastline(extract: Path, workdir: Path) -> tuple[list[GEOSGeometry], list[GEOSGeometry]]:
    """The coastline ways (lines) and the closed ones GDAL reads as areas (islands)."""
    lines, areas = workdir / "coast-lines.geojson", workdir / "coast-areas.geojson"
    _run(["ogr2ogr", "-f", "GeoJSON", str(lines), str(extract), "lines",
          "-where", "other_tags LIKE '%\"natural\"=>\"coastline\"%'"])  # fmt: skip
    _run(["ogr2ogr", "-f", "GeoJSON", str(areas), str(extract), "multipolygons",
          "-where", "\"natural\" = 'coastline'"])  # fmt: skip
    return _features(lines), _features(areas)


def _reach_edges(line: LineString, box: tuple[float, float, float, float]) -> LineString | None:
    """The line continued from each end that stops inside the box to the nearest edge (a little
    past it); None when an end is too far from every edge."""
    west, south, east, north = box
    margin = CUT_WIDTH_DEG * 10
    coords = list(line.coords)
    for index in (0, -1):
        x, y = coords[index]
        if not (west < x < east and south < y < north):
            continue
        gaps = {
            (west - margin, y): x - west,
            (east + margin, y): east - x,
            (x, south - margin): y - south,
            (x, north + margin): north - y,
        }
        target = min(gaps, key=lambda point: gaps[point])
        if gaps[target] > EDGE_GAP_DEG:
            return None
        if index == 0:
            coords.insert(0, target)
        else:
            coords.append(target)
    return LineString(coords, srid=4326)


def sea_polygons(
    lines: list[GEOSGeometry], islands: list[GEOSGeometry], box: tuple[float, float, float, float]
) -> GEOSGeometry | None:
    """The sea inside the box: the pieces of the box on the right of the coastline, less the
    islands. None without a coastline, or when the coastline cannot be closed in the box."""
    if not lines and not islands:
        return None
    box_polygon = Polygon.from_bbox(box)
    box_polygon.srid = 4326
    merged = MultiLineString([g for line in lines for g in _lines(line)], srid=4326).merged
    open_lines, rings = [], list(islands)
    for part in _lines(merged):
        if part.closed:
            rings.append(Polygon(part.coords, srid=4326))
            continue
        reached = _reach_edges(part, box)
        if reached is None:
            return None
        open_lines.append(reached)
    if not open_lines:
        return None  # only islands: the sea around them is not known to reach the whole box
    cut = MultiLineString(open_lines, srid=4326)
    pieces = box_polygon.difference(cut.buffer(CUT_WIDTH_DEG))
    sea_probes, land_probes = _probes(open_lines)
    sea: GEOSGeometry | None = None
    for piece in _polygons(pieces):
        prepared = piece.prepared
        on_sea = sum(1 for p in sea_probes if prepared.contains(p))
        on_land = sum(1 for p in land_probes if prepared.contains(p))
        # Both sides can touch one piece where the coastline folds on itself (a pier narrower
        # than the probes' reach): the side that clearly dominates wins.
        if on_sea and on_sea >= 4 * on_land:
            sea = piece if sea is None else sea.union(piece)
    if sea is None:
        return None
    for ring in rings:
        sea = sea.difference(ring)
    return sea if not sea.empty else None


def _lines(geometry: GEOSGeometry) -> list[LineString]:
    if isinstance(geometry, LineString):
        return [geometry]
    if isinstance(geometry, GeometryCollection):
        return [g for g in geometry if isinstance(g, LineString)]
    return []


def _polygons(geometry: GEOSGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, GeometryCollection):
        return [g for g in geometry if isinstance(g, Polygon)]
    return []


def _probes(lines: list[LineString]) -> tuple[list[Point], list[Point]]:
    """Points just right (sea) and just left (land) of the middle of each coastline segment."""
    right, left = [], []
    for line in lines:
        coords: list[tuple[float, ...]] = list(line.coords)
        for (x0, y0), (x1, y1) in pairwise(coords):
            dx, dy = x1 - x0, y1 - y0
            length = (dx * dx + dy * dy) ** 0.5
            if length < PROBE_OFFSET_DEG * 2:
                continue
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            nx, ny = dy / length * PROBE_OFFSET_DEG, -dx / length * PROBE_OFFSET_DEG
            right.append(Point(mx + nx, my + ny, srid=4326))
            left.append(Point(mx - nx, my - ny, srid=4326))
    return right, left


# --- tiles -----------------------------------------------------------------------------------


def _tool_version(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        return "missing"
    return (done.stdout + done.stderr).strip().splitlines()[0] if done.stdout + done.stderr else ""


def inputs_hash(extract: Path) -> str:
    """Everything the tiles depend on: when this changes, they are made again."""
    digest = hashlib.sha256()
    for path in (extract, TILEMAKER_CONFIG, TILEMAKER_PROCESS, Path(__file__)):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(_tool_version(["tilemaker", "--help"]).encode())
    digest.update(_tool_version(["ogr2ogr", "--version"]).encode())
    digest.update(version("pmtiles").encode())
    return digest.hexdigest()


def stamp_path(output: Path) -> Path:
    return output.with_name(output.name + ".sha256")


def is_current(extract: Path, output: Path) -> bool:
    stamp = stamp_path(output)
    return (
        output.is_file() and stamp.is_file() and stamp.read_text().strip() == inputs_hash(extract)
    )


def _config(workdir: Path, sea_shapefile: Path | None) -> Path:
    config: dict[str, Any] = json.loads(TILEMAKER_CONFIG.read_text())
    if sea_shapefile is not None:
        water = config["layers"]["water"]
        config["layers"]["ocean"] = {**water, "source": str(sea_shapefile), "write_to": "water"}
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    return path


def _fix_bounds(mbtiles: Path, box: tuple[float, float, float, float]) -> None:
    """tilemaker 2.2 writes 0,0,0,0 as the bounds; PMTiles readers (and the dashboard) use them
    to know what the file covers."""
    west, south, east, north = box
    with sqlite3.connect(mbtiles) as db:
        db.execute("DELETE FROM metadata WHERE name IN ('bounds', 'center')")
        db.execute(
            "INSERT INTO metadata (name, value) VALUES ('bounds', ?), ('center', ?)",
            (
                f"{west:.7f},{south:.7f},{east:.7f},{north:.7f}",
                f"{(west + east) / 2:.7f},{(south + north) / 2:.7f},12",
            ),
        )
    db.close()


def build(extract: Path, output: Path) -> None:
    """extract (.osm.pbf) → output (.pmtiles), written whole or not at all."""
    from pmtiles.convert import mbtiles_to_pmtiles

    extract, output = extract.resolve(), output.resolve()
    if not extract.is_file():
        raise TileBuildError(f"no extract at {extract}")
    box = extract_bbox(extract)
    if box is None:
        raise TileBuildError(f"{extract} has no ways")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="basemap-", dir=output.parent) as tmp:
        workdir = Path(tmp)
        lines, islands = _coastline(extract, workdir)
        sea = sea_polygons(lines, islands, box)
        shapefile = None
        if sea is not None:
            geojson = workdir / "sea.geojson"
            geojson.write_text(
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            {"type": "Feature", "properties": {}, "geometry": json.loads(sea.json)}
                        ],
                    }
                )
            )
            shapefile = workdir / "sea.shp"
            _run(["ogr2ogr", "-f", "ESRI Shapefile", str(shapefile), str(geojson)])
        mbtiles = workdir / "tiles.mbtiles"
        west, south, east, north = box
        _run(
            [
                "tilemaker",
                "--input", str(extract),
                "--output", str(mbtiles),
                "--config", str(_config(workdir, shapefile)),
                "--process", str(TILEMAKER_PROCESS),
                "--bbox", f"{west},{south},{east},{north}",
            ],
            cwd=workdir,
        )  # fmt: skip
        _fix_bounds(mbtiles, box)
        pmtiles = workdir / "tiles.pmtiles"
        mbtiles_to_pmtiles(str(mbtiles), str(pmtiles), None)
        pmtiles.replace(output)


def prepare(extract: Path, output: Path, *, force: bool = False) -> Prepared:
    """The tiles of the extract at output, made unless the stamp shows them up to date."""
    import time

    started = time.monotonic()
    if not extract.is_file():
        raise TileBuildError(f"no extract at {extract}")
    if not force and is_current(extract, output):
        return Prepared(output, False, time.monotonic() - started)
    digest = inputs_hash(extract)
    build(extract, output)
    stamp = stamp_path(output)
    stamp.write_text(digest + "\n")
    return Prepared(output, True, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """``python -m backend.analytics.tilebuild EXTRACT.osm.pbf OUT.pmtiles``: the set-up's way
    in (no Django project to load: a second ``make run`` checks the stamp in a fraction of a
    second); ``manage.py prepare_map`` does the same with the settings' paths."""
    import sys

    from django.conf import settings

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m backend.analytics.tilebuild EXTRACT.osm.pbf OUT.pmtiles")
        return 2
    if not settings.configured:
        settings.configure()  # GEOS and GDAL need Django's settings, none of the project's
    extract, output = Path(args[0]), Path(args[1])
    try:
        done = prepare(extract, output)
    except TileBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if done.built:
        size = output.stat().st_size // 1024
        print(f"Base map tiles for {extract.name}: {output} ({size} KB, {done.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
