#!/usr/bin/env bash
# Soak test of `perfstore serve --storage disk` (issue 12): mixed load at c=64 for SECONDS
# (default 600), sampling the server's RSS and open file descriptors every few seconds.
# Fails unless: 0 request errors, RSS growth < 10% from the end of warm-up (the first third of
# the run: bounded caches, such as the by-hash refs cache, fill first) to the end, and the fd
# count not growing (end <= max over the warm-up window + 8). Runs under 300 s (CI's) cannot
# tell warm-up from growth: they report RSS but judge only errors and fds.
#
#   scripts/soak.sh [SECONDS] [--quick]     # --quick: skip the release build if binaries exist
#
# CI runs `scripts/soak.sh 30`. Needs Linux (/proc).
set -euo pipefail

SECONDS_TOTAL=600
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    ''|*[!0-9]*) echo "usage: scripts/soak.sh [SECONDS] [--quick]" >&2; exit 2 ;;
    *) SECONDS_TOTAL="$arg" ;;
  esac
done
CONCURRENCY="${SOAK_CONCURRENCY:-64}"
INTERVAL="${SOAK_INTERVAL:-$(( SECONDS_TOTAL >= 120 ? 5 : 2 ))}"

cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PERFSTORE="$TARGET_DIR/release/perfstore"
LOADGEN="$TARGET_DIR/release/perfstore-loadgen"
if [[ $QUICK == 0 || ! -x $PERFSTORE || ! -x $LOADGEN ]]; then
  echo "soak: building release binaries (perfstore, perfstore-loadgen)" >&2
  cargo build --release -q -p perfstore-cli -p perfstore-loadgen
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/perfstore-soak.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="${SOAK_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
"$PERFSTORE" serve --host 127.0.0.1 --port "$PORT" --storage disk --path "$WORK/store" --no-auth \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/info/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "soak: server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.1
done

sample() {  # elapsed-seconds rss-kib fds
  local rss fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
  fds=$(ls "/proc/$SERVER_PID/fd" | wc -l)
  echo "$1 $rss $fds"
}

"$LOADGEN" soak --url "http://127.0.0.1:$PORT" --seconds "$SECONDS_TOTAL" \
  --concurrency "$CONCURRENCY" --json "$WORK/soak.json" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" &
LOADGEN_PID=$!
: >"$WORK/samples"
# Time counts from the start of the load (after the fixture is stored).
while kill -0 "$LOADGEN_PID" 2>/dev/null && ! grep -q "load started" "$WORK/loadgen.err"; do
  sleep 0.1
done
START=$(date +%s)
while kill -0 "$LOADGEN_PID" 2>/dev/null; do
  sample $(( $(date +%s) - START )) >>"$WORK/samples"
  sleep "$INTERVAL"
done
LOADGEN_RC=0
wait "$LOADGEN_PID" || LOADGEN_RC=$?
sample $(( $(date +%s) - START )) >>"$WORK/samples"

cat "$WORK/loadgen.out"
[[ $LOADGEN_RC == 0 ]] || tail -5 "$WORK/loadgen.err" >&2
python3 - "$WORK/samples" "$SECONDS_TOTAL" "$LOADGEN_RC" "$WORK/soak.json" <<'PY'
import json, os, sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
total, loadgen_rc, result_path = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
result = json.load(open(result_path)) if os.path.exists(result_path) else {}
warm_end = total / 3
print(f"{'t (s)':>6} {'RSS (MiB)':>10} {'fds':>5}")
for t, rss, fds in samples:
    mark = "  <- end of warm-up" if t >= warm_end and all(s[0] < warm_end for s in samples[:samples.index((t, rss, fds))]) else ""
    print(f"{t:>6} {rss / 1024:>10.1f} {fds:>5}{mark}")
after = [s for s in samples if s[0] >= warm_end]
warm = [s for s in samples if s[0] < warm_end] or samples[:1]
base_rss = after[0][1] if after else samples[0][1]
end_rss = samples[-1][1]
growth = (end_rss - base_rss) / base_rss * 100
fd_base = max(s[2] for s in warm)
fd_end = samples[-1][2]
errors = result.get("errors", -1)
print(f"requests {result.get('requests', '?')} ({result.get('ops_per_s', 0):.0f}/s), errors {errors}")
print(f"RSS after warm-up {base_rss / 1024:.1f} MiB, at end {end_rss / 1024:.1f} MiB, growth {growth:+.1f}% (limit +10%)")
print(f"fds during warm-up max {fd_base}, at end {fd_end} (limit {fd_base + 8}), peak {max(s[2] for s in samples)}")
failures = []
if loadgen_rc != 0 or errors != 0:
    failures.append(f"{errors} request error(s) (loadgen exit {loadgen_rc}): {result.get('first_error')}")
if growth >= 10 and total >= 300:
    failures.append(f"RSS grew {growth:.1f}%")
elif growth >= 10:
    print(f"soak: note: RSS grew {growth:.1f}% in a {total} s run (judged only from 300 s on)")
if fd_end > fd_base + 8:
    failures.append(f"fd count grew from {fd_base} to {fd_end}")
if failures:
    print("soak: FAIL: " + "; ".join(failures))
    sys.exit(1)
print("soak: PASS")
PY
