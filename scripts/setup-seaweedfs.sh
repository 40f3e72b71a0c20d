#!/usr/bin/env bash
# Builds SeaweedFS's `weed` binary (Apache-2.0; serves the S3 API the storage tests run against) from
# its Go module into $LLAMADUO_TOOLS/bin, once. Skipped when the pinned version is already there.
#
# `go install module@version` refuses modules whose go.mod has replace directives, and SeaweedFS's
# has one, so the module is downloaded from the proxy and built as the main module instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"

SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
log() { printf '[setup-seaweedfs] %s\n' "$*" >&2; }

bin="$LLAMADUO_TOOLS/bin/weed"
stamp="$LLAMADUO_TOOLS/bin/.weed-version"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SEAWEEDFS_VERSION" ]; then
  log "$("$bin" version 2>/dev/null | head -1)"
  exit 0
fi

command -v go >/dev/null || { log "go is required to build SeaweedFS (https://go.dev/dl)"; exit 1; }
start=$(date +%s)
log "building SeaweedFS weed $SEAWEEDFS_VERSION from source (several minutes, once)"
dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { log "go mod download gave no source directory"; exit 1; }
partial="$LLAMADUO_TOOLS/seaweedfs.partial"
rm -rf "$partial" && mkdir -p "$partial"
(cd "$dir" && GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' -o "$partial/weed" ./weed)
mkdir -p "$LLAMADUO_TOOLS/bin"
mv "$partial/weed" "$bin"
echo "$SEAWEEDFS_VERSION" > "$stamp"
rmdir "$partial"
log "built in $(($(date +%s) - start))s: $("$bin" version 2>/dev/null | head -1)"
