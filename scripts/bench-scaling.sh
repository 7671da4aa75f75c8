#!/usr/bin/env bash
# How cost grows with the size of the store (crates/perfstore/benches/scaling.rs): import of N
# artifacts into one target vs 100, single operations in a big vs a fresh target, the same key
# stored K times, and session listing — on memory, local disk and our server over loopback
# (memory and disk storage); then plots the results.
#
#   scripts/bench-scaling.sh [--quick|--full] [--with-reference]
#
#   (default)         N = 1k, 10k; K = 20k stores of one key              (a few minutes)
#   --quick           N = 200, 2k; K = 2k; 50 ops per median               (under a minute)
#   --full            N = 1k, 10k, 100k                                    (much longer)
#   --with-reference  also the Python reference at the smallest N (installs it with
#                     tests/compat/setup.sh, starts it on a free 127.0.0.1 port, stops it after);
#                     or set PERFSTORE_REFERENCE_URL to a running one.
#
# Writes target/scaling/results.json (SCALING_OUT overrides) and the plot: docs/perf-scaling.svg,
# or next to the JSON for --quick. SCALING_SIZES / SCALING_REPEATS / SCALING_OPS /
# SCALING_BACKENDS override the mode's defaults. The bench's own goals are reported as
# PASS/FAIL; the script fails only if the build, the run or the plot fails.
set -uo pipefail
set -m      # background jobs get their own process group, so cleanup can stop the whole group

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
mode=default
with_reference=0
for arg in "$@"; do
    case "$arg" in
        --quick) mode=quick ;;
        --full) mode=full ;;
        --with-reference) with_reference=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--quick|--full] [--with-reference]" >&2; exit 2 ;;
    esac
done

target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
out_json="${SCALING_OUT:-$target_dir/scaling/results.json}"
out_dir="$(dirname "$out_json")"
mkdir -p "$out_dir"
svg="$repo_root/docs/perf-scaling.svg"
[ "$mode" = quick ] && svg="$out_dir/perf-scaling.svg"
export SCALING_OUT="$out_json"
case "$mode" in
    quick)
        export SCALING_SIZES="${SCALING_SIZES:-200,2000}" SCALING_REPEATS="${SCALING_REPEATS:-2000}"
        export SCALING_OPS="${SCALING_OPS:-50}" ;;
    full) export SCALING_FULL=1 ;;
esac

say() { echo "bench-scaling: $*"; }

pids=()
workdirs=()
cleanup() {
    local pid dir
    set +m
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null
    done
    for dir in "${workdirs[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ── build (the bench profile, so the run below does not rebuild) ────────────────────────
say "building the scaling bench in release (log $out_dir/cargo-build.log)"
if ! cargo bench -p perfstore --bench scaling --no-run >"$out_dir/cargo-build.log" 2>&1; then
    tail -n 30 "$out_dir/cargo-build.log" >&2; say "cargo build failed"; exit 1
fi

# ── optional: the Python reference ───────────────────────────────────────────────────────
if [ "$with_reference" = 1 ] && [ -z "${PERFSTORE_REFERENCE_URL:-}" ]; then
    venv="${COMPAT_VENV:-$repo_root/.venv-reference}"
    "$repo_root/tests/compat/setup.sh" || { say "setup.sh failed"; exit 1; }
    port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    dir="$(mktemp -d "${TMPDIR:-/tmp}/bench-scaling-ref-XXXXXX")"; workdirs+=("$dir")
    (cd "$dir" && exec env -u CACHE__SERVICE__LOCAL_DISK_PATH -u CACHE__SERVICE__BUCKET_NAME \
        -u FAST_API__AUTH__API_KEY__NAME -u FAST_API__AUTH__API_KEY__VALUE CACHE__SERVICE__STORAGE_MODE=memory \
        "$venv/bin/uvicorn" --app-dir "$repo_root/tests/compat" --host 127.0.0.1 --port "$port" \
        --log-level warning no_auth_app:app) >"$out_dir/reference.log" 2>&1 &
    ref_pid=$!; pids+=("$ref_pid")
    deadline=$((SECONDS + 60))
    until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/info/health" || true)" = 200 ]; do
        if ! kill -0 "$ref_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            tail -n 20 "$out_dir/reference.log" >&2; say "the reference did not start"; exit 1
        fi
        sleep 0.2
    done
    say "reference ready on 127.0.0.1:$port"
    export PERFSTORE_REFERENCE_URL="http://127.0.0.1:$port"
fi

# ── run and plot ─────────────────────────────────────────────────────────────────────────
say "running ($mode mode; progress on stderr and in $out_dir/run.log, table in $out_dir/table.txt)"
cargo bench -q -p perfstore --bench scaling 2> >(tee "$out_dir/run.log" >&2) | tee "$out_dir/table.txt"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    tail -n 20 "$out_dir/run.log" >&2; say "the bench failed (exit $status)"; exit 1
fi
python3 "$repo_root/scripts/plot_scaling.py" --results "$out_json" --svg "$svg" || { say "plot failed"; exit 1; }
say "wrote $out_json and $svg"
