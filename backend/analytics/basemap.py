"""The dashboard's base map: which tiles it draws, the data it draws on them, and the PMTiles
file served to it by HTTP range requests.

Tiles: ``MAP_TILES_URL`` when set (any tile server with the OpenMapTiles layer names: a
``.pmtiles`` file, a ``{z}/{x}/{y}`` template or a TileJSON URL); otherwise the file that the
set-up prepared from ``MAP_EXTRACT`` (``tilebuild.py``) at ``MAP_TILES_FILE``, served by
``views.map_tiles``, and only for a store inside it. Without either the dashboard keeps its
server-drawn SVG map (``charts.dropoff_map``) and says why."""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import http_date

from backend.analytics.charts import OUTCOME_COLOURS
from backend.analytics.selectors import DropoffPoint

ATTRIBUTION = "© OpenStreetMap contributors"
# Requests whose driver is on the way: the map draws their road from the store.
EN_ROUTE = ("assigned", "picked_up")


@dataclass(frozen=True)
class TileSource:
    kind: str  # "pmtiles" | "xyz" | "tilejson"
    url: str


def tiles_file() -> Path:
    return Path(settings.MAP_TILES_FILE)


_bounds_cache: dict[tuple[str, int, int], tuple[float, float, float, float] | None] = {}


def file_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of a PMTiles file, from its header; None without the file."""
    from pmtiles.reader import MmapSource, Reader

    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _bounds_cache:
        try:
            with path.open("rb") as f:
                header = Reader(MmapSource(f)).header()
            _bounds_cache.clear()
            _bounds_cache[key] = (
                header["min_lon_e7"] / 1e7,
                header["min_lat_e7"] / 1e7,
                header["max_lon_e7"] / 1e7,
                header["max_lat_e7"] / 1e7,
            )
        except Exception:  # a truncated or foreign file: no base map, not a broken page
            _bounds_cache[key] = None
    return _bounds_cache[key]


def tile_source(*, lat: float, lng: float) -> TileSource | None:
    """The tiles for a map centred on (lat, lng), or None when there are none for it."""
    url = settings.MAP_TILES_URL
    if url:
        if "{z}" in url:
            return TileSource("xyz", url)
        if urlsplit(url).path.endswith(".pmtiles"):
            return TileSource("pmtiles", url)
        return TileSource("tilejson", url)
    bounds = file_bounds(tiles_file())
    if bounds is None:
        return None
    west, south, east, north = bounds
    if not (west <= lng <= east and south <= lat <= north):
        return None
    return TileSource("pmtiles", reverse("analytics:map-tiles"))


def tiles_origin() -> str | None:
    """The origin of a tile server elsewhere, for the Content-Security-Policy."""
    parts = urlsplit(settings.MAP_TILES_URL)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


# --- what is drawn ---------------------------------------------------------------------------


def dropoff_route(
    store: tuple[float, float], dropoff: tuple[float, float]
) -> tuple[list[tuple[float, float]], bool]:
    """The road from the store to a drop-off as (lat, lng) points, for a request whose driver
    is on the way, and whether it is only estimated (a straight line: no road engine, or it
    could not answer). Only this leg is ever drawn, never the one on to the driver's
    destination: the manager must not learn where a driver lives."""
    from backend.core.travel import TravelUnavailable, road_travel

    try:
        road = road_travel()
        if road is not None:
            line = road.route_line(np.array([store, dropoff], dtype=np.float64))
            if len(line) >= 2:
                # From the store's door to the drop-off's, not from the roads they snapped to.
                return [store, *line, dropoff], False
    except (TravelUnavailable, KeyError, IndexError):
        pass  # drawn as a straight line, marked estimated
    return [store, dropoff], True


def map_data(
    *,
    store_lat: float,
    store_lng: float,
    points: Sequence[DropoffPoint],
    source: TileSource,
    style_url: str,
    outcome_labels: dict[str, str],
    store_label: str,
) -> dict[str, Any]:
    """What the page's script draws: GeoJSON in (lng, lat) order, and the box to show."""
    store = (store_lat, store_lng)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lng, p.lat]},
            "properties": {
                "id": p.request_id,
                "outcome": p.outcome,
                "label": f"#{p.request_id} {outcome_labels.get(p.outcome, p.outcome)}",
                "colour": OUTCOME_COLOURS.get(p.outcome, "#000000"),
            },
        }
        for p in points
    ]
    en_route = [p for p in points if p.outcome in EN_ROUTE][: settings.MAP_MAX_ROUTES]
    routes = []
    for p in en_route:
        line, estimated = dropoff_route(store, (p.lat, p.lng))
        routes.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[lng, lat] for lat, lng in line],
                },
                "properties": {"id": p.request_id, "estimated": estimated},
            }
        )
    lngs = [store_lng, *(p.lng for p in points)]
    lats = [store_lat, *(p.lat for p in points)]
    return {
        "source": {"kind": source.kind, "url": source.url, "attribution": ATTRIBUTION},
        "style": style_url,
        "store": {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [store_lng, store_lat]},
            "properties": {"label": store_label},
        },
        "dropoffs": {"type": "FeatureCollection", "features": features},
        "routes": {"type": "FeatureCollection", "features": routes},
        "bounds": [[min(lngs), min(lats)], [max(lngs), max(lats)]],
    }


# --- the PMTiles file, by range --------------------------------------------------------------

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
CHUNK = 64 * 1024


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def ranged_file_response(
    request: HttpRequest, path: Path, *, content_type: str, cache_control: str
) -> HttpResponseBase:
    """The file, or the single byte range that the Range header asks for (206; 416 outside
    it). Several ranges, or an If-Range that no longer matches, get the whole file (200), as
    RFC 9110 allows. The ETag changes when the file is made again."""
    stat = path.stat()
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": http_date(stat.st_mtime),
        "Cache-Control": cache_control,
    }
    wanted = request.headers.get("Range", "").strip()
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range != etag:
        wanted = ""
    match = _RANGE.fullmatch(wanted) if wanted else None
    if match is None or match.group(0) == "bytes=-":
        response: HttpResponseBase
        if not wanted and request.headers.get("If-None-Match") == etag:
            response = HttpResponse(status=304)
        else:
            response = FileResponse(path.open("rb"), content_type=content_type)
        for name, value in headers.items():
            response[name] = value
        return response
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
        if int(last) == 0:
            start = size  # an empty suffix: not satisfiable
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        for name, value in headers.items():
            refused[name] = value
        return refused
    length = end - start + 1
    streamed = StreamingHttpResponse(
        _read(path, start, length), status=206, content_type=content_type
    )
    streamed["Content-Range"] = f"bytes {start}-{end}/{size}"
    streamed["Content-Length"] = str(length)
    for name, value in headers.items():
        streamed[name] = value
    return streamed
