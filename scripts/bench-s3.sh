#!/usr/bin/env bash
# Our server over SeaweedFS vs a client writing the same objects to SeaweedFS directly, in one
# run, at the same concurrency (issue 14; goal: server >= 0.7x direct). Starts a SeaweedFS
# cluster (scripts/seaweedfs.sh: master, 2 volumes, filer, 2 gateways), one release
# `perfstore serve --storage s3` on the first gateway, and the benchmark client
# (crates/cache-service/tests/bench_s3.rs, release) which puts then gets SIZExCOUNT objects
# through each path and prints objects/s, MiB/s and the ratios.
#
#   scripts/bench-s3.sh [--quick] [--mode mini|cluster]
#   BENCH_CONCURRENCY=16 BENCH_CASES=4096x2000,262144x200 BENCH_JSON=out.json scripts/bench-s3.sh
#
# --quick: skip the release build of perfstore if it exists.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
MODE=cluster
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --mode) MODE="$2"; shift ;;
    *) echo "usage: scripts/bench-s3.sh [--quick] [--mode mini|cluster]" >&2; exit 2 ;;
  esac
  shift
done

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PERFSTORE="$TARGET_DIR/release/perfstore"
if [[ $QUICK == 0 || ! -x $PERFSTORE ]]; then
  echo "bench-s3: building release perfstore" >&2
  cargo build --release -q -p perfstore-cli
fi
echo "bench-s3: building the release benchmark client" >&2
cargo test --release -q -p cache-service --test bench_s3 --no-run 2>/dev/null

export PERFSTORE
exec scripts/seaweedfs.sh run "$MODE" -- bash -c '
  set -euo pipefail
  port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])")
  log=$(mktemp)
  "$PERFSTORE" serve --host 127.0.0.1 --port "$port" --storage s3 --bucket "$SEAWEEDFS_BUCKET" \
    --no-auth >"$log" 2>&1 &
  server=$!
  trap "kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f $log" EXIT
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/info/health" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench-s3: SeaweedFS $SEAWEEDFS_MODE at $AWS_ENDPOINT_URL, server pid $server on :$port" >&2
  BENCH_SERVER_URL="http://127.0.0.1:$port" cargo test --release -q -p cache-service \
    --test bench_s3 -- --ignored --nocapture 2>&1 | grep -v "^running\|^test \|^$\|test result"
  server_rss=$(awk "/^VmHWM:/ {print \$2}" /proc/$server/status)
  echo "server peak RSS: $((server_rss / 1024)) MiB"
'
