#!/usr/bin/env bash
# Writes the offline demo's student once: SmolLM2-135M-Instruct, read from the GGUF file that
# scripts/setup-demo-model.sh installed, dequantized by transformers (PyPI `gguf`) and saved as an ordinary
# safetensors model directory with its tokenizer and ChatML chat template:
#   $LLAMADUO_TOOLS/demo-student/   (the demo's baseModel)
# The weights are dequantized 4-bit (Q4_1), so a little worse than the original bf16 release. A stamp holding
# the GGUF's sha256, the converter's hash and the venv's transformers/gguf versions makes a second run a no-op.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"

GGUF="$LLAMADUO_TOOLS/demo-model/SmolLM2-135M-Instruct.Q4_1.gguf"
DEST="$LLAMADUO_TOOLS/demo-student"
STAMP="$DEST/.installed"
PY="$LLAMADUO_TOOLS/venv/bin/python"

log() { printf '[setup-demo-student] %s\n' "$*" >&2; }

[ -f "$GGUF" ] || bash scripts/setup-demo-model.sh
[ -x "$PY" ] || bash scripts/setup-python.sh

versions=$("$PY" -c 'import importlib.metadata as m; print(m.version("transformers"), m.version("gguf"))')
want="$(sha256sum "$GGUF" | cut -d' ' -f1) $(sha256sum scripts/convert-gguf-student.py | cut -d' ' -f1) $versions"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$DEST/model.safetensors" ]; then
  log "up to date ($DEST)"
  exit 0
fi

log "dequantizing $(basename "$GGUF") into $DEST (about a minute, once)"
start=$(date +%s)
OMP_NUM_THREADS=$(nproc) "$PY" scripts/convert-gguf-student.py "$GGUF" "$DEST"
echo "$want" >"$STAMP"
log "done in $(($(date +%s) - start)) s"
