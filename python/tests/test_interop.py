"""Python and the `perfstore` CLI on the same stores: local disk both ways, the cache service
through `perfstore serve` both ways, and a tree in the original module's layout read as-is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import perfstore
from perfstore.phase_e import Perf__Storage__Local

from conftest import ORIGINAL_TREE, run_cli, unique


@pytest.fixture
def local_root(tmp_path) -> Path:
    return tmp_path / "store"


def cli_local(cli, root, *args, stdin=None, check=True):
    return run_cli(cli, "--mode", "local", "--path", str(root), *args, stdin=stdin, check=check)


def test_cli_reads_what_python_wrote_on_disk(cli, local_root):
    run = perfstore.Store.local(local_root).target("nightly", "parser")
    run.save("results/metrics.json", {"p50_ms": 1.5, "name": "café"})
    run.save_string("reports/summary.md", "# ok\n")
    run.save_bytes("blobs/raw.bin", b"\x00\x01\xff")
    got = cli_local(cli, local_root, "get", "nightly", "parser", "results/metrics.json").stdout
    assert got == json.dumps({"p50_ms": 1.5, "name": "café"}, indent=4).encode()
    assert cli_local(cli, local_root, "get", "nightly", "parser", "reports/summary.md").stdout == b"# ok\n"
    assert cli_local(cli, local_root, "get", "nightly", "parser", "blobs/raw.bin").stdout == b"\x00\x01\xff"
    listed = cli_local(cli, local_root, "ls", "nightly", "parser").stdout.decode().split()
    assert listed == ["blobs/raw.bin", "reports/summary.md", "results/metrics.json"]
    assert cli_local(cli, local_root, "ls").stdout.decode().split() == ["nightly"]


def test_python_reads_what_the_cli_wrote_on_disk(cli, local_root):
    cli_local(cli, local_root, "put", "nightly", "parser", "results/m.json", "--json", stdin=b'{"b": 2, "a": [1.5]}')
    cli_local(cli, local_root, "put", "nightly", "parser", "reports/r.md", "--text", stdin="é\n".encode())
    store = perfstore.Store.local(local_root)
    run = store.target("nightly", "parser")
    assert run.load("results/m.json") == {"b": 2, "a": [1.5]}
    assert list(run.load("results/m.json")) == ["b", "a"]
    assert run.load_string("reports/r.md") == "é\n"
    assert store.list_targets("nightly") == ["parser"]
    # The drop-in reads the same files.
    legacy = Perf__Storage__Local(storage_path=str(local_root))
    legacy.set_context("nightly", "parser")
    assert legacy.load("results/m.json") == {"b": 2, "a": [1.5]}
    cli_local(cli, local_root, "rm", "nightly", "parser", "reports/r.md")
    assert run.exists("reports/r.md") is False


def test_cli_and_python_share_a_cache_service(cli, server_url):
    namespace = unique("interop")
    store = perfstore.Store.cache_service(server_url, namespace=namespace)
    run = store.target("nightly", "parser")
    run.save("results/metrics.json", {"p50_ms": 1.5})
    run.save_string("reports/summary.md", "# ok")
    remote = ("--mode", "cache_service", "--url", server_url, "--namespace", namespace)
    got = run_cli(cli, *remote, "get", "nightly", "parser", "results/metrics.json").stdout
    assert json.loads(got) == {"p50_ms": 1.5}
    assert run_cli(cli, *remote, "get", "nightly", "parser", "reports/summary.md").stdout == b"# ok"
    assert run_cli(cli, *remote, "ls", "nightly", "parser").stdout.decode().split() == [
        "reports/summary.md",
        "results/metrics.json",
    ]
    run_cli(cli, *remote, "put", "nightly", "lexer", "results/m.json", "--json", stdin=b'{"tokens": 12}')
    assert store.target("nightly", "lexer").load("results/m.json") == {"tokens": 12}
    assert store.list_targets("nightly") == ["lexer", "parser"]
    run_cli(cli, *remote, "rm", "nightly", "parser", "--all")
    assert run.list_keys() == []


def test_the_original_tree_is_read_as_is(tmp_path, cli):
    root = tmp_path / "original"
    shutil.copytree(ORIGINAL_TREE, root)
    store = perfstore.Store.local(root)
    assert store.list_sessions() == ["baseline", "phase-e-3"]
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files, "the fixture tree is empty"
    for path in files:
        session, _, target, *key = path.relative_to(root / "sessions").parts
        key = "/".join(key)
        run = store.target(session, target)
        assert run.load_bytes(key) == path.read_bytes()
        assert key in run.list_keys()
        if path.suffix == ".json":
            with open(path) as f:
                assert run.load(key) == json.load(f)
        else:
            assert run.load_string(key) == path.read_text()
    legacy = Perf__Storage__Local(storage_path=str(root))
    legacy.set_context("phase-e-3", "example_com_page1")
    with open(root / "sessions/phase-e-3/targets/example_com_page1/results/metrics.json") as f:
        assert legacy.load("results/metrics.json") == json.load(f)
    assert "results/quick/a.json" in legacy.list_keys("results/")
    # ... and the CLI reads what Python adds to it.
    store.target("phase-e-3", "example_com_page1").save("results/extra.json", {"added": True})
    got = run_cli(cli, "--path", str(root), "get", "phase-e-3", "example_com_page1", "results/extra.json").stdout
    assert json.loads(got) == {"added": True}
