#!/usr/bin/env bash
# Builds the Helm CLI from Go modules (helm.sh/helm/v3), for the chart tests (`helm lint`,
# `helm template`): no Docker, no download other than Go modules. Kept beside the Kubernetes test
# binaries of scripts/build-k8s-testbin.sh, in the same cache root:
#
#   ${QS_TESTBIN_DIR:-$HOME/.cache/quorumstore/k8s-testbin}/helm-v<version>/helm
#
# printed as the last line of stdout. Idempotent: a complete folder (has .complete) is reused.
#
#   scripts/build-helm.sh           build if needed, print the path of the binary
#   scripts/build-helm.sh --check   print the path if built, else exit 3 (never builds)
#
# Version: QS_HELM_VERSION (default v3.22.0, which `go get` + `go mod tidy` accept on Go 1.26).
# Cold build: about 3-6 min on 2 cores (much of client-go is shared with the k8s build's cache).
set -euo pipefail

HELM=${QS_HELM_VERSION:-v3.22.0}
ROOT=${QS_TESTBIN_DIR:-$HOME/.cache/quorumstore/k8s-testbin}
OUT="$ROOT/helm-$HELM"

NAME=build-helm RESULT="$OUT/helm" GO_MIN=1.26 HINT="the first build takes a few minutes"
# A lock of its own, so a helm build never waits behind (or blocks) a Kubernetes build.
LOCK="$ROOT/.lock-helm"
is_complete() { [[ -f "$OUT/.complete" && -x "$OUT/helm" ]]; }
# shellcheck source=lib/go-testbin.sh
source "$(dirname "$0")/lib/go-testbin.sh"
go_testbin_begin "$@"

# A throwaway wrapper module: `go install helm.sh/helm/v3/cmd/helm@v` would refuse a go.mod with
# replace directives, and a wrapper keeps the resolved versions (go.mod copied beside the binary).
cd "$WORK"
printf 'module local/helmbin\n\ngo 1.26\n' >go.mod
go mod edit -require="helm.sh/helm/v3@$HELM" -tool=helm.sh/helm/v3/cmd/helm
go mod tidy >&2
# Stamp as upstream's Makefile does: the version (`helm version`), and the Kubernetes version
# `helm template`/`helm lint` assume without a cluster, derived from client-go's (v0.X → 1.X).
# Unstamped it is 1.20, which a chart's kubeVersion constraint refuses.
CLIENT_GO=$(go list -f '{{.Version}}' -m k8s.io/client-go)
KMINOR=$(cut -d. -f2 <<<"$CLIENT_GO")
LD="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM"
LD+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  LD+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$KMINOR"
done
log "building helm $HELM"
go build -trimpath -ldflags "$LD" -o "$STAGE/helm" helm.sh/helm/v3/cmd/helm
cp go.mod "$STAGE/helm.go.mod"

"$STAGE/helm" version --short >&2
printf 'helm %s\n%s\nbuilt in %ss\n' "$HELM" "$(go version)" "$((SECONDS - start))" >"$STAGE/.complete"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
log "done in $((SECONDS - start))s"
echo "$OUT/helm"
