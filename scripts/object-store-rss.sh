#!/usr/bin/env bash
# Peak memory of a large artifact streamed straight into an S3 bucket and back through the
# direct object-store backend: `perfstore put` and `perfstore get` with `--mode object_store`
# against SeaweedFS on loopback, each under /usr/bin/time -v. Fails if a peak RSS reaches the
# limit or the bytes read back differ. Starts SeaweedFS (scripts/seaweedfs.sh) unless the
# environment already names a bucket (SEAWEEDFS_BUCKET, AWS_ENDPOINT_URL, AWS_*).
#
#   scripts/object-store-rss.sh [SIZE_MIB]      # default 1024 (1 GiB); CI runs 64
#
# Env: RSS_LIMIT_MIB (default 64), CARGO_TARGET_DIR. Prints a table and writes
# target/object-store-rss/results.json.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
size_mib="${1:-1024}"
case "$size_mib" in (*[!0-9]*|"") echo "usage: $0 [SIZE_MIB]" >&2; exit 2 ;; esac
limit_mib="${RSS_LIMIT_MIB:-64}"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
out="$target_dir/object-store-rss"
mkdir -p "$out"
say() { echo "object-store-rss: $*"; }
perfstore="$target_dir/release/perfstore"

if [ ! -x /usr/bin/time ]; then
    say "installing GNU time (for /usr/bin/time -v)"
    { apt-get install -y time >/dev/null 2>&1 || { sudo -n apt-get update -qq && sudo -n apt-get install -y -qq time; }; } >/dev/null 2>&1
    [ -x /usr/bin/time ] || { say "/usr/bin/time is missing and could not be installed"; exit 1; }
fi

if [ -z "${OBJECT_STORE_RSS_BUILT:-}" ]; then
    say "building the release binary (log $out/cargo-build.log)"
    if ! cargo build --release -p perfstore-cli >"$out/cargo-build.log" 2>&1; then
        tail -n 30 "$out/cargo-build.log" >&2; say "cargo build failed"; exit 1
    fi
fi
if [ -z "${SEAWEEDFS_BUCKET:-}" ]; then
    # Built first, so the engine is not kept waiting by the compiler.
    OBJECT_STORE_RSS_BUILT=1 exec scripts/seaweedfs.sh run cluster -- "$0" "$size_mib"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "writing a ${size_mib} MiB input of random bytes"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/input.bin"

export PERF_STORAGE_MODE=object_store
export PERF_OBJECT_STORE_URL="s3://$SEAWEEDFS_BUCKET/rss-$$-$RANDOM"
say "put into $PERF_OBJECT_STORE_URL (endpoint $AWS_ENDPOINT_URL)"
if ! /usr/bin/time -v "$perfstore" put rss-session big artifacts/input.bin "$work/input.bin" \
        >"$out/put.log" 2>"$out/put.time"; then
    cat "$out/put.time" >&2; say "put failed"; exit 1
fi
say "get"
if ! /usr/bin/time -v "$perfstore" get rss-session big artifacts/input.bin \
        >"$work/output.bin" 2>"$out/get.time"; then
    cat "$out/get.time" >&2; say "get failed"; exit 1
fi
if ! cmp -s "$work/input.bin" "$work/output.bin"; then
    say "FAILED: the bytes read back differ from the bytes saved"; exit 1
fi
"$perfstore" rm rss-session big --all >/dev/null 2>&1 || true

rss_kib() { sed -n 's/.*Maximum resident set size (kbytes): *//p' "$1"; }
secs() { sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *//p' "$1"; }
put_kib="$(rss_kib "$out/put.time")"; get_kib="$(rss_kib "$out/get.time")"
limit_kib=$((limit_mib * 1024))
printf '%-34s %10s %12s %10s\n' "process (object_store over S3)" "peak RSS" "vs artifact" "wall"
for row in "perfstore put:$put_kib:put" "perfstore get:$get_kib:get"; do
    IFS=: read -r name kib file <<<"$row"
    printf '%-34s %7d MiB %11.3fx %10s\n' "$name" "$((kib / 1024))" \
        "$(awk -v k="$kib" -v m="$size_mib" 'BEGIN { print k / (m * 1024) }')" "$(secs "$out/$file.time")"
done
cat >"$out/results.json" <<JSON
{"artifact_mib": $size_mib, "limit_mib": $limit_mib, "put_rss_kib": $put_kib, "get_rss_kib": $get_kib,
 "put_wall": "$(secs "$out/put.time")", "get_wall": "$(secs "$out/get.time")", "engine": "SeaweedFS ${SEAWEEDFS_MODE:-?}"}
JSON
status=0
for kib in "$put_kib" "$get_kib"; do
    [ "$kib" -lt "$limit_kib" ] || status=1
done
[ $status -eq 0 ] && say "ok: every peak RSS is under ${limit_mib} MiB for a ${size_mib} MiB artifact" \
    || say "FAILED: a peak RSS reached ${limit_mib} MiB"
exit $status
