#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (libFuzzer), one after another.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [target…]     # default: 600 s, every target
#   scripts/fuzz.sh 20                                 # what CI runs
#   scripts/fuzz.sh 60 pyjson names
#
# Installs what it needs when missing: a nightly toolchain (rustup) and cargo-fuzz (pinned).
# Each target starts from its committed seeds (fuzz/seeds/<target>/) plus the corpus grown by
# earlier local runs (fuzz/corpus/<target>/, not committed); a crash is written to
# fuzz/artifacts/<target>/; fuzz/dicts/<target>.dict, if present, is passed as -dict.
# One fuzzer process at a time, fuzzing in process: the machine is shared. (No -jobs/-workers:
# libFuzzer's -jobs=1 would fork one child that logs to ./fuzz-0.log instead of our log; the
# in-process run is the same single job.) Prints, per target, the executions and whether it
# crashed; exits 1 if any target crashed (or failed to build or run).
#
# Environment: FUZZ_TOOLCHAIN (default nightly), FUZZ_SANITIZER (default none: the workspace
# has no unsafe code, so ASan would only halve the executions; set `address` to use it),
# FUZZ_MAX_LEN (libFuzzer -max_len, default 4096), FUZZ_RSS_LIMIT_MB (default 2048).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
SANITIZER=${FUZZ_SANITIZER:-none}
MAX_LEN=${FUZZ_MAX_LEN:-4096}
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
ALL_TARGETS=(names pyjson batch_body compression router_paths)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${1:-600}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [target…]   (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
fi
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "unknown target: $t (${ALL_TARGETS[*]})" >&2; exit 2; }
done

# --- tools -------------------------------------------------------------------------------
if ! command -v rustup >/dev/null; then
    echo "fuzz.sh: rustup is needed (https://rustup.rs)" >&2
    exit 1
fi
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    echo "==> installing the $TOOLCHAIN toolchain"
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# --- build -------------------------------------------------------------------------------
# Release with debug assertions and overflow checks: arithmetic bugs crash too.
build_flags=(-O -a -s "$SANITIZER")
echo "==> building ${targets[*]} ($(rustup run "$TOOLCHAIN" rustc --version))"
for t in "${targets[@]}"; do
    cargo "+$TOOLCHAIN" fuzz build "${build_flags[@]}" "$t"
done

# --- run ---------------------------------------------------------------------------------
declare -A result
failed=0
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    artifacts=fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    log=$(mktemp "${TMPDIR:-/tmp}/fuzz-$t.XXXXXX.log")
    echo "==> $t: ${seconds}s (log: $log)"
    dict=()
    [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
    # Corpus first (new inputs are written there), then the read-only seeds.
    set +e
    cargo "+$TOOLCHAIN" fuzz run "${build_flags[@]}" "$t" "$corpus" "fuzz/seeds/$t" -- \
        "${dict[@]}" -max_total_time="$seconds" -max_len="$MAX_LEN" -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout=25 -print_final_stats=1 >"$log" 2>&1
    code=$?
    set -e
    execs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    if [ -z "$execs" ]; then
        # No final stats (a crash ends the run before them): the last status line.
        execs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
    fi
    crash=$(grep -oE "(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+" "$log" | grep -v '^slow-unit' | head -1 || true)
    if [ $code -eq 0 ] && [ -z "$crash" ]; then
        result[$t]="ok       executions=${execs:-?}"
    else
        failed=1
        where=${crash:+$artifacts/$crash}
        result[$t]="CRASHED  executions=${execs:-?} exit=$code ${where:-see $log}"
        tail -40 "$log" >&2
    fi
    echo "    ${result[$t]}"
done

echo
echo "==> summary (${seconds}s per target)"
for t in "${targets[@]}"; do
    printf '    %-14s %s\n' "$t" "${result[$t]}"
done
exit $failed
