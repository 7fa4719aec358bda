"""The base map without a browser: the tiles made from an extract (tilemaker, the sea from the
coastline, the stamp that reuses them), the PMTiles file served by byte ranges to managers only,
which tiles a dashboard gets, what it draws (the road from the store to the drop-off and never
further), and the dashboard's Content-Security-Policy."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import LineString, Point, Polygon
from django.utils import timezone
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

from backend.analytics import basemap, tilebuild
from backend.deliveries.models import RequestState
from tests import factories
from tests.backend.analytics import data

OSM = Path(__file__).resolve().parents[3] / "fixtures" / "osm"
MONACO_STORE = (43.7390, 7.4260)


def small_pmtiles(path: Path, bounds: tuple[float, float, float, float]) -> Path:
    """A PMTiles file of one (meaningless) tile with these bounds."""
    west, south, east, north = bounds
    with write(str(path)) as writer:
        writer.write_tile(zxy_to_tileid(0, 0, 0), b"\x1f\x8b" + bytes(range(256)) * 40)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": 0,
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"attribution": basemap.ATTRIBUTION},
        )
    return path


@pytest.fixture
def tiles_file(tmp_path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.MAP_TILES_FILE = str(
        small_pmtiles(tmp_path / "base.pmtiles", (7.349, 43.71, 7.491, 43.77))
    )
    settings.MAP_TILES_URL = ""
    return Path(settings.MAP_TILES_FILE)


# --- made from the extract -------------------------------------------------------------------


def test_the_header_box_of_an_extract() -> None:
    west, south, east, north = tilebuild.pbf_bbox(OSM / "liechtenstein.osm.pbf")  # type: ignore[misc]
    assert (west, south, east, north) == pytest.approx((9.471078, 47.04774, 9.636217, 47.27128))
    # osmium tags-filter wrote no box for these two: the ways' box stands in.
    assert tilebuild.pbf_bbox(OSM / "monaco-region.osm.pbf") is None
    box = tilebuild.extract_bbox(OSM / "monaco-region.osm.pbf")
    assert box == pytest.approx((7.349, 43.7148, 7.4909, 43.77), abs=1e-3)


def test_the_sea_is_on_the_right_of_the_coastline() -> None:
    box = (0.0, 0.0, 1.0, 1.0)
    # Westward coast along y = 0.5: land on its left (south), sea on its right (north). It
    # stops 0.001 short of the west edge, as a clipped extract's does.
    coast = LineString([(1.0, 0.5), (0.5, 0.52), (0.001, 0.5)], srid=4326)
    island = Polygon([(0.4, 0.8), (0.5, 0.8), (0.5, 0.9), (0.4, 0.8)], srid=4326)
    sea = tilebuild.sea_polygons([coast], [island], box)
    assert sea is not None
    assert sea.area == pytest.approx(0.49 - island.area, abs=0.01)
    assert sea.contains(Point(0.2, 0.9))
    assert sea.contains(Point(0.0005, 0.7))
    assert not sea.contains(Point(0.2, 0.1))
    assert not sea.contains(Point(0.47, 0.83))
    # The same coast drawn the other way round: the sea is south.
    reverse = tilebuild.sea_polygons([LineString(coast.coords[::-1], srid=4326)], [], box)
    assert reverse is not None
    assert reverse.contains(Point(0.2, 0.1))
    # A coastline cut in the middle of the box cannot be closed: no sea rather than a wrong one.
    cut = LineString([(1.0, 0.5), (0.5, 0.5)], srid=4326)
    assert tilebuild.sea_polygons([cut], [], box) is None
    assert tilebuild.sea_polygons([], [], box) is None


def test_tiles_are_made_once_and_again_when_their_inputs_change(tmp_path) -> None:  # type: ignore[no-untyped-def]
    extract = tmp_path / "region.osm.pbf"
    extract.write_bytes((OSM / "monaco-region.osm.pbf").read_bytes())
    output = tmp_path / "map" / "base.pmtiles"
    first = tilebuild.prepare(extract, output)
    assert first.built
    assert output.stat().st_size > 50_000
    west, south, east, north = basemap.file_bounds(output)  # type: ignore[misc]
    assert (west, south, east, north) == pytest.approx((7.349, 43.7148, 7.4909, 43.77), abs=1e-3)
    assert not tilebuild.prepare(extract, output).built
    # Another extract under the same name (or a changed config: the stamp hashes both).
    extract.write_bytes((OSM / "liechtenstein.osm.pbf").read_bytes())
    assert tilebuild.prepare(extract, output).built
    assert basemap.file_bounds(output)[0] == pytest.approx(9.471078)  # type: ignore[index]


def test_the_set_up_and_the_command_make_the_tiles(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import CommandError, call_command

    output = tmp_path / "base.pmtiles"
    assert tilebuild.main([str(OSM / "liechtenstein.osm.pbf"), str(output)]) == 0
    assert "Base map tiles for liechtenstein.osm.pbf" in capsys.readouterr().out
    assert tilebuild.main([str(OSM / "liechtenstein.osm.pbf"), str(output)]) == 0
    assert capsys.readouterr().out == ""  # up to date: nothing to say
    assert tilebuild.main([str(tmp_path / "none.osm.pbf"), str(output)]) == 1
    assert tilebuild.main([]) == 2
    call_command("prepare_map", extract=OSM / "liechtenstein.osm.pbf", output=output, force=True)
    assert "Base map tiles" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no extract"):
        call_command("prepare_map", extract=tmp_path / "none.osm.pbf", output=output)


def test_the_monaco_tiles_have_the_sea(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines, islands = tilebuild._coastline((OSM / "monaco-region.osm.pbf").resolve(), tmp_path)
    box = tilebuild.extract_bbox(OSM / "monaco-region.osm.pbf")
    assert box is not None
    sea = tilebuild.sea_polygons(lines, islands, box)
    assert sea is not None
    assert sea.contains(Point(7.43, 43.72))  # off Monaco
    assert not sea.contains(Point(7.42, 43.74))  # Monte-Carlo
    assert 0.2 < sea.area / Polygon.from_bbox(box).area < 0.6


# --- the file, by ranges ---------------------------------------------------------------------


@pytest.fixture
def manager_client(client, manager):  # type: ignore[no-untyped-def]
    client.force_login(manager)
    return client


URL = "/manager/map/base.pmtiles"


def test_the_tiles_are_served_by_range(manager_client, tiles_file) -> None:  # type: ignore[no-untyped-def]
    content = tiles_file.read_bytes()
    size = len(content)
    whole = manager_client.get(URL)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == content
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Cache-Control"] == "private, max-age=3600"
    etag = whole["ETag"]

    part = manager_client.get(URL, HTTP_RANGE="bytes=0-126")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 0-126/{size}"
    assert part["Content-Length"] == "127"
    assert b"".join(part.streaming_content) == content[:127]
    assert part["ETag"] == etag

    tail = manager_client.get(URL, HTTP_RANGE="bytes=-100")
    assert b"".join(tail.streaming_content) == content[-100:]
    rest = manager_client.get(URL, HTTP_RANGE=f"bytes={size - 5}-")
    assert rest["Content-Range"] == f"bytes {size - 5}-{size - 1}/{size}"
    past_end = manager_client.get(URL, HTTP_RANGE=f"bytes=100-{size + 1000}")
    assert past_end["Content-Range"] == f"bytes 100-{size - 1}/{size}"

    outside = manager_client.get(URL, HTTP_RANGE=f"bytes={size}-")
    assert outside.status_code == 416
    assert outside["Content-Range"] == f"bytes */{size}"
    # Several ranges, or a file changed since (If-Range): the whole file.
    assert manager_client.get(URL, HTTP_RANGE="bytes=0-1,5-6").status_code == 200
    assert manager_client.get(URL, HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"old"').status_code == 200
    assert manager_client.get(URL, HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE=etag).status_code == 206
    assert manager_client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert manager_client.post(URL).status_code == 405


def test_the_tiles_are_for_managers_only(client, tiles_file, customer) -> None:  # type: ignore[no-untyped-def]
    anonymous = client.get(URL)
    assert anonymous.status_code == 302
    assert "/manager/login/" in anonymous["Location"]
    client.force_login(customer)
    assert client.get(URL).status_code == 404


def test_no_file_is_a_404(manager_client, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MAP_TILES_FILE = str(tmp_path / "none.pmtiles")
    assert manager_client.get(URL).status_code == 404


# --- which tiles, and what is drawn ----------------------------------------------------------


def test_which_tiles_a_store_gets(tiles_file, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    inside = basemap.tile_source(lat=MONACO_STORE[0], lng=MONACO_STORE[1])
    assert inside == basemap.TileSource("pmtiles", URL)
    assert basemap.tile_source(lat=45.73, lng=4.88) is None  # Lyon: not in the file
    tiles_file.write_bytes(b"not a pmtiles file")
    assert basemap.tile_source(lat=MONACO_STORE[0], lng=MONACO_STORE[1]) is None
    # A tile server elsewhere covers wherever it says.
    for url, kind in (
        ("https://tiles.example.com/region.pmtiles", "pmtiles"),
        ("https://tiles.example.com/v1/{z}/{x}/{y}.pbf", "xyz"),
        ("https://tiles.example.com/v1.json", "tilejson"),
    ):
        settings.MAP_TILES_URL = url
        assert basemap.tile_source(lat=45.73, lng=4.88) == basemap.TileSource(kind, url)
        assert basemap.tiles_origin() == "https://tiles.example.com"


@pytest.fixture
def monaco_store(db, tiles_file):  # type: ignore[no-untyped-def]
    store = factories.StoreFactory(location=factories.point(*MONACO_STORE))
    drivers = data.drivers_for(store)
    posted = timezone.now() - timedelta(hours=1)
    stories = [
        data.Story(posted=posted, dropoff=(43.7450, 7.4330)),  # open
        data.Story(
            posted=posted,
            outcome=RequestState.ASSIGNED,
            responses=[data.Response(drivers.a, 60)],
            selected=0,
            dropoff=(43.7436, 7.4270),
        ),
        data.Story(
            posted=posted,
            outcome=RequestState.PICKED_UP,
            responses=[data.Response(drivers.b, 60)],
            selected=0,
            dropoff=(43.7310, 7.4200),
        ),
        data.Story(
            posted=posted,
            outcome=RequestState.DELIVERED,
            responses=[data.Response(drivers.c, 60)],
            selected=0,
            dropoff=(43.7280, 7.4160),
        ),
    ]
    for story in stories:
        data.build(store=store, story=story, trips=drivers.trips)
    manager = factories.MembershipFactory(store=store).user
    return store, manager, drivers


def page_data(html: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'<script id="basemap-data" type="application/json">(.*?)</script>', html)
    assert found, "no base map data in the page"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_the_map_draws_the_road_from_the_store_only(client, monaco_store) -> None:  # type: ignore[no-untyped-def]
    store, manager, drivers = monaco_store
    client.force_login(manager)
    response = client.get(f"/manager/stores/{store.pk}/")
    html = response.content.decode()
    drawn = page_data(html)
    assert drawn["source"] == {"kind": "pmtiles", "url": URL, "attribution": basemap.ATTRIBUTION}
    assert drawn["store"]["geometry"]["coordinates"] == [MONACO_STORE[1], MONACO_STORE[0]]
    outcomes = sorted(f["properties"]["outcome"] for f in drawn["dropoffs"]["features"])
    assert outcomes == ["assigned", "delivered", "open", "picked_up"]
    # A road for each request whose driver is on the way, from the store to the drop-off.
    routes = {tuple(f["geometry"]["coordinates"][-1]) for f in drawn["routes"]["features"]}
    assert routes == {(7.4270, 43.7436), (7.4200, 43.7310)}
    for feature in drawn["routes"]["features"]:
        # The straight-line model is the engine here: a straight line, marked estimated.
        assert feature["geometry"]["coordinates"][0] == [MONACO_STORE[1], MONACO_STORE[0]]
        assert len(feature["geometry"]["coordinates"]) == 2
        assert feature["properties"]["estimated"] is True
    # Never where the drivers are going (their homes): no trip's destination is in the page.
    for trip in drivers.trips.values():
        for value in (trip.destination.x, trip.destination.y):
            assert f"{value}" not in html
    assert 'id="basemap"' in html
    assert 'id="map-fallback"' in html


def test_a_store_outside_the_tiles_gets_the_svg_map(client, manager, store, tiles_file) -> None:  # type: ignore[no-untyped-def]
    client.force_login(manager)
    html = client.get(f"/manager/stores/{store.pk}/").content.decode()
    assert 'id="basemap"' not in html
    assert "basemap-data" not in html
    assert "No base map covers this store" in html
    assert 'id="map-dropoffs"' in html
    assert "maplibre-gl" not in html  # nor its script


def test_the_dashboard_content_security_policy(client, manager, store, settings) -> None:  # type: ignore[no-untyped-def]
    client.force_login(manager)
    policy = client.get(f"/manager/stores/{store.pk}/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["style-src"] == "'self'"
    assert directives["worker-src"] == "'self'"  # MapLibre's worker file, not a blob:
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    settings.MAP_TILES_URL = "https://tiles.example.com/region.pmtiles"
    policy = client.get(f"/manager/stores/{store.pk}/")["Content-Security-Policy"]
    assert "connect-src 'self' https://tiles.example.com" in policy


def test_on_roads_the_route_follows_the_roads_from_the_store_to_the_drop_off(  # type: ignore[no-untyped-def]
    client, monaco_store, on_roads
) -> None:
    store, manager, drivers = monaco_store
    client.force_login(manager)
    html = client.get(f"/manager/stores/{store.pk}/").content.decode()
    routes = page_data(html)["routes"]["features"]
    assert len(routes) == 2
    for feature in routes:
        line = feature["geometry"]["coordinates"]
        assert feature["properties"]["estimated"] is False
        assert len(line) > 5  # along the streets, not a straight line
        # It starts at the store's road and ends at the drop-off's (within the snap distance).
        start, end = Point(*line[0], srid=4326), Point(*line[-1], srid=4326)
        store_point = Point(MONACO_STORE[1], MONACO_STORE[0], srid=4326)
        assert start.distance(store_point) < 0.003
        ends = [(7.4270, 43.7436), (7.4200, 43.7310)]
        assert min(end.distance(Point(*e, srid=4326)) for e in ends) < 0.003
    for trip in drivers.trips.values():
        for value in (trip.destination.x, trip.destination.y):
            assert f"{value}" not in html
