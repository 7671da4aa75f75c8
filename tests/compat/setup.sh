#!/usr/bin/env bash
# Idempotent install of the Python reference service, its official client and the harness's
# test tools into a venv (default: .venv-reference at the repo root; override with
# COMPAT_VENV=/path). Re-running is a no-op unless requirements.txt changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
venv="${COMPAT_VENV:-$repo_root/.venv-reference}"
requirements="$here/requirements.txt"
stamp="$venv/.compat-requirements.sha256"

# Python 3.12 the way the wire spec (section 8) says to find it: pyenv-managed 3.12 first,
# because the bare pyenv shim refuses to run while another version is global.
find_python312() {
    if [ -n "${COMPAT_PYTHON:-}" ]; then echo "$COMPAT_PYTHON"; return 0; fi
    if PYENV_VERSION=3.12.1 python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
        echo "env PYENV_VERSION=3.12.1 python3.12"; return 0
    fi
    if command -v pyenv >/dev/null 2>&1; then
        local root candidate
        root="$(pyenv root)"
        for candidate in "$root"/versions/3.12.*/bin/python3.12; do
            if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
        done
    fi
    if command -v python3.12 >/dev/null 2>&1 \
        && python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
        echo "python3.12"; return 0
    fi
    return 1
}

# One setup at a time per venv (two concurrent runs would race pip).
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.setup-lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup.sh: $venv is up to date"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    if ! python="$(find_python312)"; then
        echo "setup.sh: no Python 3.12 found (tried PYENV_VERSION=3.12.1 python3.12," \
             "\$(pyenv root)/versions/3.12.*/bin/python3.12, python3.12 on PATH; or set COMPAT_PYTHON)" >&2
        exit 1
    fi
    echo "setup.sh: creating $venv with $python"
    # $python may be "env PYENV_VERSION=... python3.12", so it is split on purpose.
    # shellcheck disable=SC2086
    $python -m venv "$venv"
fi

echo "setup.sh: installing pinned requirements into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" > "$stamp"
echo "setup.sh: done"
