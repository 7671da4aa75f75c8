#!/usr/bin/env bash
# Differential compat tests: our Rust cache-service server vs the Python reference.
#
#   tests/compat/run.sh [pytest args…]
#
# Builds `perfstore`, installs the reference (setup.sh), starts the reference (no-auth launcher and
# stock app with an API key) and our server (with and without auth) on free 127.0.0.1 ports, waits
# for them, runs the pytest files in tests/compat, then the perfstore conformance suite against
# the reference, and stops every process it started.
# Env: COMPAT_TARGETS=reference (harness only, skip our server), COMPAT_VENV, COMPAT_LOG_DIR,
#      COMPAT_READY_TIMEOUT (s, per server, default 60), COMPAT_PYTEST_TIMEOUT (s, default 600).
set -uo pipefail
set -m      # every background job gets its own process group, so cleanup can kill whole groups

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
venv="${COMPAT_VENV:-$repo_root/.venv-reference}"
export COMPAT_VENV="$venv"
export COMPAT_LOG_DIR="${COMPAT_LOG_DIR:-$repo_root/target/compat-logs}"
export COMPAT_TARGETS="${COMPAT_TARGETS:-reference,ours}"
export COMPAT_API_KEY_NAME="${COMPAT_API_KEY_NAME:-x-api-key}"
export COMPAT_API_KEY_VALUE="${COMPAT_API_KEY_VALUE:-compat-secret-123}"
ready_timeout="${COMPAT_READY_TIMEOUT:-60}"
pytest_timeout="${COMPAT_PYTEST_TIMEOUT:-600}"
mkdir -p "$COMPAT_LOG_DIR"
rm -f "$COMPAT_LOG_DIR"/*.log "$COMPAT_LOG_DIR"/*.json

pids=()
workdirs=()
cleanup() {
    local pid
    set +m      # no "Terminated" job notices for the processes stopped below
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

say() { echo "run.sh: $*"; }

# ── 1. our server ──────────────────────────────────────────────────────────────────────────
ours_error=""
if [[ ",$COMPAT_TARGETS," == *",ours,"* ]]; then
    say "building perfstore (cargo build -p perfstore-cli; log $COMPAT_LOG_DIR/cargo-build.log)"
    if (cd "$repo_root" && cargo build -p perfstore-cli) >"$COMPAT_LOG_DIR/cargo-build.log" 2>&1; then
        export PERFSTORE_BIN="${PERFSTORE_BIN:-${CARGO_TARGET_DIR:-$repo_root/target}/debug/perfstore}"
    else
        ours_error="cargo build -p perfstore-cli failed (see $COMPAT_LOG_DIR/cargo-build.log)"
        tail -n 20 "$COMPAT_LOG_DIR/cargo-build.log" >&2
    fi
fi

# ── 2. the reference ──────────────────────────────────────────────────────────────────────
"$here/setup.sh" || { say "setup.sh failed"; exit 1; }
py="$venv/bin/python"

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_server NAME PORT AUTH(0|1) COMMAND… : start in a scratch dir with a scrubbed env.
start_server() {
    local name="$1" port="$2" auth="$3"; shift 3
    local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/compat-$name-XXXXXX")"
    workdirs+=("$dir")
    local -a auth_env=()
    if [ "$auth" = 1 ]; then
        auth_env=(FAST_API__AUTH__API_KEY__NAME="$COMPAT_API_KEY_NAME" FAST_API__AUTH__API_KEY__VALUE="$COMPAT_API_KEY_VALUE")
    fi
    # (env: every -u must come before the first NAME=VALUE)
    (cd "$dir" && exec env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
        -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_ENDPOINT_URL -u AWS_ALLOW_HTTP -u CACHE__SERVICE__LOCAL_DISK_PATH \
        -u CACHE__SERVICE__BUCKET_NAME -u FAST_API__AUTH__API_KEY__NAME -u FAST_API__AUTH__API_KEY__VALUE \
        CACHE__SERVICE__STORAGE_MODE=memory "${auth_env[@]}" "$@") \
        >"$COMPAT_LOG_DIR/$name-$port.log" 2>&1 &
    pids+=($!)
    last_pid=$!
}

# wait_ready NAME PORT PID AUTH : poll /info/health until 200, the process dies, or time runs out.
wait_ready() {
    local name="$1" port="$2" pid="$3" auth="$4" code deadline=$((SECONDS + ready_timeout))
    local -a header=()
    [ "$auth" = 1 ] && header=(-H "$COMPAT_API_KEY_NAME: $COMPAT_API_KEY_VALUE")
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name exited before becoming ready; last log lines:"; tail -n 20 "$COMPAT_LOG_DIR/$name-$port.log" >&2
            return 1
        fi
        code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "${header[@]}" "http://127.0.0.1:$port/info/health" || true)"
        [ "$code" = 200 ] && { say "$name ready on 127.0.0.1:$port"; return 0; }
        sleep 0.2
    done
    say "$name not ready after ${ready_timeout}s (last status $code); log $COMPAT_LOG_DIR/$name-$port.log"
    return 1
}

uvicorn=("$venv/bin/uvicorn" --app-dir "$here" --host 127.0.0.1 --log-level warning)
port=$(free_port); start_server reference "$port" 0 "${uvicorn[@]}" no_auth_app:app --port "$port"
ref_port=$port; ref_pid=$last_pid
port=$(free_port); start_server reference-auth "$port" 1 "${uvicorn[@]}" mgraph_ai_service_cache.fast_api.lambda_handler:app --port "$port"
ref_auth_port=$port; ref_auth_pid=$last_pid

if [[ ",$COMPAT_TARGETS," == *",ours,"* && -z "$ours_error" ]]; then
    port=$(free_port); start_server ours "$port" 0 "$PERFSTORE_BIN" serve --host 127.0.0.1 --port "$port" --storage memory --no-auth
    ours_port=$port; ours_pid=$last_pid
    port=$(free_port); start_server ours-auth "$port" 1 "$PERFSTORE_BIN" serve --host 127.0.0.1 --port "$port" --storage memory
    ours_auth_port=$port; ours_auth_pid=$last_pid
fi

wait_ready reference "$ref_port" "$ref_pid" 0 || exit 1
wait_ready reference-auth "$ref_auth_port" "$ref_auth_pid" 1 || exit 1
export COMPAT_REF_URL="http://127.0.0.1:$ref_port" COMPAT_REF_AUTH_URL="http://127.0.0.1:$ref_auth_port"
if [[ ",$COMPAT_TARGETS," == *",ours,"* && -z "$ours_error" ]]; then
    if wait_ready ours "$ours_port" "$ours_pid" 0 && wait_ready ours-auth "$ours_auth_port" "$ours_auth_pid" 1; then
        export COMPAT_OURS_URL="http://127.0.0.1:$ours_port" COMPAT_OURS_AUTH_URL="http://127.0.0.1:$ours_auth_port"
    else
        ours_error="perfstore serve did not become ready (logs in $COMPAT_LOG_DIR)"
    fi
fi
if [ -n "$ours_error" ]; then
    export COMPAT_OURS_ERROR="$ours_error"
    say "WARNING: $ours_error; tests against our server will fail"
fi

# ── 3. the tests ──────────────────────────────────────────────────────────────────────────
say "running pytest (logs and reports in $COMPAT_LOG_DIR)"
timeout "$pytest_timeout" "$py" -m pytest "$here" -q -rfEs "$@" &
pytest_pid=$!
pids+=("$pytest_pid")
wait "$pytest_pid"
status=$?
[ $status -eq 124 ] && say "pytest timed out after ${pytest_timeout}s"

# ── 4. the perfstore storage layer on the reference ───────────────────────────────────────
# The conformance suite every backend passes, through the cache-service backend, against the
# Python reference (each scenario in its own namespace of the no-auth reference).
say "perfstore conformance suite against the reference (log $COMPAT_LOG_DIR/conformance-reference.log)"
(cd "$repo_root" && PERFSTORE_REFERENCE_URL="$COMPAT_REF_URL" timeout "$pytest_timeout" \
    cargo test -p perfstore --test conformance_reference -- --ignored) 2>&1 | tee "$COMPAT_LOG_DIR/conformance-reference.log" | grep -E '^test result|FAILED|panicked'
conformance=${PIPESTATUS[0]}
[ $conformance -ne 0 ] && say "conformance against the reference FAILED (exit $conformance)"
[ $status -eq 0 ] && status=$conformance

if [ $status -eq 0 ]; then say "PASS"; else say "FAIL (exit $status)"; fi
exit $status
