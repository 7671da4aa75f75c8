"""The Pythonic API (perfstore.Store / perfstore.Target) on every backend."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import pytest

import perfstore


def test_json_round_trip_keeps_types_order_and_big_numbers(store):
    run = store.target("nightly", "parser")
    value = {"z": 1, "a": [1.5, -2, None, True, "café ☕"], "big": 10**30, "nested": {"p50": 0.1}}
    meta = run.save("results/metrics.json", value)
    assert meta["kind"] == "json" and meta["size"] > 0 and len(meta["hash"]) == 16
    back = run.load("results/metrics.json")
    assert back == value
    assert list(back) == ["z", "a", "big", "nested"]
    assert type(back["big"]) is int and type(back["a"][0]) is float


def test_loads_read_numbers_and_keys_as_json_loads_does(store):
    run = store.target("nightly", "numbers")
    # Text another tool wrote: numbers at the edges of every Python type, keys repeated.
    text = '{"i": -9223372036854775809, "u": 18446744073709551615, "f": 1e400, "n": -0.0, "e": 2E-3, "deep": [{"i": 1}, {"i": 2.0}]}'
    run.save_string("raw.json", text)
    for loaded in (run.load("raw.json"), run.load_many(["raw.json", "raw.json"])[1]):
        expected = json.loads(text)
        assert loaded == expected
        assert [type(v) for v in loaded.values()] == [type(v) for v in expected.values()]
        assert [type(d["i"]) for d in loaded["deep"]] == [int, float]
    # Documents of one bulk load are independent objects (only the key strings are shared).
    first, second = run.load_many(["raw.json", "raw.json"])
    first["deep"][0]["i"] = 99
    assert second["deep"][0]["i"] == 1


def test_save_follows_json_dumps_rules(store):
    run = store.target("s", "t")
    value = OrderedDict([(1, (1, 2)), (2.5, "x"), (False, None), (None, 1e-7), ("u", "é")])
    run.save("k.json", value)
    # Stored exactly as json.dumps(indent=4) writes it (the original module's format).
    assert run.load_string("k.json") == json.dumps(value, indent=4)
    assert run.load("k.json") == {"1": [1, 2], "2.5": "x", "false": None, "null": 1e-7, "u": "é"}


def test_unserialisable_values_raise_like_json_unless_default(store):
    run = store.target("s", "t")
    with pytest.raises(TypeError, match="not JSON serializable"):
        run.save("k.json", {"when": object()})
    with pytest.raises(ValueError, match="Out of range float"):
        run.save("k.json", {"x": float("nan")})
    assert run.exists("k.json") is False
    run.save("k.json", {"s": {1, 2} and frozenset([3])}, default=lambda o: sorted(o))
    assert run.load("k.json") == {"s": [3]}


def test_strings_and_bytes(store):
    run = store.target("s", "t")
    run.save_string("reports/summary.md", "# café ☕\n")
    assert run.load_string("reports/summary.md") == "# café ☕\n"
    payload = bytes(range(256))
    assert run.save_bytes("blobs/all.bin", payload)["kind"] == "binary"
    assert run.load_bytes("blobs/all.bin") == payload
    run.save_bytes("blobs/view.bin", memoryview(b"abc"))
    assert run.load_bytes("blobs/view.bin") == b"abc"
    with pytest.raises(perfstore.DecodeError, match="not UTF-8"):
        run.load_string("blobs/all.bin")
    with pytest.raises(perfstore.DecodeError, match="not valid JSON"):
        run.load("reports/summary.md")


def test_missing_is_none_or_false(store):
    run = store.target("s", "t")
    assert run.load("nope.json") is None
    assert run.load_string("nope.txt") is None
    assert run.load_bytes("nope.bin") is None
    assert run.head("nope.json") is None
    assert run.exists("nope.json") is False
    assert run.delete("nope.json") is False
    assert run.list_keys() == []
    assert run.delete_all() == 0


def test_empty_artifacts_exist(store):
    run = store.target("s", "t")
    run.save_string("empty.txt", "")
    run.save("empty.json", {})
    assert run.exists("empty.txt") and run.exists("empty.json")
    assert run.load_string("empty.txt") == "" and run.load("empty.json") == {}


def test_exists_delete_list_head(store):
    run = store.target("s", "t")
    run.save("results/a.json", {"a": 1})
    run.save("results/quick/b.json", {"b": 2})
    run.save_string("reports/c.md", "c")
    assert run.list_keys() == ["reports/c.md", "results/a.json", "results/quick/b.json"]
    assert run.list_keys("results/") == ["results/a.json", "results/quick/b.json"]
    head = run.head("reports/c.md")
    assert head == {"size": 1, "kind": "text", "hash": "2e7d2c03a9507ae2"}
    assert run.delete("results/a.json") is True
    assert run.exists("results/a.json") is False
    assert run.delete_all() == 2
    assert run.list_keys() == []


def test_sessions_and_targets_are_listed_and_isolated(store):
    store.target("s1", "t1").save("k.json", {"v": 1})
    store.target("s1", "t2").save("k.json", {"v": 2})
    store.target("s2", "t1").save("k.json", {"v": 3})
    assert store.list_sessions() == ["s1", "s2"]
    assert store.list_targets("s1") == ["t1", "t2"]
    assert store.list_targets("s2") == ["t1"]
    assert store.target("s1", "t2").load("k.json") == {"v": 2}
    run = store.target("s2", "t1")
    assert (run.session, run.name) == ("s2", "t1")
    assert repr(run) == "Target(\"s2\", \"t1\")"


def test_bad_names_raise_invalid_name_with_the_librarys_message(store):
    with pytest.raises(perfstore.InvalidName, match=r"invalid session name \"a b\": character ' '"):
        store.target("a b", "t")
    run = store.target("s", "t")
    with pytest.raises(perfstore.InvalidName, match=r"segment \"\.\.\""):
        run.save("../escape.json", {})
    with pytest.raises(ValueError):  # InvalidName is a ValueError too
        run.load("a//b")
    assert issubclass(perfstore.InvalidName, perfstore.PerfstoreError)
    assert issubclass(perfstore.StorageError, OSError)


def test_bulk_save_load_delete(store):
    run = store.target("bulk", "t")
    items = {f"results/{i:04}.json": {"i": i, "label": f"n{i}"} for i in range(300)}
    metas = run.save_many(items)
    assert len(metas) == 300 and all(m["kind"] == "json" for m in metas)
    keys = list(items) + ["results/missing.json"]
    loaded = run.load_many(keys)
    assert loaded[:300] == list(items.values()) and loaded[300] is None
    run.save_many([("a.txt", "x"), ("b.txt", "y")], kind="string")
    assert run.load_many(["a.txt", "b.txt"], kind="string") == ["x", "y"]
    run.save_many([("c.bin", b"\x00\xff")], kind="bytes")
    assert run.load_many(["c.bin"], kind="bytes") == [b"\x00\xff"]
    assert run.delete_many(["a.txt", "missing.txt"]) == [True, False]
    assert run.exists("a.txt") is False
    with pytest.raises(ValueError, match="kind must be"):
        run.load_many(["a.txt"], kind="xml")


def test_bulk_calls_split_across_threads_keep_order_and_errors(store):
    run = store.target("bulk", "split")
    items = [(f"k/{i:04}.json", {"i": i}) for i in range(1000)]  # enough to be split in parts
    metas = run.save_many(items)
    assert len(metas) == 1000
    keys = [k for k, _ in items]
    assert run.load_many(keys) == [v for _, v in items]
    assert run.load_many(list(reversed(keys)))[0] == {"i": 999}
    with pytest.raises(perfstore.InvalidName):
        run.load_many(keys[:900] + ["bad key"] + keys[900:])


def test_bulk_save_attempts_every_item_then_raises_the_first_failure(store):
    run = store.target("bulk", "t")
    with pytest.raises(perfstore.InvalidName, match="bad key"):
        run.save_many([("ok.json", {"v": 1}), ("bad key", {"v": 2})])
    assert run.load("ok.json") == {"v": 1}


def test_handles_are_shared_between_threads(store):
    run = store.target("threads", "t")
    errors = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                key = f"w{n}/k{i}.json"
                run.save(key, {"n": n, "i": i})
                assert run.load(key) == {"n": n, "i": i}
        except Exception as e:  # collected: an assertion in a thread would be lost
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(run.list_keys()) == 160


def test_from_env_opens_what_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv("PERF_STORAGE_MODE", "local")
    monkeypatch.setenv("PERF_LOCAL_STORAGE_PATH", str(tmp_path))
    store = perfstore.Store.from_env()
    assert store.backend == "local"
    store.target("s", "t").save_string("k.txt", "v")
    assert (tmp_path / "sessions" / "s" / "targets" / "t" / "k.txt").read_text() == "v"
    monkeypatch.setenv("PERF_STORAGE_MODE", "tape")
    with pytest.raises(perfstore.ConfigError, match="unknown storage mode \"tape\""):
        perfstore.Store.from_env()


def test_cache_service_namespace_is_validated():
    with pytest.raises(perfstore.ConfigError, match="namespace"):
        perfstore.Store.cache_service(namespace="no spaces")


def test_unreachable_service_is_a_storage_error():
    store = perfstore.Store.cache_service("http://127.0.0.1:9", namespace="ns")
    with pytest.raises(perfstore.StorageError):
        store.target("s", "t").save("k.json", {})


def test_cache_service_api_key(auth_server_url):
    from conftest import API_KEY_NAME, API_KEY_VALUE

    with_key = perfstore.Store.cache_service(
        auth_server_url, namespace="auth", api_key=API_KEY_VALUE, api_key_header=API_KEY_NAME
    )
    with_key.target("s", "t").save("k.json", {"v": 1})
    assert with_key.target("s", "t").load("k.json") == {"v": 1}
    wrong = perfstore.Store.cache_service(auth_server_url, namespace="auth", api_key="wrong")
    with pytest.raises(perfstore.StorageError, match="401"):
        wrong.target("s", "t").load("k.json")
