#!/usr/bin/env bash
# Builds a Kubernetes control plane for the tests into $LLAMADUO_TOOLS/k8s/bin, from Go modules (no Docker,
# no release downloads here): kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok and
# kustomize.
# Every binary is skipped when it is already there with the pinned version; timings go to k8s/build.log.
#
# Why wrapper modules: k8s.io/kubernetes and etcd's server module carry `replace` directives, so
# `go install pkg@version` refuses them. A throwaway module that depends on them (and, for kubernetes,
# replaces each ./staging/src/k8s.io/<m> with the published k8s.io/<m> v0.Y.Z) builds them instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-env.sh"

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.1}"

K8S_DIR="$LLAMADUO_TOOLS/k8s"
BIN="$K8S_DIR/bin"
SRC="$K8S_DIR/src"
BUILD_LOG="$K8S_DIR/build.log"
mkdir -p "$BIN" "$SRC"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[setup-k8s] %s\n' "$*" | tee -a "$BUILD_LOG" >&2; }
stamp_ok() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$BIN/.$1.version"; }
timed() { # timed <label> <cmd...>: runs the command and logs how long it took
  local label=$1 start=$SECONDS
  shift
  "$@"
  log "$label took $((SECONDS - start))s"
}

build_etcd() {
  local dir="$SRC/etcd-$ETCD_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init llamaduo.local/etcd-build >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.partial" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.partial" "$BIN/etcd"
  stamp etcd "$ETCD_VERSION"
}

build_kwok() {
  GOBIN="$BIN/kwok.partial" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$BIN/kwok.partial/kwok" "$BIN/kwok"
  rmdir "$BIN/kwok.partial"
  stamp kwok "$KWOK_VERSION"
}

build_kustomize() { # renders k8s/ overlays for the manifest tests
  GOBIN="$BIN/kustomize.partial" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mv "$BIN/kustomize.partial/kustomize" "$BIN/kustomize"
  rmdir "$BIN/kustomize.partial"
  stamp kustomize "$KUSTOMIZE_VERSION"
}

build_kube() {
  local dir="$SRC/kubernetes-$K8S_VERSION" minor staging gomod
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  staging="v0.$minor.$(echo "$K8S_VERSION" | cut -d. -f3)"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init llamaduo.local/kubernetes-build >/dev/null 2>&1
  # The replace list comes from the go.mod the proxy serves for this exact version.
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod")
  [ -n "$mods" ] || { log "no staging replaces found in $gomod"; exit 1; }
  log "replacing $(echo "$mods" | wc -l) staging modules with $staging"
  for m in $mods; do go mod edit -replace "$m=$m@$staging"; done
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
    "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION"
  go mod tidy
  local v=k8s.io/component-base/version
  local ldflags="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
  ldflags="$ldflags -X $v.gitTreeState=clean -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local cmd
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    timed "go build $cmd" go build -trimpath -ldflags "$ldflags" -o "$BIN/$cmd.partial" "k8s.io/kubernetes/cmd/$cmd"
    mv "$BIN/$cmd.partial" "$BIN/$cmd"
    stamp "$cmd" "$K8S_VERSION"
  done
}

total_start=$SECONDS
# `if` rather than `||`: set -e is off inside the left side of || lists, failures must stop the build.
if ! stamp_ok etcd "$ETCD_VERSION"; then
  log "building etcd $ETCD_VERSION"
  timed "etcd" build_etcd
fi
if ! stamp_ok kwok "$KWOK_VERSION"; then
  log "building kwok $KWOK_VERSION"
  timed "kwok" build_kwok
fi
if ! stamp_ok kustomize "$KUSTOMIZE_VERSION"; then
  log "building kustomize $KUSTOMIZE_VERSION"
  timed "kustomize" build_kustomize
fi
if ! stamp_ok kube-apiserver "$K8S_VERSION" || ! stamp_ok kube-controller-manager "$K8S_VERSION" ||
  ! stamp_ok kube-scheduler "$K8S_VERSION"; then
  log "building kubernetes $K8S_VERSION control plane (long on 2 cores, once)"
  timed "kubernetes" build_kube
fi
log "control plane ready in $BIN ($((SECONDS - total_start))s this run): $("$BIN/kube-apiserver" --version)"
