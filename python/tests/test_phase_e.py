"""The original module's asserted behaviours (storage-module-reference.md §5), ported to
perfstore.phase_e, plus the defects it fixes (python/README.md lists both)."""

from __future__ import annotations

import json
import os

import pytest

import perfstore
from perfstore.phase_e import (
    Enum__Storage_Mode,
    Perf__Storage__Base,
    Perf__Storage__Cache_Service,
    Perf__Storage__Config,
    Perf__Storage__Factory,
    Perf__Storage__Local,
    Perf__Storage__Memory,
    Safe_Str__Data_File_Id,
    Safe_Str__Data_Key,
    Safe_Str__Session_Name,
    Safe_Str__Target_Name,
    Schema__Perf__Storage__Config,
)

from conftest import unique

ENV_VARS = ("PERF_STORAGE_MODE", "PERF_CACHE_NAMESPACE", "PERF_LOCAL_STORAGE_PATH")


# --- §2.2 names ---


def test_names_are_sanitised_not_rejected_and_over_long_raises():
    assert Safe_Str__Target_Name("example.com/page1") == "example_com_page1"
    assert Safe_Str__Data_Key("results/x y") == "results/x_y"
    assert Safe_Str__Data_File_Id("out put.json") == "out_put.json"
    with pytest.raises(ValueError, match="exceeds maximum length of 100 characters \\(was 101\\)"):
        Safe_Str__Session_Name("s" * 101)


# --- §5.2 Local ---


@pytest.fixture
def local(tmp_path):
    storage = Perf__Storage__Local(storage_path=str(tmp_path))
    storage.set_context("test_session", "test_target")
    return storage


def test_local_defaults_and_types(tmp_path):
    assert Perf__Storage__Local().storage_path == "./perf_results"
    assert isinstance(Perf__Storage__Local(), Perf__Storage__Base)
    storage = Perf__Storage__Local(storage_path=str(tmp_path))
    assert storage.storage_path == str(tmp_path)
    storage.set_context("my_session", "my_target")
    assert type(storage.session_name) is Safe_Str__Session_Name
    assert type(storage.target_name) is Safe_Str__Target_Name
    assert (storage.session_name, storage.target_name) == ("my_session", "my_target")


def test_local_paths(local, tmp_path):
    assert local.context_path() == f"{tmp_path}/sessions/test_session/targets/test_target"
    assert local.full_path("results/test.json") == local.context_path() + "/results/test.json"


def test_local_save_load_writes_the_originals_file(local):
    data = {"metric": 1.5, "items": [1, 2], "name": "café"}
    assert local.save("results/test.json", data) is True
    assert local.exists("results/test.json") is True
    path = local.full_path("results/test.json")
    assert os.path.isfile(path)
    with open(path) as f:
        assert f.read() == json.dumps(data, indent=4)
    loaded = local.load("results/test.json")
    assert loaded == data and type(loaded) is dict
    assert local.load("results/missing.json") is None


def test_local_save_uses_str_for_other_values(local):
    assert local.save("results/when.json", {"path": os.path}) is True
    assert local.load("results/when.json") == {"path": str(os.path)}


def test_local_nested_and_strings(local):
    assert local.save("deep/nested/path/data.json", {"x": 1}) is True
    assert local.exists("deep/nested/path/data.json")
    assert local.save_string("reports/summary.md", "café ☕") is True
    assert local.exists("reports/summary.md")
    text = local.load_string("reports/summary.md")
    assert text == "café ☕" and type(text) is str
    assert local.load_string("reports/missing.md") is None


def test_local_exists_delete(local):
    assert local.exists("missing.json") is False
    local.save("results/test.json", {"a": 1})
    assert local.delete("results/test.json") is True
    assert not os.path.exists(local.full_path("results/test.json"))
    assert local.delete("results/test.json") is False


def test_local_list_keys(local, tmp_path):
    local.save("results/a.json", {"a": 1})
    local.save("results/b.json", {"b": 2})
    local.save_string("reports/c.md", "c")
    assert len(local.list_keys()) == 3
    assert local.list_keys("results/") == ["results/a.json", "results/b.json"]
    empty = Perf__Storage__Local(storage_path=str(tmp_path))
    empty.set_context("other_session", "other_target")
    assert empty.list_keys() == []


def test_local_nested_keys_are_listed_in_full(local):
    local.save("results/quick/a.json", {"a": 1})
    local.save("results/detailed/b.json", {"b": 2})
    assert local.list_keys() == ["results/detailed/b.json", "results/quick/a.json"]


def test_local_context_isolation(local):
    local.set_context("session_a", "target_x")
    local.save("data.json", {"v": "a"})
    local.set_context("session_b", "target_y")
    local.save("data.json", {"v": "b"})
    assert local.load("data.json") == {"v": "b"}
    local.set_context("session_a", "target_x")
    assert local.load("data.json") == {"v": "a"}


