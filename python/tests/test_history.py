"""The library's history of a target across sessions, as plain dicts and lists."""

import pytest

import perfstore


def test_history_lists_each_metric_across_sessions_oldest_first(store):
    for session, p50 in [("run-1", 10.0), ("run-2", 10.2), ("run-3", 15.0)]:
        store.target(session, "parser").save("results/metrics.json", {"latency": {"p50_ms": p50}, "name": session})
    found = store.history("parser")
    assert found["target"] == "parser"
    assert [s["session"] for s in found["sessions"]] == ["run-1", "run-2", "run-3"]
    [series] = [s for s in found["series"] if s["metric"] == "latency.p50_ms"]
    assert series["key"] == "results/metrics.json"
    assert series["points"] == [10.0, 10.2, 15.0]
    assert series["regressions"] == [2]  # +47 % on run-3; +2 % on run-2 is within 5 %
    assert store.history("parser", last=2)["sessions"][0]["session"] == "run-2"
    assert store.history("parser", metric="nothing*")["series"] == []


def test_history_of_a_bad_target_name_raises():
    with pytest.raises(perfstore.InvalidName):
        perfstore.Store.memory().history("no/slashes")
