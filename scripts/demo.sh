#!/usr/bin/env bash
# README command 1 (`npm run demo`): installs what is missing, then runs a real migration on the embedded
# defaults (dev server on 127.0.0.1:7233, UI on :8233, artifacts in .llamaduo/, local GPU backend on CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"
SETUP_K8S=0 SETUP_SEAWEEDFS=0 bash scripts/setup.sh
exec tsx demo/run-demo.ts "$@"
