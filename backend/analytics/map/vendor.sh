#!/usr/bin/env bash
# Copies the base map's JavaScript libraries from npm into the static folder, where they are
# committed: `make run` and the tests need no npm and fetch nothing from a CDN. Run it after
# changing a version in package.json (then commit package-lock.json and the vendored files).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --ignore-scripts
VENDOR=../static/analytics/vendor
rm -rf "$VENDOR"
mkdir -p "$VENDOR/maplibre-gl" "$VENDOR/pmtiles"
# MapLibre GL JS (BSD-3-Clause): the ES module build, its worker (loaded from the same folder,
# so the page's Content-Security-Policy needs no blob: worker) and its stylesheet.
for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
  # The source maps are not vendored: drop the comments that point to them.
  sed '/^\/\/# sourceMappingURL=/d; s|/\*# sourceMappingURL=[^*]*\*/||' \
    "node_modules/maplibre-gl/dist/$f" > "$VENDOR/maplibre-gl/$f"
done
cp node_modules/maplibre-gl/LICENSE.txt "$VENDOR/maplibre-gl/LICENSE.txt"
# PMTiles (BSD-3-Clause; the npm package ships no licence file, see LICENSE.txt): the
# self-contained browser build, which defines the global `pmtiles`.
sed '/^\/\/# sourceMappingURL=/d' node_modules/pmtiles/dist/pmtiles.js > "$VENDOR/pmtiles/pmtiles.js"
cp pmtiles-LICENSE.txt "$VENDOR/pmtiles/LICENSE.txt"
node -e '
  const lock = require("./package-lock.json").packages;
  for (const name of ["maplibre-gl", "pmtiles"]) {
    const p = lock["node_modules/" + name];
    console.log(`${name} ${p.version} ${p.license} ${p.integrity}`);
  }' > "$VENDOR/VERSIONS.txt"
cat "$VENDOR/VERSIONS.txt"
