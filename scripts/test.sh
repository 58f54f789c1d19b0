#!/usr/bin/env bash
# The whole test suite: installs what the tests need (system packages, the Rust
# components, a Python venv with the pinned servers), checks formatting and lints,
# then runs every test against real servers started on loopback by sluice-testkit.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

eval "$(scripts/test-env.sh)"
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        rustup component add "$component"
    fi
done

# WASM transform plugins (examples/wasm-transform) are built for this target by the tests.
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-wasip2$'; then
    rustup target add wasm32-wasip2
fi

echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy --all-targets -- -D warnings" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo test" >&2
cargo test --workspace --no-fail-fast -- --nocapture
# Every fuzz target for a bounded time (SLUICE_FUZZ_SECONDS, default 30 s each), from its
# seed corpus; a crash fails the suite. Its own build, in target/fuzz.
echo "==> fuzzing (scripts/fuzz.sh)" >&2
scripts/fuzz.sh
