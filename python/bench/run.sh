#!/usr/bin/env bash
# The Python package's benchmark, side by side in one process: builds the release wheel,
# installs it beside the reference service's venv (tests/compat/setup.sh: the reference service
# and its official client, Python 3.12) without changing that venv, and runs bench.py there.
#   python/bench/run.sh            # full run (about a minute), figures in target/python-bench.json
#   python/bench/run.sh --quick    # smoke run
# Exits non-zero if a goal is not met.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python_dir="$(cd "$here/.." && pwd)"
repo="$(cd "$python_dir/.." && pwd)"
venv="${PERFSTORE_PY_VENV:-$python_dir/.venv}"
maturin_version=1.16.0

"$repo/tests/compat/setup.sh"
reference_python="${COMPAT_VENV:-$repo/.venv-reference}/bin/python"

if ! "$venv/bin/maturin" --version 2>/dev/null | grep -q "$maturin_version"; then
    "${PERFSTORE_PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$maturin_version"
fi

wheels="$repo/target/python-wheels"
rm -rf "$wheels"
"$venv/bin/maturin" build --release --quiet --manifest-path "$python_dir/Cargo.toml" --out "$wheels"

site="$repo/target/python-bench-site"
rm -rf "$site"
"$reference_python" -m pip install --quiet --disable-pip-version-check --no-deps --target "$site" "$wheels"/perfstore-*.whl

# Run from outside python/, so `import perfstore` is the wheel, not the sources.
cd "$repo"
PYTHONPATH="$site" "$reference_python" "$here/bench.py" --json "$repo/target/python-bench.json" "$@"