def test_local_before_set_context_reads_nothing_and_refuses_writes(tmp_path):
    storage = Perf__Storage__Local(storage_path=str(tmp_path))
    assert storage.context_path() == f"{tmp_path}/sessions//targets/"
    assert storage.load("k.json") is None and storage.list_keys() == []
    # Fixed: the original wrote into sessions//targets/ (that is, sessions/targets/).
    with pytest.raises(perfstore.InvalidName, match="must not be empty"):
        storage.save("k.json", {})


def test_local_keys_cannot_escape_the_context(local):
    # Fixed: the original used the key verbatim as a path.
    with pytest.raises(perfstore.InvalidName):
        local.save("../../outside.json", {})


# --- §5.3 Memory ---


@pytest.fixture
def memory():
    storage = Perf__Storage__Memory()
    storage.set_context("test_session", "test_target")
    storage.clear_context()
    return storage


def test_memory_new_instance_and_context():
    storage = Perf__Storage__Memory()
    assert storage.data == {} and type(storage.data) is dict
    assert isinstance(storage, Perf__Storage__Base)
    storage.set_context("test_session", "test_target")
    assert type(storage.session_name) is Safe_Str__Session_Name
    assert storage.context_key() == "test_session/test_target"
    assert storage.full_key("results/test.json") == "test_session/test_target/results/test.json"


def test_memory_round_trips(memory):
    assert memory.save("results/test.json", {"a": 1}) is True
    assert memory.load("results/test.json") == {"a": 1}
    assert memory.load("missing.json") is None
    assert memory.save_string("reports/s.md", "# hi") is True
    assert memory.load_string("reports/s.md") == "# hi"
    assert memory.load_string("missing.md") is None
    assert memory.exists("results/test.json") and not memory.exists("missing.json")
    assert memory.delete("results/test.json") is True
    assert memory.delete("results/test.json") is False


def test_memory_list_keys(memory):
    memory.save("results/a.json", {"a": 1})
    memory.save("results/b.json", {"b": 2})
    memory.save("reports/c.md", {"c": 3})
    assert len(memory.list_keys()) == 3
    assert memory.list_keys("results/") == ["results/a.json", "results/b.json"]
    memory.set_context("empty_session", "empty_target")
    assert memory.list_keys() == []


def test_memory_clear_and_clear_context(memory):
    memory.save("a.json", {"v": 1})
    memory.set_context("other_session", "other_target")
    memory.save("b.json", {"v": 2})
    assert len(memory.data) == 2
    memory.clear_context()
    assert len(memory.data) == 1
    memory.set_context("test_session", "test_target")
    assert memory.load("a.json") == {"v": 1}
    memory.save("c.json", {"v": 3})
    memory.clear()
    assert len(memory.data) == 0


def test_memory_sibling_target_is_neither_listed_nor_cleared(memory):
    # Fixed (§8.1): the original's prefix test without a trailing "/" leaked target "t2" into "t".
    memory.set_context("s", "t")
    memory.save("a.json", {"v": 1})
    memory.set_context("s", "t2")
    memory.save("b.json", {"v": 2})
    memory.set_context("s", "t")
    assert memory.list_keys() == ["a.json"]
    memory.clear_context()
    memory.set_context("s", "t2")
    assert memory.load("b.json") == {"v": 2}


# --- §5.4 Config ---


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_config_defaults(clean_env):
    config = Perf__Storage__Config()
    assert config.setup() is config
    assert type(config.config) is Schema__Perf__Storage__Config
    assert config.config.storage_mode == Enum__Storage_Mode.LOCAL
    assert config.config.cache_namespace == "perf-results"
    assert config.config.local_storage_path == "./perf_results"


@pytest.mark.parametrize(
    "value, mode",
    [
        ("local", Enum__Storage_Mode.LOCAL),
        ("memory", Enum__Storage_Mode.MEMORY),
        ("cache_service", Enum__Storage_Mode.CACHE_SERVICE),
        ("invalid_mode", Enum__Storage_Mode.LOCAL),
    ],
)
def test_config_modes(clean_env, value, mode):
    clean_env.setenv("PERF_STORAGE_MODE", value)
    assert Perf__Storage__Config().setup().config.storage_mode == mode


def test_config_namespace_path_and_json(clean_env):
    clean_env.setenv("PERF_STORAGE_MODE", "memory")
    clean_env.setenv("PERF_CACHE_NAMESPACE", "custom-namespace")
    clean_env.setenv("PERF_LOCAL_STORAGE_PATH", "/custom/path")
    config = Perf__Storage__Config().setup().config
    assert config.cache_namespace == "custom-namespace"
    assert config.local_storage_path == "/custom/path"
    assert config.json() == {
        "storage_mode": "memory",
        "cache_namespace": "custom-namespace",
        "local_storage_path": "/custom/path",
    }


# --- §5.5 Factory ---


