#!/usr/bin/env bash
# Every lint check on its own: eslint, prettier, tsc, ruff check and ruff format (trainer + bench Python).
# Ends with one line `lint: <check> ok|FAILED, ..., N passed, M failed`; exits non-zero when any failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"

ruff="$LLAMADUO_TOOLS/venv/bin/ruff"
py=(k8s/trainer bench/trainer)
passed=0
failed=0
results=()

# check NAME COMMAND...: runs one check, its output shown under a header.
check() {
  local name=$1
  shift
  echo "== lint $name: $*"
  if "$@"; then
    passed=$((passed + 1))
    results+=("$name ok")
  else
    failed=$((failed + 1))
    results+=("$name FAILED")
  fi
}

check eslint eslint .
check prettier prettier --check .
check tsc tsc --noEmit -p .
check ruff-check "$ruff" check --config k8s/trainer/pyproject.toml "${py[@]}"
check ruff-format "$ruff" format --check --config k8s/trainer/pyproject.toml "${py[@]}"

summary=$(IFS=,; echo "${results[*]}" | sed 's/,/, /g')
echo "lint: $summary, $passed passed, $failed failed"
[ "$failed" -eq 0 ]
