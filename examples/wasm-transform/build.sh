#!/usr/bin/env bash
# Builds the example plugins (and the test plugins) for wasm32-wasip2, in release,
# and prints the path of each .wasm component, one a line.
#
#   examples/wasm-transform/build.sh            # all plugins
#   examples/wasm-transform/build.sh mask-field # just one (a package name)
#
# CARGO_TARGET_DIR picks where they go (default: examples/wasm-transform/target).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="${CARGO_TARGET_DIR:-$here/target}"

if command -v rustup >/dev/null; then
    rustup target add wasm32-wasip2 >&2
fi

packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
    packages=(mask-field filter-route test-spin test-hog test-trap test-probe test-touch)
fi
args=()
for p in "${packages[@]}"; do args+=(-p "$p"); done

cargo build --release --target wasm32-wasip2 --manifest-path "$here/Cargo.toml" \
    --target-dir "$target_dir" "${args[@]}" >&2

for p in "${packages[@]}"; do
    echo "$target_dir/wasm32-wasip2/release/${p//-/_}.wasm"
done
