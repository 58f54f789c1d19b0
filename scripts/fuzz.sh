#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ and runs each for a bounded time, starting from its
# seed corpus in fuzz/corpus/<target>/; prints per target the executions and whether it
# found a crash (a panic, a timeout or running out of memory), and exits non-zero when
# any target did. Crashing inputs are saved under fuzz/artifacts/<target>/.
#
#     scripts/fuzz.sh [TARGET...]          # all targets when none is named
#
# Environment:
#   SLUICE_FUZZ_SECONDS     time per target (default 30)
#   SLUICE_FUZZ_TARGET_DIR  cargo target dir of the fuzz build (default <repo>/target/fuzz)
#   SLUICE_TOOLS_DIR        where cargo-fuzz is installed (default $CARGO_HOME or ~/.cargo)
#   SLUICE_FUZZ_KEEP_CORPUS 1 to go on from the inputs earlier runs found (default: start
#                           from the seeds, so a run costs the same every time, as in CI)
#
# Stable Rust: cargo-fuzz's default AddressSanitizer needs nightly's -Zsanitizer, which
# this toolchain does not have. `--sanitizer none` is cargo-fuzz's documented stable mode:
# the libFuzzer coverage instrumentation (-Cpasses=sancov-module and its -Cllvm-args) is
# made of stable codegen flags, so the targets still fuzz with coverage feedback; what is
# lost is only ASan's memory checks, which safe Rust does not need to find panics. Debug
# assertions and overflow checks stay on (-a), so an arithmetic overflow is a finding.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

cargo_fuzz_version=0.13.1
seconds=${SLUICE_FUZZ_SECONDS:-30}
target_dir=${SLUICE_FUZZ_TARGET_DIR:-$repo/target/fuzz}
tools=${SLUICE_TOOLS_DIR:-${CARGO_HOME:-$HOME/.cargo}}
cargo_fuzz=$tools/bin/cargo-fuzz

log() { printf 'fuzz: %s\n' "$*" >&2; }

if ! "$cargo_fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
    log "installing cargo-fuzz $cargo_fuzz_version into $tools"
    cargo install --locked --root "$tools" cargo-fuzz --version "$cargo_fuzz_version" >&2
fi

# 16 codegen units instead of cargo-fuzz's 1: a build several times faster on a small
# machine, for slightly slower executions.
build_flags=(--sanitizer none --release --debug-assertions --codegen-units 16
    --target-dir "$target_dir")
log "building the fuzz targets (target dir $target_dir)"
"$cargo_fuzz" fuzz build "${build_flags[@]}" >&2

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("$cargo_fuzz" fuzz list)
fi
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release
work=$target_dir/runs
failed=()
summary=()
for t in "${targets[@]}"; do
    seeds=$repo/fuzz/corpus/$t
    artifacts=$repo/fuzz/artifacts/$t
    # New inputs go to a corpus outside the source tree; the seeds are only read.
    corpus=$work/corpus/$t
    if [ "${SLUICE_FUZZ_KEEP_CORPUS:-0}" != 1 ]; then
        rm -rf "$corpus"
    fi
    mkdir -p "$seeds" "$artifacts" "$corpus"
    out=$work/$t.log
    log "running $t for ${seconds}s"
    rc=0
    "$bin_dir/$t" "$corpus" "$seeds" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$out" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
    if [ -z "$runs" ]; then
        # Without final stats (a crash), the last status line's count: "#1234 ...".
        runs=$(grep -ao '^#[0-9]*' "$out" | tail -n 1 | tr -d '#')
    fi
    corpus_size=$(find "$corpus" -type f | wc -l)
    if [ "$rc" -ne 0 ] || grep -aq '^==[0-9]*== ERROR: libFuzzer' "$out"; then
        crash=$(grep -ao "Test unit written to [^ ]*" "$out" | tail -n 1 | sed 's/Test unit written to //')
        summary+=("$(printf '%-18s executions=%-10s corpus=%-6s CRASH %s' "$t" "${runs:-?}" "$corpus_size" "${crash:-(see $out)}")")
        failed+=("$t")
        grep -a -m 1 -A 30 -E "panicked at|ERROR: libFuzzer" "$out" >&2 || tail -n 40 "$out" >&2
    else
        summary+=("$(printf '%-18s executions=%-10s corpus=%-6s no crash' "$t" "${runs:-?}" "$corpus_size")")
    fi
done

printf '\n==> fuzzing, %ss per target\n' "$seconds"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'fuzz: crashes in %s; reproduce with %s/<target> <crash file>\n' "${failed[*]}" "$bin_dir" >&2
    exit 1
fi
