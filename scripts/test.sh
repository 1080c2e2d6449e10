#!/usr/bin/env bash
# The project's one test command: formatting, lints, every Rust test in the workspace, the
# generated Swift/Kotlin/Python bindings against a live server, and a smoke run of the benchmarks.
# Usage: scripts/test.sh   (from anywhere in the checkout; installs what the browser and binding
# tests need)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== chromium (the web-page tests drive it)"
scripts/install-chromium.sh

echo "== cargo test"
cargo test --workspace --locked

echo "== bindings"
scripts/test-bindings.sh
scripts/schemathesis.sh

echo "== benchmark smoke run"
cargo run --locked -p bench --bin muster-bench -- smoke
