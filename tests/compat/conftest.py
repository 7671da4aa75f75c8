"""Shared fixtures: the servers under comparison.

`run.sh` starts the four long-lived servers itself and passes their URLs in
COMPAT_REF_URL / COMPAT_REF_AUTH_URL / COMPAT_OURS_URL / COMPAT_OURS_AUTH_URL; when a variable is
unset (pytest run by hand) the fixture starts that server and stops it at the end of the session.
COMPAT_TARGETS=reference skips everything that needs our server (for working on the harness
alone); by default both are required, and a missing or broken `perfstore` fails those tests.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402

TARGETS = {t.strip() for t in os.environ.get('COMPAT_TARGETS', 'reference,ours').split(',') if t.strip()}
COMPAT_MD = servers.REPO_ROOT / 'COMPAT.md'


def compat_ids() -> set[str]:
    """Ids (`D01`, …) of the deliberate differences listed in the first column of COMPAT.md's tables."""
    if not COMPAT_MD.exists():
        return set()
    return set(re.findall(r'^\|\s*(D\d+)\s*\|', COMPAT_MD.read_text(), flags=re.MULTILINE))


def _server(request, env_var: str, start, *, name: str, auth: bool) -> servers.Server:
    url = os.environ.get(env_var)
    if url:
        port = urlparse(url).port
        return servers.Server(name=name, port=port, process=None, log_path=Path(os.devnull), auth=auth)
    try:
        server = start(auth=auth)
    except servers.ServerStartError as error:
        pytest.fail(f'could not start {name}: {error}', pytrace=False)
    request.addfinalizer(server.stop)
    return server


def require_ours() -> None:
    if 'ours' not in TARGETS:
        pytest.skip('COMPAT_TARGETS excludes our server')
    if os.environ.get('COMPAT_OURS_ERROR'):
        pytest.fail(f'our server is not available: {os.environ["COMPAT_OURS_ERROR"]}', pytrace=False)


@pytest.fixture(scope='session')
def reference(request) -> servers.Server:
    """Reference, no auth, fresh memory storage (owned by the differential scenario)."""
    return _server(request, 'COMPAT_REF_URL', servers.start_reference, name='reference', auth=False)


@pytest.fixture(scope='session')
def reference_auth(request) -> servers.Server:
    """Reference stock app, API key required, memory storage."""
    return _server(request, 'COMPAT_REF_AUTH_URL', servers.start_reference, name='reference-auth', auth=True)


@pytest.fixture(scope='session')
def ours(request) -> servers.Server:
    """Our server, no auth, fresh memory storage (owned by the differential scenario)."""
    require_ours()
    return _server(request, 'COMPAT_OURS_URL', servers.start_ours, name='ours', auth=False)


@pytest.fixture(scope='session')
def ours_auth(request) -> servers.Server:
    """Our server, API key required, memory storage."""
    require_ours()
    return _server(request, 'COMPAT_OURS_AUTH_URL', servers.start_ours, name='ours-auth', auth=True)


@pytest.fixture
def log_dir(tmp_path) -> Path:
    """Where a test may leave artefacts worth reading after a failure."""
    path = Path(os.environ.get('COMPAT_LOG_DIR', tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


SUMMARY_KEY = pytest.StashKey[list]()


@pytest.fixture
def summary(request) -> list:
    """Lines a test wants printed in pytest's terminal summary (e.g. how many requests it compared)."""
    return request.config.stash.setdefault(SUMMARY_KEY, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(SUMMARY_KEY, [])
    if lines:
        terminalreporter.section('compat summary')
        for line in lines:
            terminalreporter.write_line(line)
