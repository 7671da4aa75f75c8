#!/usr/bin/env bash
# Side-by-side throughput and latency of our cache-service server and the Python reference
# (MGraph-AI Cache Service), both in memory mode without auth on 127.0.0.1, driven by the same
# load generator (perfstore-loadgen); plus the in-process ready time of both.
#
#   scripts/bench-vs-reference.sh [--quick]
#
# --quick: tiny request counts (CI smoke test; still fails on any request error).
# Writes target/bench-vs-reference/{ours,reference,ready-*,results}.json; a full run also writes
# docs/perf-throughput.svg (a quick run writes its plot next to the JSON instead).
# Env: BENCH_REQUESTS (per workload × concurrency; default 1000, quick 40), BENCH_CONCURRENCY
#      (default 1,16,64), COMPAT_VENV, BENCH_READY_TIMEOUT (s, default 60).
set -uo pipefail
set -m      # every background job gets its own process group, so cleanup can kill whole groups

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
mode=full
case "${1:-}" in
    --quick) mode=quick ;;
    "") ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then requests="${BENCH_REQUESTS:-40}"; ready_runs=3; ref_ready_runs=2
else requests="${BENCH_REQUESTS:-1000}"; ready_runs=50; ref_ready_runs=5; fi
concurrency="${BENCH_CONCURRENCY:-1,16,64}"
ready_timeout="${BENCH_READY_TIMEOUT:-60}"
venv="${COMPAT_VENV:-$repo_root/.venv-reference}"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
out="$target_dir/bench-vs-reference"
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.log
svg="$out/perf-throughput.svg"
[ "$mode" = full ] && svg="$repo_root/docs/perf-throughput.svg"

say() { echo "bench-vs-reference: $*"; }

pids=()
workdirs=()
cleanup() {
    local pid
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

# ── 1. build and install ─────────────────────────────────────────────────────────────────
say "building release binaries (log $out/cargo-build.log)"
if ! cargo build --release -p perfstore-cli -p perfstore-loadgen >"$out/cargo-build.log" 2>&1; then
    tail -n 30 "$out/cargo-build.log" >&2; say "cargo build failed"; exit 1
fi
perfstore="$target_dir/release/perfstore"
loadgen="$target_dir/release/perfstore-loadgen"
"$repo_root/tests/compat/setup.sh" || { say "setup.sh failed"; exit 1; }
py="$venv/bin/python"

# ── 2. start both servers ────────────────────────────────────────────────────────────────
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
scrubbed_env=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE
    -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_ENDPOINT_URL -u AWS_ALLOW_HTTP -u CACHE__SERVICE__LOCAL_DISK_PATH
    -u CACHE__SERVICE__BUCKET_NAME -u FAST_API__AUTH__API_KEY__NAME -u FAST_API__AUTH__API_KEY__VALUE
    CACHE__SERVICE__STORAGE_MODE=memory)

# start_server NAME PORT COMMAND… : in a scratch dir with a scrubbed env; sets last_pid.
start_server() {
    local name="$1" port="$2"; shift 2
    local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/bench-$name-XXXXXX")"
    workdirs+=("$dir")
    (cd "$dir" && exec "${scrubbed_env[@]}" "$@") >"$out/$name.log" 2>&1 &
    pids+=($!)
    last_pid=$!
}

wait_ready() {
    local name="$1" port="$2" pid="$3" code="" deadline=$((SECONDS + ready_timeout))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name exited before becoming ready; last log lines:"; tail -n 20 "$out/$name.log" >&2; return 1
        fi
        code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/info/health" || true)"
        [ "$code" = 200 ] && { say "$name ready on 127.0.0.1:$port"; return 0; }
        sleep 0.2
    done
    say "$name not ready after ${ready_timeout}s (last status $code); log $out/$name.log"; return 1
}

