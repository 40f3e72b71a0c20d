#!/usr/bin/env bash
# The chaos run's trainer command: `trainer-wrapper.sh <step> --spec <file>` runs the real trainer and appends
# one ledger line per step that succeeded, so the run can tell whether any step's outputs were produced twice.
# The first time it sees a spec path ending in $CHAOS_FAIL_ONCE it exits 3 (preempted: retryable) instead.
# Env: CHAOS_PYTHON, CHAOS_LEDGER, CHAOS_FAIL_ONCE (optional), CHAOS_FAIL_MARKER (a directory created once).
set -uo pipefail
step="$1"
spec="$3"
if [[ -n "${CHAOS_FAIL_ONCE:-}" && "$spec" == *"$CHAOS_FAIL_ONCE" ]] && mkdir "$CHAOS_FAIL_MARKER" 2>/dev/null; then
  echo "chaos: injected preemption of $step ($spec)" >&2
  printf '{"event":"injected","step":"%s","spec":"%s"}\n' "$step" "$spec" >>"$CHAOS_LEDGER"
  exit 3
fi
"$CHAOS_PYTHON" -m llamaduo_trainer "$@"
code=$?
if [[ $code -eq 0 ]]; then
  printf '{"event":"ok","step":"%s","spec":"%s"}\n' "$step" "$spec" >>"$CHAOS_LEDGER"
fi
exit $code
