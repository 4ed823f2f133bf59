#!/usr/bin/env bash
# Builds the binaries of a real Kubernetes control plane for the operator's tests (no Docker, no
# downloads other than Go modules): kube-apiserver, kube-controller-manager and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3.
#
# Output: a version-keyed folder outside the repo, printed as the last line of stdout:
#   ${QS_TESTBIN_DIR:-$HOME/.cache/quorumstore/k8s-testbin}/v<k8s>-etcd<etcd>/
# Idempotent: a folder that is complete (has .complete) is reused at once.
#
#   scripts/build-k8s-testbin.sh           build if needed, print the folder
#   scripts/build-k8s-testbin.sh --check   print the folder if built, else exit 3 (never builds)
#
# Versions: QS_K8S_VERSION (default 1.36.3; fallback 1.37.2) and QS_ETCD_VERSION (default v3.6.16).
# A version whose modules need a newer Go than the machine's: run with GOTOOLCHAIN=go1.27.3.
set -euo pipefail

K8S=${QS_K8S_VERSION:-1.36.3}
ETCD=${QS_ETCD_VERSION:-v3.6.16}
ROOT=${QS_TESTBIN_DIR:-$HOME/.cache/quorumstore/k8s-testbin}
OUT="$ROOT/v$K8S-etcd$ETCD"
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl)

NAME=build-k8s-testbin RESULT="$OUT" LOCK="$ROOT/.lock" GO_MIN=1.26
HINT="the first build takes 10-20 min"
is_complete() {
  [[ -f "$OUT/.complete" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}
# shellcheck source=lib/go-testbin.sh
source "$(dirname "$0")/lib/go-testbin.sh"
go_testbin_begin "$@"
mkdir -p "$WORK/k8s" "$WORK/etcd"

# --- k8s.io/kubernetes: a throwaway wrapper module --------------------------------------------
# The kubernetes go.mod requires its staging modules (k8s.io/api, ...) at v0.0.0 with replaces onto
# ./staging; replaces in a dependency are ignored, so the wrapper pins each to its v0.X.Y tag.
# The list is read from the kubernetes go.mod itself, so it stays right for any version.
log "k8s.io/kubernetes v$K8S: resolving modules"
cd "$WORK/k8s"
printf 'module local/k8stestbin\n\ngo 1.26\n' >go.mod
KMOD=$(go mod download -json "k8s.io/kubernetes@v$K8S" | sed -n 's/.*"GoMod": "\([^"]*\)".*/\1/p')
[[ -f "$KMOD" ]] || { log "could not download k8s.io/kubernetes@v$K8S"; exit 1; }
STAGING="v0.${K8S#1.}"
for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*|\1|p' "$KMOD"); do
  go mod edit -replace="$m=$m@$STAGING"
done
# Keep upstream's GODEBUG defaults (they pin behaviour such as x509 parsing).
GD=$(sed -n 's/^godebug default=\(go[0-9.]*\).*/\1/p' "$KMOD")
if [[ -n "$GD" ]]; then go mod edit -godebug="default=$GD"; fi
go mod edit -require="k8s.io/kubernetes@v$K8S" \
  -tool=k8s.io/kubernetes/cmd/kube-apiserver \
  -tool=k8s.io/kubernetes/cmd/kube-controller-manager \
  -tool=k8s.io/kubernetes/cmd/kubectl
go mod tidy >&2
# Unstamped, /version says v0.0.0-master; stamp it the way upstream's hack/lib/version.sh does.
MINOR=$(cut -d. -f2 <<<"$K8S")
LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD+=" -X $p.gitVersion=v$K8S -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean"
done
log "building kube-apiserver, kube-controller-manager, kubectl (cold: 10-20 min on 2 cores)"
go build -trimpath -ldflags "$LD" -o "$STAGE/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl
cp go.mod "$STAGE/k8s.go.mod"

# --- etcd: its module root is package main (server/main.go) ------------------------------------
# `go install` refuses it (its go.mod has replaces), hence a second wrapper module; a separate one
# so etcd's grpc/otel versions don't have to agree with kubernetes'.
log "building etcd $ETCD"
cd "$WORK/etcd"
printf 'module local/etcdtestbin\n\ngo 1.26\n' >go.mod
go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD" -tool=go.etcd.io/etcd/server/v3
go mod tidy >&2
go build -trimpath -ldflags "-s -w" -o "$STAGE/etcd" go.etcd.io/etcd/server/v3
cp go.mod "$STAGE/etcd.go.mod"

# --- check, then publish -----------------------------------------------------------------------
"$STAGE/kube-apiserver" --version >&2
"$STAGE/etcd" --version >&2
"$STAGE/kubectl" version --client >&2
printf 'kubernetes v%s\netcd %s\n%s\nbuilt in %ss\n' "$K8S" "$ETCD" "$(go version)" \
  "$((SECONDS - start))" >"$STAGE/.complete"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
log "done in $((SECONDS - start))s"
echo "$OUT"