ours_port=$(free_port)
start_server ours "$ours_port" "$perfstore" serve --host 127.0.0.1 --port "$ours_port" --storage memory --no-auth
ours_pid=$last_pid
ref_port=$(free_port)
start_server reference "$ref_port" "$venv/bin/uvicorn" --app-dir "$repo_root/tests/compat" --host 127.0.0.1 \
    --log-level warning no_auth_app:app --port "$ref_port"
ref_pid=$last_pid
wait_ready ours "$ours_port" "$ours_pid" || exit 1
wait_ready reference "$ref_port" "$ref_pid" || exit 1

# ── 3. load both (one at a time, so they never compete for the CPUs) ─────────────────────
# run_load LABEL PORT: bounded by timeout; the generator exits non-zero on any request error.
run_load() {
    local label="$1" port="$2" status
    say "loading $label: $requests requests per workload × concurrency ($concurrency)"
    timeout 1800 "$loadgen" run --url "http://127.0.0.1:$port" --requests "$requests" \
        --concurrency "$concurrency" --label "$label" --json "$out/$label.json" >"$out/loadgen-$label.log" 2>&1 &
    pids+=($!)
    wait $!; status=$?
    if [ $status -ne 0 ]; then
        tail -n 5 "$out/loadgen-$label.log" >&2; say "load run against $label FAILED (exit $status)"; return 1
    fi
}
run_load ours "$ours_port" || exit 1
run_load reference "$ref_port" || exit 1
kill -0 "$ours_pid" 2>/dev/null || { say "our server died during the run"; exit 1; }
kill -0 "$ref_pid" 2>/dev/null || { say "the reference died during the run"; exit 1; }

# ── 4. in-process ready time ─────────────────────────────────────────────────────────────
"$loadgen" ready --runs "$ready_runs" --json "$out/ready-ours.json" >/dev/null || { say "our ready measurement failed"; exit 1; }
# The reference: build its in-memory app with auth off and answer the first health request
# through Starlette's TestClient (no socket); import time reported separately.
ready_dir="$(mktemp -d "${TMPDIR:-/tmp}/bench-ready-XXXXXX")"; workdirs+=("$ready_dir")
(cd "$ready_dir" && timeout 300 "${scrubbed_env[@]}" "$py" -W ignore - "$ref_ready_runs" \
    >"$out/ready-reference.json" 2>"$out/ready-reference.log") <<'PY' || { tail -n 10 "$out/ready-reference.log" >&2; say "reference ready measurement failed"; exit 1; }
import json, statistics, sys, time
runs = int(sys.argv[1])
t0 = time.perf_counter()
from mgraph_ai_service_cache.fast_api.Cache_Service__Fast_API import Cache_Service__Fast_API
from fastapi.testclient import TestClient
import_ms = (time.perf_counter() - t0) * 1e3
times = []
for _ in range(runs):
    t = time.perf_counter()
    fast_api = Cache_Service__Fast_API()
    fast_api.config.enable_api_key = False
    fast_api.setup()
    with TestClient(fast_api.app()) as client:
        response = client.get('/info/health')
    times.append((time.perf_counter() - t) * 1e3)
    if response.status_code != 200:
        sys.exit(f'reference in-process GET /info/health answered {response.status_code}')
print(json.dumps({'runs': runs, 'import_ms': import_ms, 'first_ms': times[0], 'median_ms': statistics.median(times)}))
PY

# ── 5. compare ──────────────────────────────────────────────────────────────────────────
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
say "results ($mode run; $machine; loadgen and server share the machine)"
"$py" "$repo_root/scripts/plot_bench.py" --ours "$out/ours.json" --reference "$out/reference.json" \
    --ready-ours "$out/ready-ours.json" --ready-reference "$out/ready-reference.json" \
    --results "$out/results.json" --svg "$svg" --machine "$machine" --mode "$mode" || { say "FAIL"; exit 1; }
say "wrote $out/results.json and $svg"
say "PASS"
