#!/usr/bin/env bash
# Vendor the dashboard's JavaScript libraries from the npm registry into central/dashboard/vendor/
# (served by central, never a CDN), each with its licence. Pinned versions; idempotent and quick.
set -euo pipefail
cd "$(dirname "$0")/.."

LEAFLET=1.9.4   # map: the ward GeoJSON drawn without tiles (BSD-2-Clause)
UPLOT=1.6.32    # level charts: small and fast on thousands of points (MIT)
dest=central/dashboard/vendor
stamp="$dest/.versions"
want="leaflet@$LEAFLET uplot@$UPLOT"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "setup: npm missing: install it (sudo apt-get install npm), then run scripts/vendor_dashboard.sh" >&2
    exit 1
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "setup: fetching leaflet@$LEAFLET and uplot@$UPLOT from the npm registry for the dashboard" >&2
(cd "$work" && npm pack --silent "leaflet@$LEAFLET" "uplot@$UPLOT" >/dev/null)
mkdir -p "$work/leaflet" "$work/uplot"
tar -xzf "$work/leaflet-$LEAFLET.tgz" -C "$work/leaflet"
tar -xzf "$work/uplot-$UPLOT.tgz" -C "$work/uplot"
rm -rf "$dest"
mkdir -p "$dest/leaflet" "$dest/uplot"
cp "$work/leaflet/package/dist/leaflet.js" "$work/leaflet/package/dist/leaflet.css" "$dest/leaflet/"
cp -r "$work/leaflet/package/dist/images" "$dest/leaflet/images"
cp "$work/leaflet/package/LICENSE" "$dest/leaflet/LICENSE"
cp "$work/uplot/package/dist/uPlot.iife.min.js" "$work/uplot/package/dist/uPlot.min.css" "$dest/uplot/"
cp "$work/uplot/package/LICENSE" "$dest/uplot/LICENSE"
echo "$want" > "$stamp"
