#!/usr/bin/env bash
# The web console in a real browser: installs Debian's chromium and node when missing (CI
# machines start without them), playwright-core from package-lock.json (a driver only; it never
# downloads a browser), builds the perfstore binary, then runs console.test.mjs: the pages over
# memory, local-disk and cache-service stores, the report from disk, and the server's /docs.
# Screenshots go to tests/browser/artifacts/; with --update-docs also to docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
started=$SECONDS

apt_install() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "tests/browser: $* missing and not root: install it (apt-get install -y $*)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
[[ -x /usr/bin/chromium ]] || apt_install chromium fonts-dejavu-core
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ ! -d node_modules/playwright-core ]]; then
    npm ci --no-audit --no-fund --loglevel=error
fi

(cd ../.. && cargo build -p perfstore-cli --quiet)
export PERFSTORE_BIN="$PWD/../../target/debug/perfstore"
export CHROMIUM=/usr/bin/chromium
export SHOTS_DIR="$PWD/artifacts"
if [[ ${1:-} == --update-docs ]]; then
    export DOC_SHOTS_DIR="$PWD/../../docs/screenshots"
    mkdir -p "$DOC_SHOTS_DIR"
fi

echo "tests/browser: $("$CHROMIUM" --version 2>/dev/null), playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version')"
node --test --test-concurrency=1 --test-reporter=spec console.test.mjs
echo "tests/browser: done in $((SECONDS - started)) s"
