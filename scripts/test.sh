#!/usr/bin/env bash
# The project's one test command: formatting, lints, and every test in the workspace.
# Usage: scripts/test.sh   (from anywhere in the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
