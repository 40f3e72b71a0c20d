#!/usr/bin/env bash
# The README's test command (`npm test`): installs what is missing (idempotent), checks lint, format and
# types, then runs every suite against real parts (Temporal dev server, Kubernetes API server, local
# provider servers, the trainer on CPU). Ends with one line: `tests: <passed> passed, <failed> failed`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"
bash scripts/setup.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }
source scripts/tools-env.sh

mkdir -p test-results
passed=0
failed=0
start_all=$(date +%s)

# run_suite NAME COMMAND...: runs a suite, keeps its log in test-results/NAME.log, adds its counts.
run_suite() {
  local name=$1
  shift
  local log="test-results/$name.log" t0=$(date +%s)
  echo "== $name: $*"
  "$@" >"$log" 2>&1
  local rc=$?
  local p f
  # node --test ("ℹ pass N"), pytest ("N passed, M failed"), or our own "<suite>: ..., N passed, M failed"
  p=$(grep -aE '^ℹ pass [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  f=$(grep -aE '^ℹ fail [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  if [ -z "$p" ]; then
    p=$(grep -aoE '[0-9]+ passed' "$log" | tail -1 | grep -oE '[0-9]+')
    f=$(grep -aoE '[0-9]+ failed' "$log" | tail -1 | grep -oE '[0-9]+')
  fi
  p=${p:-0}
  f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  # a run that reports no counts (e.g. the durability run) is one check
  if [ $rc -eq 0 ] && [ "$p" -eq 0 ]; then p=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  if [ $rc -ne 0 ]; then
    echo "   FAILED ($p passed, $f failed, $(( $(date +%s) - t0 ))s) — last lines of $log:"
    tail -40 "$log" | sed 's/^/   | /'
  else
    echo "   ok ($p passed, $(( $(date +%s) - t0 ))s)$(tail -1 "$log" | grep -aE '^[a-z0-9-]+: ' | sed 's/^/ — /')"
  fi
}

run_suite lint bash scripts/lint.sh
run_suite unit tsx --test --test-concurrency=1 'tests/unit/**/*.test.ts'
run_suite integration tsx --test --test-concurrency=1 'tests/integration/**/*.test.ts'
run_suite trainer "$LLAMADUO_TOOLS/venv/bin/python" -m pytest k8s/trainer/tests -q
run_suite durability tsx tests/durability/run.ts
run_suite flows tsx tests/flows/run.ts
run_suite study tsx tests/study/run.ts
run_suite k8s tsx tests/k8s/run.ts
run_suite metrics tsx --test --test-concurrency=1 tests/metrics/metrics.test.ts
run_suite chaos tsx tests/chaos/run.ts
run_suite storage tsx tests/storage/run.ts

echo "[test] all suites took $(( $(date +%s) - start_all ))s"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
