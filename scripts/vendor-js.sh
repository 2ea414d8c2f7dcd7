#!/usr/bin/env bash
# Fetch the pinned browser libraries of package.json from the npm registry into
# build/npm and copy the files the pages load into app/static/vendor/.
# Run by `make install`; nothing is ever loaded from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
out=app/static/vendor
stamp="$out/.package.json"
if [ -f "$stamp" ] && cmp -s package.json "$stamp"; then exit 0; fi
command -v npm >/dev/null || { echo "npm is missing: apt-get install npm" >&2; exit 1; }
mkdir -p build/npm "$out"
cp package.json build/npm/package.json
(cd build/npm && npm install --no-audit --no-fund --omit=dev --ignore-scripts --loglevel=error >/dev/null)
# package file -> vendored name (one line each)
while read -r src dst; do
  [ -n "$src" ] || continue
  cp "build/npm/node_modules/$src" "$out/$dst"
done <<'LIST'
chart.js/dist/chart.umd.js chart.umd.js
jsqr/dist/jsQR.js jsQR.js
LIST
cp package.json "$stamp"
echo "vendored: $(ls "$out" | tr '\n' ' ')"
