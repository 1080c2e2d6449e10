#!/usr/bin/env bash
# Property-based API tests: schemathesis generates requests from the server's own OpenAPI document
# (/openapi.json) and fails on any 5xx answer. It runs against `muster-server --demo` (debug build)
# on a temporary data directory and a free port, signed in as the demo office admin.
#
# Usage: scripts/schemathesis.sh            short run (about 25 cases per operation, a few minutes)
#        SCHEMATHESIS_LONG=1 scripts/schemathesis.sh   long run (500 cases per operation, every phase)
#        SCHEMATHESIS_EXAMPLES=N                       cases per operation, overriding either
#        SCHEMATHESIS_SEED=N                           another seed (the default is fixed)
# A long run signs in once: past the 15-minute token lifetime the rest answers 401. Sign-in
# guesses from the run itself meet the failed sign-in limit (429) after 100; neither is a 5xx.
# The venv lives in target/schemathesis-venv; reports go to target/schemathesis-report.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=target/schemathesis-venv

if [[ "${SCHEMATHESIS_LONG:-0}" == 1 ]]; then
    examples=${SCHEMATHESIS_EXAMPLES:-500}
    phases=examples,coverage,fuzzing,stateful
else
    examples=${SCHEMATHESIS_EXAMPLES:-25}
    phases=examples,coverage,fuzzing
fi

if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "== building muster-server"
cargo build --locked -p server --bin muster-server

data_dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url="http://127.0.0.1:$port"
server_log="$data_dir/server.log"
target/debug/muster-server --demo --listen "127.0.0.1:$port" --data-dir "$data_dir" >"$server_log" 2>&1 &
server_pid=$!
cleanup() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

# The demo company is ready once its sign-ins are printed.
for _ in $(seq 1 240); do
    if grep -q "demo company" "$server_log"; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$server_log"
        echo "muster-server exited before the demo company was ready" >&2
        exit 1
    fi
    sleep 0.5
done
grep -q "demo company" "$server_log" || {
    cat "$server_log"
    echo "the demo company was not ready within 2 minutes" >&2
    exit 1
}

token=$(curl -sf -X POST "$base_url/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"office@demo.muster","password":"muster-demo-2026","device_id":"schemathesis","device_name":"schemathesis"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# Real ids for the operations on one record, site or device. The run's own device is left out so
# revoking it cannot cut the run short.
MUSTER_KNOWN_IDS=$(python3 - "$base_url" "$token" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(request))
print(json.dumps({
    "records": [r["id"] for r in get("/v1/records")["records"]],
    "sites": [s["id"] for s in get("/v1/sites")],
    "devices": [d["id"] for d in get("/v1/admin/devices") if d["id"] != "schemathesis"],
}))
PY
)
export MUSTER_KNOWN_IDS
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks

echo "== schemathesis $SCHEMATHESIS_VERSION: $examples cases per operation, phases $phases"
status=0
# From target/, so schemathesis's own cache (.schemathesis/) stays out of the checkout.
(cd target && "schemathesis-venv/bin/schemathesis" run "$base_url/openapi.json" \
    --url "$base_url" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error \
    --phases "$phases" \
    --max-examples "$examples" \
    --seed "${SCHEMATHESIS_SEED:-20261126}" \
    --workers 2 \
    --request-timeout 30 \
    --generation-database none \
    --report junit,ndjson --report-dir schemathesis-report \
    --no-color) || status=$?

if grep -q "internal error" "$server_log"; then
    echo "== server errors logged during the run:"
    grep -A2 "internal error" "$server_log" | head -40
fi
exit "$status"
