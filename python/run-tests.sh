#!/usr/bin/env bash
# Builds the perfstore Python package and runs its pytest suite; CI runs it from
# scripts/test-all.sh. Installs what it needs into a venv (python/.venv, or PERFSTORE_PY_VENV):
# maturin and pytest, pinned. The extension is a debug build installed in place
# (`maturin develop`: a fraction of a release build's time); the benchmark builds release.
# Extra arguments go to pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${PERFSTORE_PY_VENV:-$here/.venv}"
python="${PERFSTORE_PYTHON:-python3}"
maturin_version=1.16.0
pytest_version=9.2.0

start=$SECONDS
if ! "$venv/bin/python" -m pytest --version 2>/dev/null | grep -q "$pytest_version" \
    || ! "$venv/bin/maturin" --version 2>/dev/null | grep -q "$maturin_version"; then
    echo "run-tests.sh: installing maturin $maturin_version and pytest $pytest_version into $venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "maturin==$maturin_version" "pytest==$pytest_version"
fi

# The CLI the interop tests drive (target/debug/perfstore).
(cd "$repo" && cargo build --quiet -p perfstore-cli)

echo "run-tests.sh: building the extension (maturin develop, debug)"
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --quiet \
    --manifest-path "$here/Cargo.toml"

cd "$here"
PERFSTORE_BIN="$repo/target/debug/perfstore" "$venv/bin/python" -m pytest tests -q "$@"
echo "run-tests.sh: done in $((SECONDS - start)) s"
