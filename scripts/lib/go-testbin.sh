# Shared skeleton of the scripts that build test binaries from Go modules into a version-keyed
# folder outside the repo (sourced, not run). The caller sets:
#   NAME     script name, for messages          OUT     the folder a complete build lives in
#   RESULT   what is printed (OUT or a binary)   LOCK    lock file (one build at a time)
#   HINT     how long a first build takes        GO_MIN  the Go version it needs
# and defines `is_complete`. `go_testbin_begin "$@"` answers --check, reuses a complete build, or
# takes the lock and prepares a build: STAGE (renamed to OUT when done, so a half-done build is
# never "complete"), WORK (scratch), CGO_ENABLED/GOFLAGS, and `start` for the timing.

log() { echo "$NAME: $*" >&2; }

go_testbin_begin() {
  if [[ "${1:-}" == "--check" ]]; then
    if is_complete; then echo "$RESULT"; exit 0; fi
    log "not built: $OUT (run scripts/$NAME.sh; $HINT)"
    exit 3
  fi
  if is_complete; then echo "$RESULT"; exit 0; fi

  # Go's default install location may be missing from a non-login shell's PATH.
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { log "needs Go $GO_MIN+ on PATH"; exit 1; }
  mkdir -p "$(dirname "$OUT")"
  # Two test runs (or CI and a developer) may start a build at once: one builds, the other waits.
  exec 9>"$LOCK"
  flock 9
  if is_complete; then echo "$RESULT"; exit 0; fi

  # 2 cores shared with other work; the Go build cache (GOCACHE) is kept, so a rebuild after a
  # wiped output folder only relinks.
  export CGO_ENABLED=0
  export GOFLAGS="${GOFLAGS:-} -p=2 -mod=mod"
  STAGE="$OUT.staging-$$"
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK" "$STAGE"' EXIT
  mkdir -p "$STAGE"
  start=$SECONDS
}
