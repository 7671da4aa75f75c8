#!/usr/bin/env bash
# The direct object-store backend over SeaweedFS vs the local-disk backend, side by side in one
# run (crates/perfstore/benches/object_store.rs): single operations, bulk calls, a 256 MiB
# stream, and stores of 1k and 10k objects. Starts a SeaweedFS cluster (scripts/seaweedfs.sh)
# unless the environment already names a bucket (SEAWEEDFS_BUCKET or PERF_TEST_S3_URL, AWS_*).
#
#   scripts/object-store-bench.sh
#
# Prints the table; writes target/object-store-bench/results.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${SEAWEEDFS_BUCKET:-}${PERF_TEST_S3_URL:-}" ]; then
    # Build first, so the engine is not kept waiting by the compiler.
    cargo bench -p perfstore --bench object_store --no-run
    exec scripts/seaweedfs.sh run cluster -- "$0" "$@"
fi
cargo bench -p perfstore --bench object_store
