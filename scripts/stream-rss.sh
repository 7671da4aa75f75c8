#!/usr/bin/env bash
# Peak memory of a large artifact saved and loaded through our cache-service server over
# loopback: `perfstore put` and `perfstore get` (cache_service mode) against `perfstore serve`
# on disk storage, each under /usr/bin/time -v. Fails if any peak RSS reaches the limit or the
# bytes read back differ.
#
#   scripts/stream-rss.sh [SIZE_MIB]      # default 1024 (1 GiB); CI runs 64
#
# Env: RSS_LIMIT_MIB (default 64), CARGO_TARGET_DIR. Prints a table and writes
# target/stream-rss/results.json.
set -uo pipefail
set -m

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
size_mib="${1:-1024}"
limit_mib="${RSS_LIMIT_MIB:-64}"
case "$size_mib" in (*[!0-9]*|"") echo "usage: $0 [SIZE_MIB]" >&2; exit 2 ;; esac
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
out="$target_dir/stream-rss"
mkdir -p "$out"
say() { echo "stream-rss: $*"; }

if [ ! -x /usr/bin/time ]; then
    say "installing GNU time (for /usr/bin/time -v)"
    { apt-get install -y time >/dev/null 2>&1 || { sudo -n apt-get update -qq && sudo -n apt-get install -y -qq time; }; } >/dev/null 2>&1
    [ -x /usr/bin/time ] || { say "/usr/bin/time is missing and could not be installed"; exit 1; }
fi

say "building the release binary (log $out/cargo-build.log)"
if ! cargo build --release -p perfstore-cli >"$out/cargo-build.log" 2>&1; then
    tail -n 30 "$out/cargo-build.log" >&2; say "cargo build failed"; exit 1
fi
perfstore="$target_dir/release/perfstore"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

say "writing a ${size_mib} MiB input of random bytes"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/input.bin"

port=$((20000 + RANDOM % 20000))
/usr/bin/time -v "$perfstore" serve --host 127.0.0.1 --port "$port" --storage disk \
    --path "$work/server" --no-auth >"$out/server.log" 2>"$out/server.time" &
time_pid=$!
for _ in $(seq 1 100); do
    server_pid="$(pgrep -P "$time_pid" | head -n 1)"
    [ -n "$server_pid" ] && curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/info/health" && break
    sleep 0.1
done
curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/info/health" || { say "server not ready"; cat "$out/server.time" >&2; exit 1; }

export PERF_STORAGE_MODE=cache_service URL__TARGET_SERVER__CACHE_SERVICE="http://127.0.0.1:$port"
say "put"
if ! /usr/bin/time -v "$perfstore" put rss-session big artifacts/input.bin "$work/input.bin" \
        >"$out/put.log" 2>"$out/put.time"; then
    cat "$out/put.time" >&2; say "put failed"; exit 1
fi
say "get"
if ! /usr/bin/time -v "$perfstore" get rss-session big artifacts/input.bin \
        >"$work/output.bin" 2>"$out/get.time"; then
    cat "$out/get.time" >&2; say "get failed"; exit 1
fi
kill -TERM "$server_pid"; wait "$time_pid"; server_pid=""

if ! cmp -s "$work/input.bin" "$work/output.bin"; then
    say "FAILED: the bytes read back differ from the bytes saved"; exit 1
fi

rss_kib() { sed -n 's/.*Maximum resident set size (kbytes): *//p' "$1"; }
secs() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *//p' "$1"; }
put_kib="$(rss_kib "$out/put.time")"; get_kib="$(rss_kib "$out/get.time")"; srv_kib="$(rss_kib "$out/server.time")"
limit_kib=$((limit_mib * 1024))
printf '%-22s %10s %12s %10s\n' "process" "peak RSS" "vs artifact" "wall"
for row in "perfstore put:$put_kib:put" "perfstore get:$get_kib:get" "perfstore serve:$srv_kib:server"; do
    IFS=: read -r name kib file <<<"$row"
    printf '%-22s %7d MiB %11.3fx %10s\n' "$name" "$((kib / 1024))" \
        "$(awk -v k="$kib" -v m="$size_mib" 'BEGIN { print k / (m * 1024) }')" "$(secs "$out/$file.time")"
done
cat >"$out/results.json" <<EOF
{"artifact_mib": $size_mib, "limit_mib": $limit_mib, "put_rss_kib": $put_kib, "get_rss_kib": $get_kib, "server_rss_kib": $srv_kib,
 "put_wall": "$(secs "$out/put.time")", "get_wall": "$(secs "$out/get.time")"}
EOF
status=0
for kib in "$put_kib" "$get_kib" "$srv_kib"; do
    [ "$kib" -lt "$limit_kib" ] || status=1
done
[ $status -eq 0 ] && say "ok: every peak RSS is under ${limit_mib} MiB for a ${size_mib} MiB artifact" \
    || say "FAILED: a peak RSS reached ${limit_mib} MiB"
exit $status
