"""The dashboard's base map in a real headless Chromium: a store in Monaco, its drop-offs by
outcome, the road of a request whose driver is on the way. The map must draw tiles (a pixel
check that only the tiles' colours can pass) and show the OpenStreetMap attribution; with a
broken tile URL the same check must fail, so that it cannot pass on an empty map."""

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from backend.analytics import tilebuild
from backend.deliveries.models import RequestState
from tests import factories
from tests.backend.analytics import data
from tests.backend.analytics.browser import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser

MONACO_STORE = (43.7390, 7.4260)  # Monte-Carlo, above the port
DROPOFFS = [
    ((43.7436, 7.4270), RequestState.DELIVERED),  # Beausoleil
    ((43.7310, 7.4200), RequestState.DELIVERED),  # Monaco-Ville
    ((43.7280, 7.4160), RequestState.CANCELLED),  # Fontvieille
    ((43.7370, 7.4150), RequestState.EXPIRED),  # Moneghetti
    ((43.7450, 7.4330), RequestState.ASSIGNED),  # Larvotto
    ((43.7230, 7.4050), RequestState.OPEN),  # Cap-d'Ail
]


@pytest.fixture(scope="module")
def tiles(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The Monaco tiles: those `make test` prepared, unless the set-up was given another extract
    (then made here, aside)."""
    monaco = Path(__file__).resolve().parents[3] / "fixtures" / "osm" / "monaco-region.osm.pbf"
    prepared = Path(settings.MAP_TILES_FILE)
    if tilebuild.is_current(monaco, prepared):
        return prepared
    return tilebuild.prepare(monaco, tmp_path_factory.mktemp("map") / "base.pmtiles").path


@pytest.fixture
def monaco(transactional_db, tiles, settings, on_roads):  # type: ignore[no-untyped-def]
    settings.MAP_TILES_FILE = str(tiles)
    settings.MAP_TILES_URL = ""
    store = factories.StoreFactory(
        name="Monte-Carlo", location=factories.point(*MONACO_STORE), timezone="Europe/Monaco"
    )
    manager = factories.MembershipFactory(store=store).user
    drivers = data.drivers_for(store)
    posted = timezone.now() - timedelta(hours=2)
    for dropoff, outcome in DROPOFFS:
        carried = outcome in (RequestState.ASSIGNED, RequestState.DELIVERED)
        story = data.Story(
            posted=posted,
            outcome=outcome,
            responses=[data.Response(drivers.a, 60)] if carried else [],
            selected=0 if carried else None,
            closed_after_s=600
            if outcome in (RequestState.CANCELLED, RequestState.EXPIRED)
            else None,
            dropoff=dropoff,
        )
        data.build(store=store, story=story, trips=drivers.trips)
    return store, manager


def tile_colours() -> list[tuple[int, int, int]]:
    """The colours the style paints from the tiles: water, land use and the coloured roads
    (white, grey and the background are left out: the controls and an empty map have them)."""
    style = json.loads(
        (
            Path(__file__).resolve().parents[3]
            / "backend/analytics/static/analytics/map/style.json"
        ).read_text()
    )
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith("#") and len(value) == 7:
            found.add(value.lower())
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for layer in style["layers"]:
        if layer.get("source") == "base":
            for key, value in layer.get("paint", {}).items():
                if key.endswith("-color"):
                    walk(value)
    colours = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in found]
    return [c for c in colours if max(c) - min(c) > 12]  # not white or a grey


def tile_pixel_share(png: bytes) -> float:
    """The share of the image's pixels painted in one of the tiles' own colours."""
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((350, 230))
    palette = tile_colours()
    raw = image.tobytes()
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    hits = sum(
        1
        for r, g, b in pixels
        if any(abs(r - pr) + abs(g - pg) + abs(b - pb) <= 9 for pr, pg, pb in palette)
    )
    return hits / len(pixels)


def open_map(page: Any, base_url: str, store: Any, manager: Any) -> tuple[bytes, str]:
    log_in(page, base_url, manager.email)
    page.goto(f"{base_url}/manager/stores/{store.pk}/")
    # (A locator, not wait_for_function: the page's Content-Security-Policy forbids eval.)
    page.locator('#basemap:not([data-state="loading"])').wait_for(state="attached", timeout=60_000)
    state = page.locator("#basemap").get_attribute("data-state")
    return page.locator("#basemap").screenshot(), state


def test_dashboard_map_draws_tiles_and_attribution(page, live_server, monaco) -> None:  # type: ignore[no-untyped-def]
    store, manager = monaco
    ranges: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: ranges.append((r.status, r.request.headers.get("range", "")))
        if r.url.endswith("/manager/map/base.pmtiles")
        else None,
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    png, state = open_map(page, live_server.url, store, manager)
    (SCREENSHOTS / "07-dashboard-map.png").write_bytes(png)
    page.screenshot(path=str(SCREENSHOTS / "08-dashboard-with-map.png"), full_page=True)

    assert state == "idle", errors
    assert errors == []  # no Content-Security-Policy violation, no tile error
    share = tile_pixel_share(png)
    assert share > 0.15, f"only {share:.1%} of the map is drawn from the tiles"
    # Read by ranges, never whole.
    assert ranges
    assert all(status == 206 for status, _ in ranges)
    assert all(value.startswith("bytes=") for _, value in ranges)
    attribution = page.locator("#basemap .maplibregl-ctrl-attrib")
    assert attribution.is_visible()
    assert "© OpenStreetMap contributors" in attribution.inner_text()
    # The SVG map gave way; the legend has every outcome and the route.
    assert page.locator("#map-fallback").is_hidden()
    assert page.locator("#basemap-legend li").count() == 9
    drawn = page.evaluate(
        "() => ['dropoffs', 'routes', 'store'].map("
        "id => window.dashboardMap.querySourceFeatures(id).length)"
    )
    assert drawn[0] >= len(DROPOFFS)
    assert drawn[1] >= 1
    assert drawn[2] >= 1  # (a point is counted once per tile that holds it)


def test_the_pixel_check_fails_when_the_tiles_do_not_load(
    page, live_server, monaco, settings
) -> None:  # type: ignore[no-untyped-def]
    store, manager = monaco
    settings.MAP_TILES_URL = f"{live_server.url}/manager/map/missing.pmtiles"
    png, state = open_map(page, live_server.url, store, manager)
    (SCREENSHOTS / "09-dashboard-map-broken-tiles.png").write_bytes(png)
    assert state == "error"
    assert page.locator("#basemap-note").is_visible()
    assert tile_pixel_share(png) < 0.01


def test_a_store_outside_the_tiles_keeps_the_svg_map(page, live_server, monaco) -> None:  # type: ignore[no-untyped-def]
    lyon = factories.StoreFactory()  # the factories' store is near Lyon, far from Monaco
    manager = factories.MembershipFactory(store=lyon).user
    factories.DeliveryRequestFactory(store=lyon)
    log_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/manager/stores/{lyon.pk}/")
    assert page.locator("#basemap").count() == 0
    assert page.locator("#basemap-missing").is_visible()
    assert page.locator("#map-dropoffs circle.dropoff").count() == 1
