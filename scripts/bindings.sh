#!/usr/bin/env bash
# Builds the mobile library and generates its Swift, Kotlin and Python bindings.
# Usage: scripts/bindings.sh OUT [--release]
#   OUT/swift   MusterCore.swift, MusterCoreFFI.h, MusterCoreFFI.modulemap
#   OUT/kotlin  ca/muster/core/muster_mobile.kt
#   OUT/python  muster_mobile.py and a copy of libmuster_mobile.so (or .dylib) beside it
# Names come from uniffi.toml at the root. The generator (crates/uniffi-bindgen) is not a default
# workspace member, so only this script builds it.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 OUT [--release]" >&2
    exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
profile=debug
cargo_profile=()
if [[ "${2:-}" == "--release" ]]; then
    profile=release
    cargo_profile=(--release)
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"

cd "$root"
cargo build --locked "${cargo_profile[@]}" -p mobile-ffi -p uniffi-bindgen

case "$(uname -s)" in
    Darwin) lib="$target_dir/$profile/libmuster_mobile.dylib" ;;
    *) lib="$target_dir/$profile/libmuster_mobile.so" ;;
esac
bindgen="$target_dir/$profile/uniffi-bindgen"

rm -rf "$out/swift" "$out/kotlin" "$out/python"
for language in swift kotlin python; do
    "$bindgen" generate --library "$lib" --language "$language" \
        --config "$root/uniffi.toml" --out-dir "$out/$language" --no-format
done
# The generated module loads the library from its own folder: link it rather than copy it.
ln -sf "$lib" "$out/python/$(basename "$lib")"
echo "bindings: swift, kotlin and python in $out (library $lib)"
