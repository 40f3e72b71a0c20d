#!/usr/bin/env bash
# Runs a command with the project's Node (>= 22) and tools on PATH: `bash scripts/node-env.sh tsx file.ts`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
exec "$@"
