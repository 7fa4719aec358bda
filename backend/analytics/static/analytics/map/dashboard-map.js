// The dashboard's base map: MapLibre GL JS (vendored) draws the vector tiles named in the page's
// #basemap-data (the app's PMTiles file, read by range requests through the pmtiles protocol, or
// another tile server), with the store, the drop-offs by outcome and, for requests whose driver
// is on the way, the road from the store to the drop-off. The server-drawn SVG map stays in the
// page and is shown again if the map cannot start. The element's data-state tells the tests (and
// anyone looking) where it is: loading, idle or error.
import * as maplibregl from "../vendor/maplibre-gl/maplibre-gl.mjs";

const element = document.getElementById("basemap");
const data = JSON.parse(document.getElementById("basemap-data").textContent);
const fallback = document.getElementById("map-fallback");
const note = document.getElementById("basemap-note");

function baseSource(source) {
  const common = { type: "vector", attribution: source.attribution };
  if (source.kind === "pmtiles") {
    // A path of this site ("/manager/map/base.pmtiles") or a full URL.
    return { ...common, url: `pmtiles://${new URL(source.url, window.location.href).href}` };
  }
  if (source.kind === "xyz") return { ...common, tiles: [source.url], maxzoom: 14 };
  return { ...common, url: source.url };
}

function fail(message) {
  element.dataset.state = "error";
  if (note) {
    note.textContent = message;
    note.hidden = false;
  }
}

async function start() {
  const protocol = new window.pmtiles.Protocol();
  maplibregl.addProtocol("pmtiles", protocol.tile);
  const style = await (await fetch(data.style, { credentials: "same-origin" })).json();
  style.sources.base = baseSource(data.source);
  style.sources.routes = { type: "geojson", data: data.routes };
  style.sources.dropoffs = { type: "geojson", data: data.dropoffs };
  style.sources.store = { type: "geojson", data: data.store };
  style.layers.push(
    {
      id: "routes-casing", type: "line", source: "routes",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#ffffff", "line-width": 6 },
    },
    {
      id: "routes", type: "line", source: "routes", filter: ["!", ["get", "estimated"]],
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#1565c0", "line-width": 3.5, "line-opacity": 0.9 },
    },
    // A straight line where no road engine answered: dashed, as an estimate.
    {
      id: "routes-estimated", type: "line", source: "routes", filter: ["get", "estimated"],
      paint: {
        "line-color": "#1565c0", "line-width": 3, "line-opacity": 0.9, "line-dasharray": [2, 1.5],
      },
    },
    {
      id: "dropoffs", type: "circle", source: "dropoffs",
      paint: {
        "circle-color": ["get", "colour"], "circle-radius": 5, "circle-opacity": 0.85,
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
      },
    },
    {
      id: "store", type: "circle", source: "store",
      paint: {
        "circle-color": "#000000", "circle-radius": 8,
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 2,
      },
    },
  );

  // The SVG map is the fallback: hidden once this one starts.
  if (fallback) fallback.hidden = true;
  element.hidden = false;
  const map = new maplibregl.Map({
    container: element,
    style,
    bounds: data.bounds,
    fitBoundsOptions: { padding: 40, maxZoom: 15 },
    maxZoom: 18,
    attributionControl: { compact: false },
    dragRotate: false,
    pitchWithRotate: false,
    cooperativeGestures: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

  let tileErrors = 0;
  map.on("error", (event) => {
    tileErrors += 1;
    console.error("base map:", event.error && event.error.message);
    fail(element.dataset.errorText);
  });
  map.on("idle", () => {
    if (!tileErrors) element.dataset.state = "idle";
  });

  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  map.on("mousemove", "dropoffs", (event) => {
    map.getCanvas().style.cursor = "pointer";
    const feature = event.features[0];
    popup.setLngLat(feature.geometry.coordinates).setText(feature.properties.label).addTo(map);
  });
  map.on("mouseleave", "dropoffs", () => {
    map.getCanvas().style.cursor = "";
    popup.remove();
  });
  window.dashboardMap = map;
}

start().catch((error) => {
  console.error("base map:", error);
  if (fallback) fallback.hidden = false;
  element.hidden = true;
  fail(element.dataset.errorText);
});
