#!/usr/bin/env bash
# Creates the Python environment ($LLAMADUO_TOOLS/venv) for the trainer package's CPU tests and the
# benchmarks. Skipped when the stamp matches the requirement files, so a second run costs a second.
#
# torch on PyPI (Linux) is the CUDA build: it links the nvidia-* libraries, so they must be installed
# even on CPU. The lock is installed with --no-deps so that triton (about 1 GB, GPU kernels only) is
# left out; see docs/benchmarks-trainer.md for sizes and cold install times.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"

log() { printf '[setup-python] %s\n' "$*" >&2; }

venv="$LLAMADUO_TOOLS/venv"
lock=k8s/trainer/requirements-cpu.lock
dev=k8s/trainer/requirements-dev.txt
bench=bench/requirements.txt
inputs=("$lock" "$dev")
[ -f "$bench" ] && inputs+=("$bench")
want=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
stamp="$venv/.llamaduo-requirements.sha256"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  log "venv up to date ($venv)"
  exit 0
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "[setup-python] need Python >= 3.10, found $("$python" --version 2>&1)" >&2
  exit 1
fi

start=$(date +%s)
[ -x "$venv/bin/python" ] || { log "creating $venv"; "$python" -m venv "$venv"; }
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
log "installing $lock (no triton; several minutes on a cold cache)"
"${pip[@]}" install --no-deps -r "$lock"
"${pip[@]}" install -r "$dev"
if [ -f "$bench" ]; then
  log "installing $bench"
  "${pip[@]}" install -r "$bench"
fi
"$venv/bin/python" -c 'import torch, transformers, peft; print("torch", torch.__version__)' >&2
echo "$want" >"$stamp"
log "done in $(($(date +%s) - start))s"
