#!/usr/bin/env bash
# The binding tests: the generated Python and Kotlin bindings run a field day (JSEA, pre-start,
# near miss) and a program day (corrective action, inspection, orientation, certificate,
# competency) against a live `muster-server --demo` on 127.0.0.1, and the Swift usage sample is
# checked against the generated Swift (no Swift compiler on Linux).
#
# Usage: scripts/test-bindings.sh   (from anywhere in the checkout)
#
# Installs what it needs when missing (idempotent): Debian's libjna-java and a JDK, and the npm
# package kotlin-compiler (2.4.x, which also ships kotlinx-coroutines for the suspend calls).
# Ends with "bindings: N passed, M failed" and exits non-zero if anything failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/bindings"
work="$(mktemp -d "${TMPDIR:-/tmp}/muster-bindings.XXXXXX")"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# -- tools ---------------------------------------------------------------------------------------

apt_updated=""
apt_install() {
    if [[ -z "$apt_updated" ]]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

echo "== tools"
if ! command -v javac >/dev/null || ! command -v java >/dev/null; then
    apt_install openjdk-17-jdk-headless
fi
jna_jar=/usr/share/java/jna.jar
if [[ ! -f "$jna_jar" ]]; then
    apt_install libjna-java
fi
kotlin_home="$(npm root -g)/kotlin-compiler"
if [[ ! -f "$kotlin_home/bin/kotlinc" ]]; then
    npm install -g --no-fund --no-audit kotlin-compiler@2.4 >/dev/null
fi
# The npm package ships its scripts without the executable bit.
chmod +x "$kotlin_home"/bin/* 2>/dev/null || true
coroutines_jar="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
stdlib_jar="$kotlin_home/lib/kotlin-stdlib.jar"
echo "java: $(java -version 2>&1 | head -n1); $("$kotlin_home/bin/kotlinc" -version 2>&1 | tail -n1)"

# -- build ---------------------------------------------------------------------------------------

echo "== build"
cargo build --locked -p server --bin muster-server
scripts/bindings.sh "$out"
lib_dir="$target_dir/debug"

# -- server --------------------------------------------------------------------------------------

echo "== demo server"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
"$target_dir/debug/muster-server" --demo --data-dir "$work/server" --listen "127.0.0.1:$port" \
    >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
    if grep -q "is ready at" "$work/server.log"; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.log"
        echo "muster-server exited before it was ready" >&2
        exit 1
    fi
    sleep 0.2
done
if ! grep -q "is ready at" "$work/server.log"; then
    cat "$work/server.log"
    echo "muster-server was not ready after 120 s" >&2
    exit 1
fi
echo "demo server at $url"

# -- suites --------------------------------------------------------------------------------------

passed=0
failed=0
failures=()
run() {
    local name="$1"
    shift
    echo "== $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

python_field_day() {
    MUSTER_URL="$url" MUSTER_PYTHON="$out/python" python3 bindings/python/test_field_day.py
}

python_program_day() {
    MUSTER_URL="$url" MUSTER_PYTHON="$out/python" python3 bindings/python/test_program_day.py
}

# The generated bindings and the shared phone (Phones.kt) are compiled once; each Kotlin suite is
# compiled against them and run with its own main.
kotlin_cp="$jna_jar:$coroutines_jar"
kotlin_support() {
    if [[ ! -f "$work/support.jar" ]]; then
        "$kotlin_home/bin/kotlinc" -nowarn -cp "$kotlin_cp" -d "$work/support.jar" \
            "$out/kotlin/ca/muster/core/muster_mobile.kt" bindings/kotlin/Phones.kt
    fi
}

kotlin_suite() {
    local source="$1" main="$2" jar="$work/$2.jar"
    kotlin_support &&
        "$kotlin_home/bin/kotlinc" -nowarn -cp "$work/support.jar:$kotlin_cp" -d "$jar" "bindings/kotlin/$source" &&
        java -Djna.library.path="$lib_dir" -cp "$jar:$work/support.jar:$stdlib_jar:$kotlin_cp" "$main" "$url"
}

kotlin_field_day() {
    kotlin_suite FieldDay.kt FieldDayKt
}

kotlin_program_day() {
    kotlin_suite ProgramDay.kt ProgramDayKt
}

swift_sample() {
    python3 bindings/swift/check_sample.py "$out/swift/MusterCore.swift" bindings/swift/Sample.swift
}

run "python field day" python_field_day
run "python program day" python_program_day
run "kotlin field day" kotlin_field_day
run "kotlin program day" kotlin_program_day
run "swift sample drift check" swift_sample

if ((failed > 0)); then
    echo "failed: ${failures[*]}"
    echo "server log (last lines):"
    tail -n 40 "$work/server.log"
fi
echo "bindings: $passed passed, $failed failed"
((failed == 0))
