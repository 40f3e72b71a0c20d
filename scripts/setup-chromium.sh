#!/usr/bin/env bash
# Installs Debian's chromium for the report's browser check (tests/unit/report), once.
# playwright-core drives it; no browser is downloaded by Playwright itself.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium present: $(chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
chromium --version