def test_factory_creates_each_backend(tmp_path):
    factory = Perf__Storage__Factory()
    assert type(factory.config) is Schema__Perf__Storage__Config
    local = Perf__Storage__Factory(
        config=Schema__Perf__Storage__Config(storage_mode=Enum__Storage_Mode.LOCAL, local_storage_path=str(tmp_path))
    ).create()
    assert type(local) is Perf__Storage__Local and local.storage_path == str(tmp_path)
    assert Perf__Storage__Factory().create().storage_path == "./perf_results"
    memory_factory = Perf__Storage__Factory(config=Schema__Perf__Storage__Config(storage_mode=Enum__Storage_Mode.MEMORY))
    first, second = memory_factory.create(), memory_factory.create()
    assert type(first) is Perf__Storage__Memory and first.data == {}
    first.set_context("s", "t")
    first.save("k.json", {"v": 1})
    assert second.data == {}
    client = perfstore.Store.cache_service(namespace="test-ns")
    cache = Perf__Storage__Factory(
        config=Schema__Perf__Storage__Config(storage_mode=Enum__Storage_Mode.CACHE_SERVICE, cache_namespace="test-ns"),
        cache_client=client,
        session_name="sess",
        target_name="targ",
    ).create()
    assert type(cache) is Perf__Storage__Cache_Service and cache.client is client
    assert (cache.session_name, cache.target_name) == ("sess", "targ")
    for storage in (local, first, cache):
        assert isinstance(storage, Perf__Storage__Base)
        for method in ("save", "save_string", "load", "load_string", "exists", "delete", "list_keys"):
            assert callable(getattr(storage, method))


def test_factory_memory_round_trip():
    storage = Perf__Storage__Factory(config=Schema__Perf__Storage__Config(storage_mode=Enum__Storage_Mode.MEMORY)).create()
    storage.set_context("s", "t")
    assert storage.save("r.json", {"a": 1}) and storage.load("r.json") == {"a": 1}
    assert storage.save_string("r.txt", "x") and storage.load_string("r.txt") == "x"
    assert storage.exists("r.json") and not storage.exists("missing.json")
    assert storage.delete("r.json") is True and storage.exists("r.json") is False


# --- §5.7 Cache service (in this process, and `perfstore serve` over loopback) ---


@pytest.fixture(params=["in_process", "loopback"])
def cache_storage(request):
    config = Schema__Perf__Storage__Config(storage_mode=Enum__Storage_Mode.CACHE_SERVICE, cache_namespace="test_namespace")
    if request.param == "loopback":
        client = perfstore.Store.cache_service(request.getfixturevalue("server_url"), namespace=unique("test_namespace"))
    else:
        client = None
    return Perf__Storage__Cache_Service(config=config, client=client, session_name="test_session", target_name="test_target")


def test_cache_identifiers(cache_storage):
    assert isinstance(cache_storage, Perf__Storage__Base)
    assert cache_storage.cache_key() == "sessions/test_session/targets/test_target"
    assert len(cache_storage.cache_hash()) == 16
    cache_storage.set_context("store_test", "default")
    assert cache_storage.cache_hash() == "f850dd9eec32fadf"


def test_cache_parse_key(cache_storage):
    assert cache_storage.parse_key("results/test.json") == ("results", "test.json")
    assert cache_storage.parse_key("simple.json") == ("", "simple.json")
    assert cache_storage.parse_key("results/detailed/analysis.json") == ("results/detailed", "analysis.json")


def test_cache_round_trips(cache_storage):
    assert cache_storage.save("results/data.json", {"key": "value", "count": 42}) is True
    assert cache_storage.load("results/data.json") == {"key": "value", "count": 42}
    assert cache_storage.load("results/missing.json") is None
    assert cache_storage.save_string("reports/analysis.md", "# Analysis\n\n- ok") is True
    assert cache_storage.load_string("reports/analysis.md") == "# Analysis\n\n- ok"
    assert cache_storage.exists("results/data.json") and not cache_storage.exists("results/missing.json")


def test_cache_missing_string_is_none(cache_storage):
    # Fixed (§8.3): the original's cache service gave '' here, Local and Memory None.
    assert cache_storage.load_string("results/missing.txt") is None


def test_cache_empty_content_exists(cache_storage):
    # Fixed (§8.2): the original judged existence by truthiness of the content.
    cache_storage.save_string("results/empty.txt", "")
    assert cache_storage.exists("results/empty.txt") is True


def test_cache_delete_string(cache_storage):
    cache_storage.save_string("results/output.txt", "Hello World from cache service")
    assert cache_storage.exists("results/output.txt")
    assert cache_storage.delete__string("results/output.txt") is True
    assert cache_storage.exists("results/output.txt") is False


def test_cache_list_keys_lists(cache_storage):
    # Fixed (§8.4): the original always returned [].
    assert cache_storage.list_keys() == []
    cache_storage.save("results/metrics.json", {"p50": 1})
    cache_storage.save_string("results/summary.txt", "ok")
    cache_storage.save_string("reports/analysis.md", "# A")
    assert cache_storage.list_keys() == ["reports/analysis.md", "results/metrics.json", "results/summary.txt"]
    assert cache_storage.load("results/metrics.json") == {"p50": 1}
    assert cache_storage.load_string("results/summary.txt") == "ok"
