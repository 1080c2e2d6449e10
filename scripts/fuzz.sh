#!/usr/bin/env bash
# The long run of the fuzz harnesses: the sync protocol decoder, document loading and merging,
# the store's handling of sync answers (crates/sync-core/tests/fuzz.rs), and bearer/refresh
# tokens (crates/server/tests/fuzz_tokens.rs). An ordinary `cargo test` runs the same targets
# with a few hundred inputs each.
#
# Usage: MUSTER_FUZZ_CASES=200000 scripts/fuzz.sh
#   MUSTER_FUZZ_CASES  inputs per target (default here 20000); the wire target, which makes two
#                      HTTP requests per input, runs a tenth of it
#   MUSTER_FUZZ_SEED   replays the token targets' inputs from a seed a failure printed
# The process is capped at 3 GiB of virtual memory, so a decoder that believed a length prefix
# claiming gigabytes fails loudly instead of quietly reserving it. Prints each target's count and
# the total number of inputs tried.
set -euo pipefail
cd "$(dirname "$0")/.."

cases="${MUSTER_FUZZ_CASES:-20000}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
started=$(date +%s)

# Builds a test target (errors shown) and prints the path of its executable.
test_binary() {
    cargo test --locked -p "$1" --test "$2" --no-run >&2
    cargo test --locked -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null \
        | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1
}
run() {
    # A subshell, so the memory cap holds for the tests and not for this script or cargo's build.
    (ulimit -v $((3 * 1024 * 1024)); "$@")
}

echo "== sync-core: protocol, documents, store ($cases inputs per target)"
bin=$(test_binary sync-core fuzz)
MUSTER_FUZZ_CASES="$cases" run "$bin" --nocapture --test-threads=2 | tee -a "$log"

echo "== server: bearer and refresh tokens"
bin=$(test_binary server fuzz_tokens)
MUSTER_FUZZ_CASES="$cases" run "$bin" --nocapture --test-threads=1 \
    --skip authorization_headers | tee -a "$log"
MUSTER_FUZZ_CASES=$((cases / 10)) run "$bin" --nocapture --exact \
    authorization_headers_and_refresh_tokens_from_the_wire_are_refused_cleanly | tee -a "$log"

echo "== inputs tried"
grep '^fuzz-inputs' "$log" | sed 's/^fuzz-inputs /  /'
total=$(grep '^fuzz-inputs' "$log" | sed -n 's/^fuzz-inputs [^:]*: \([0-9]*\) inputs.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
echo "  total: $total inputs in $(( $(date +%s) - started ))s"
