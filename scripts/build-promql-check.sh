#!/usr/bin/env bash
# Builds scripts/promql-check (Prometheus's own PromQL parser behind a JSON filter) from Go
# modules, for the monitoring tests' syntax check of the alerts and the dashboard
# (e2e/test/promql-syntax.test.ts). Test infrastructure only, like scripts/build-helm.sh: no
# Docker, no download other than Go modules. Output, printed as the last line of stdout:
#
#   ${QS_PROMQL_CHECK_DIR:-$HOME/.cache/quorumstore/promql-check}/<version>-<source hash>/promql-check
#
# keyed by the Prometheus module version and a hash of main.go, so an edit of the program
# rebuilds. Idempotent: a complete folder (has .complete) is reused at once.
#
#   scripts/build-promql-check.sh           build if needed, print the path of the binary
#   scripts/build-promql-check.sh --check   print the path if built, else exit 3 (never builds)
#
# Version: QS_PROMETHEUS_VERSION (default v0.316.0, the module of Prometheus 3.x; needs Go 1.26.7+).
# Cold build: about 1-2 min on 2 cores (only promql/parser and its imports are compiled).
set -euo pipefail

PROMETHEUS=${QS_PROMETHEUS_VERSION:-v0.316.0}
ROOT=${QS_PROMQL_CHECK_DIR:-$HOME/.cache/quorumstore/promql-check}
SRC="$(cd "$(dirname "$0")" && pwd)/promql-check/main.go"
HASH=$(sha256sum "$SRC" | cut -c1-12)
OUT="$ROOT/$PROMETHEUS-$HASH"

NAME=build-promql-check RESULT="$OUT/promql-check" LOCK="$ROOT/.lock" GO_MIN=1.26.7
HINT="the first build takes a minute or two"
is_complete() { [[ -f "$OUT/.complete" && -x "$OUT/promql-check" ]]; }
# shellcheck source=lib/go-testbin.sh
source "$(dirname "$0")/lib/go-testbin.sh"
go_testbin_begin "$@"

# A throwaway module around the one source file: the repository keeps no go.mod (product code is
# TypeScript), and the resolved versions are kept beside the binary (promql-check.go.mod).
cd "$WORK"
cp "$SRC" main.go
printf 'module local/promqlcheck\n\ngo 1.26\n' >go.mod
go mod edit -require="github.com/prometheus/prometheus@$PROMETHEUS"
go mod tidy >&2
log "building promql-check against github.com/prometheus/prometheus $PROMETHEUS"
go build -trimpath -ldflags "-s -w" -o "$STAGE/promql-check" .
cp go.mod "$STAGE/promql-check.go.mod"

# A smoke test before the folder is declared complete: one good and one broken expression.
smoke=$(echo '[{"where":"ok","expr":"sum(rate(x[5m]))","kind":"alert"},
  {"where":"bad","expr":"sum(","kind":"panel"}]' | "$STAGE/promql-check")
grep -q '"where": "bad"' <<<"$smoke" && ! grep -q '"where": "ok"' <<<"$smoke" ||
  { log "smoke test failed: $smoke"; exit 1; }
"$STAGE/promql-check" --version >&2
printf 'promql-check %s %s\n%s\nbuilt in %ss\n' "$PROMETHEUS" "$HASH" "$(go version)" \
  "$((SECONDS - start))" >"$STAGE/.complete"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
log "done in $((SECONDS - start))s"
echo "$OUT/promql-check"
