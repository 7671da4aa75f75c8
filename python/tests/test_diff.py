"""The library's session diff, as plain dicts."""

import pytest

import perfstore


def test_diff_reports_metric_changes_as_dicts(store):
    store.target("base", "parser").save("results/metrics.json", {"p50_ms": 10.0, "rps": 100})
    store.target("cand", "parser").save("results/metrics.json", {"p50_ms": 12.0, "rps": 101})
    diff = store.diff("base", "cand")
    assert (diff["base"], diff["candidate"]) == ("base", "cand")
    assert diff["summary"]["regressions"] == 1
    [target] = diff["targets"]
    [artifact] = target["artifacts"]
    assert (target["target"], artifact["key"]) == ("parser", "results/metrics.json")
    p50 = next(m for m in artifact["metrics"] if m["path"] == "p50_ms")
    assert (p50["base"], p50["candidate"], p50["verdict"]) == (10.0, 12.0, "regression")
    # +20 % is within a 50 % threshold.
    assert store.diff("base", "cand", threshold=0.5)["summary"]["regressions"] == 0


def test_diff_of_a_missing_session_raises_not_found(store):
    store.target("base", "parser").save("k.json", {"v": 1})
    with pytest.raises(perfstore.NotFound, match="session nope not found"):
        store.diff("nope", "base")


def test_diff_refuses_unknown_options():
    store = perfstore.Store.memory()
    with pytest.raises(TypeError, match='unexpected option "colour"'):
        store.diff("a", "b", colour="red")
