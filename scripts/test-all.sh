#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration, conformance, CLI, benches (one pass each,
# as `cargo test` runs them), doc tests (including the README's examples), and the differential
# tests against the Python reference service when they exist.
set -euo pipefail
cd "$(dirname "$0")/.."

# zsh and fish, so the CLI's completion scripts are syntax-checked by every shell they target.
scripts/completion-shells.sh
export PERFSTORE_REQUIRE_SHELLS=1
# Beside a real S3 engine (SeaweedFS from PyPI: master, 2 volumes, filer, 2 gateways), so the S3
# and scale-out tests run; PERFSTORE_REQUIRE_S3 makes them fail, not skip, without it.
PERFSTORE_REQUIRE_S3=1 scripts/seaweedfs.sh run cluster -- cargo test --workspace --all-targets
# The object-store backend's S3 tests (conformance suite, bucket mirror, multipart streams) on
# SeaweedFS: ignored in the pass above (the suite's macro cannot skip); run here, a missing
# endpoint fails them. Then 64 MiB through `perfstore put/get --mode object_store`: RSS < 64 MiB.
scripts/seaweedfs.sh run cluster -- cargo test -p perfstore --test conformance_object_store \
    --test object_store_backend -- --ignored s3
scripts/object-store-rss.sh 64
cargo test --workspace --doc
# The storage layer without its default cache-service backend: memory + local build and pass alone.
cargo test -p perfstore --no-default-features --all-targets

if [[ -x tests/compat/run.sh ]]; then
    tests/compat/run.sh
fi
# The Python package: builds the extension (maturin, debug) into python/.venv and runs pytest.
python/run-tests.sh
# The web console, the report and /docs in headless Chromium (installs chromium and
# playwright-core when missing; about a minute).
tests/browser/run.sh
scripts/bench-vs-reference.sh --quick
# A 64 MiB artifact through `perfstore put/get` and our server on disk: every peak RSS < 64 MiB.
scripts/stream-rss.sh 64
# Mixed load at c=64 against the server on disk for 30 s: no error, no fd growth (the 10-minute
# run, `scripts/soak.sh`, also bounds RSS growth).
scripts/soak.sh 30 --quick
# Every fuzz target for 20 s from its seeds (`scripts/fuzz.sh` alone runs 10 minutes each);
# installs a nightly toolchain and cargo-fuzz when missing.
scripts/fuzz.sh 20
