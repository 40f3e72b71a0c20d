#!/usr/bin/env bash
# Builds what the worker image runs (Dockerfile's build stage calls this; tests call it too):
#   <out>/main.js             the worker (workers/main.ts), TypeScript compiled to one ES module
#   <out>/codec-server.js     the codec server for the Temporal UI
#   <out>/llamaduo.js         the CLI (start, status, ... from inside the cluster)
#   <out>/features-worker.js  the curation feature thread (features-pool.ts loads it next to main.js)
#   <out>/workflow-bundle.js  the workflow bundle, so the worker does not run webpack at every start
# Packages stay external: the image carries node_modules with production dependencies only.
# Usage: scripts/build-worker-dist.sh [out-dir]   (default: dist; relative to the repository root)
# ESBUILD_METAFILE=<path> also writes esbuild's list of inputs (the tests check the Dockerfile copies them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-dist}"
BIN="$ROOT/node_modules/.bin"
rm -rf "$OUT"
mkdir -p "$OUT"

"$BIN/esbuild" \
  workers/main.ts workers/codec-server.ts cli/llamaduo.ts activities/data/curation/features-worker.ts \
  --bundle --platform=node --format=esm --target=node22 --packages=external \
  --sourcemap --log-level=warning --outdir="$OUT" --entry-names='[name]' \
  ${ESBUILD_METAFILE:+--metafile="$ESBUILD_METAFILE"}

node --import tsx scripts/build-workflow-bundle.ts "$OUT/workflow-bundle.js"
echo "built $(cd "$OUT" && ls | tr '\n' ' ')in $OUT"
