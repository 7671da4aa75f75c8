"""Fixtures: the backends every API test runs on, the `perfstore` CLI binary, and a
`perfstore serve` on a free loopback port (started once per session, stopped at the end)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest

import perfstore

REPO = Path(__file__).resolve().parents[2]
ORIGINAL_TREE = REPO / "crates" / "perfstore" / "tests" / "fixtures" / "original-tree"

# What `perfstore serve` logs once bound: our line, or the tracing event with its address.
LISTENING = re.compile(r"listening on http://([0-9.]+):(\d+)|addr=([0-9.]+):(\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `perfstore` binary (PERFSTORE_BIN, else target/debug/perfstore, built if missing)."""
    path = Path(os.environ.get("PERFSTORE_BIN", REPO / "target" / "debug" / "perfstore"))
    if not path.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "perfstore-cli"], cwd=REPO, check=True)
    assert path.exists(), f"no perfstore binary at {path}"
    return path


def run_cli(cli: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERF_", "URL__", "AUTH__"))}
    result = subprocess.run(
        [str(cli), *args], input=stdin, capture_output=True, timeout=60, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"perfstore {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}")
    return result


API_KEY_NAME, API_KEY_VALUE = "x-api-key", "python-tests-secret"


@pytest.fixture(scope="session")
def server_url(cli: Path) -> Iterator[str]:
    """A `perfstore serve --storage memory --no-auth` on 127.0.0.1, port picked by the OS."""
    yield from serve(cli, ["--no-auth"], {})


@pytest.fixture(scope="session")
def auth_server_url(cli: Path) -> Iterator[str]:
    """The same, requiring the API key API_KEY_NAME: API_KEY_VALUE."""
    yield from serve(cli, [], {"FAST_API__AUTH__API_KEY__NAME": API_KEY_NAME, "FAST_API__AUTH__API_KEY__VALUE": API_KEY_VALUE})


def serve(cli: Path, flags: List[str], extra_env: dict) -> Iterator[str]:
    env = dict(os.environ, RUST_LOG="info", **extra_env)
    proc = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", "0", "--storage", "memory", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    found: List[str] = []
    seen: List[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            m = LISTENING.search(ANSI.sub("", line))
            if m and not found:
                host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
                found.append(f"http://{host}:{port}")
        # keep draining so the server never blocks on a full pipe

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not found:
        proc.kill()
        raise RuntimeError("perfstore serve did not report its address:\n" + "".join(seen))
    try:
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


BACKENDS = ["memory", "local", "cache_in_process", "cache_loopback"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> perfstore.Store:
    """The same tests on every backend: memory, local disk, the cache service in this process
    and `perfstore serve` over loopback HTTP (a fresh namespace per test)."""
    kind = request.param
    if kind == "memory":
        return perfstore.Store.memory()
    if kind == "local":
        return perfstore.Store.local(tmp_path / "store")
    if kind == "cache_in_process":
        return perfstore.Store.cache_service()
    url = request.getfixturevalue("server_url")
    return perfstore.Store.cache_service(url, namespace=unique("ns"))
