"""perfstore (Python package, release build) against the pure-Python original, side by side.

1. local disk, 1 KB dict, save + load: the package (Target API and the phase_e drop-in) vs a
   pure-Python implementation of the original local backend (json.dump / json.load, same layout);
2. bulk, 1,000 1 KB artifacts saved then loaded: save_many / load_many vs the pure-Python loop,
   re-saving the same values, saving changed values over them, and into a new target;
3. the cache service in this process, 1 KB save + load: perfstore.Store.cache_service() (our Rust
   service in-process) vs the original module's algorithm over the official Python client in
   IN_MEMORY mode against the reference service (what the original's tests ran);
4. a 10,000-artifact bulk load, timing it and counting how often another Python thread ran.

Run with scripts/bench-python.sh (builds the wheel, sets up the reference venv). Prints a table
and writes the figures as JSON (--json PATH).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import perfstore
from perfstore.phase_e import Perf__Storage__Local


def one_kb_dict() -> Dict[str, Any]:
    """A metrics dict whose stored form (json.dumps indent=4) is about 1 KB."""
    value: Dict[str, Any] = {"url": "https://example.com/page1", "session": "nightly", "ok": True, "metrics": {}}
    i = 0
    while len(json.dumps(value, indent=4)) < 1000:
        value["metrics"][f"metric_{i:02}"] = round(1.5 + i * 0.37, 3)
        i += 1
    return value


class PureLocal:
    """The original local backend in plain Python: os + json.dump / json.load, same layout."""

    def __init__(self, storage_path: str) -> None:
        self.storage_path = storage_path
        self.session_name = ""
        self.target_name = ""

    def set_context(self, session_name: str, target_name: str) -> None:
        self.session_name, self.target_name = session_name, target_name

    def full_path(self, key: str) -> str:
        return f"{self.storage_path}/sessions/{self.session_name}/targets/{self.target_name}/{key}"

    def save(self, key: str, data: dict) -> bool:
        path = self.full_path(key)
        folder = os.path.dirname(path)
        if not os.path.exists(folder):
            os.makedirs(folder)
        with open(path, "w") as f:
            json.dump(data, f, indent=4, default=str)
        return True

    def load(self, key: str) -> Optional[dict]:
        path = self.full_path(key)
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)


class ReferenceCacheStorage:
    """The original Perf__Storage__Cache_Service (E_3) algorithm over the official client:
    stateless, every call finds (or creates) the entry by hash, then moves one child file."""

    def __init__(self, client: Any, namespace: str, session: str, target: str) -> None:
        from mgraph_ai_service_cache_client.schemas.cache.enums.Enum__Cache__Store__Strategy import (
            Enum__Cache__Store__Strategy,
        )

        self.client, self.namespace = client, namespace
        self.cache_key = f"sessions/{session}/targets/{target}"
        self.cache_hash = hashlib.sha256(self.cache_key.encode()).hexdigest()[:16]
        self.entry = {"cache_key": self.cache_key, "session_name": session, "target_name": target,
                      "config": {}, "summary": {}}
        self.key_based = Enum__Cache__Store__Strategy.KEY_BASED

    def ensure_entry(self) -> str:
        found = self.client.retrieve().retrieve__hash__cache_hash__cache_id(cache_hash=self.cache_hash,
                                                                           namespace=self.namespace)
        if found and found.get("cache_id"):
            return found["cache_id"]
        stored = self.client.store().store__json__cache_key(namespace=self.namespace, strategy=self.key_based,
                                                            cache_key=self.cache_key, body=self.entry,
                                                            file_id="perf-entry", json_field_path="cache_key")
        return str(stored.cache_id)

    @staticmethod
    def parse_key(key: str):
        return tuple(key.rsplit("/", 1)) if "/" in key else ("", key)

    def save(self, key: str, data: dict) -> bool:
        cache_id = self.ensure_entry()
        data_key, file_id = self.parse_key(key)
        result = self.client.data_store().data__store_json__with__id_and_key(
            cache_id=cache_id, namespace=self.namespace, data_key=data_key, data_file_id=file_id, body=data)
        return result is not None

    def load(self, key: str) -> Optional[dict]:
        cache_id = self.ensure_entry()
        data_key, file_id = self.parse_key(key)
        return self.client.data().retrieve().data__json__with__id_and_key(
            cache_id=cache_id, namespace=self.namespace, data_key=data_key, data_file_id=file_id)


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """The median of `repeat` timings of fn, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int):
    """Medians of `repeat` timings of each, taken alternately, so load from other processes on
    the machine falls on both sides alike."""
    a: List[float] = []
    b: List[float] = []
    for _ in range(repeat):
        for fn, out in ((ours, a), (theirs, b)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def save_load_loop(storage: Any, value: dict, n: int, keys: int = 100) -> Callable[[], None]:
    def run() -> None:
        for i in range(n):
            key = f"results/m{i % keys:03}.json"
            storage.save(key, value)
            assert storage.load(key) is not None
    return run


def machine() -> str:
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
            mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores {cpu}{mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, perfstore {perfstore.__version__}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference cache service")
    args = parser.parse_args()
    n_local, n_cache, n_ref, repeat = (200, 200, 20, 3) if args.quick else (2000, 2000, 200, 5)
    value = one_kb_dict()
    results: List[Dict[str, Any]] = []

    def row(name: str, ours: float, theirs: float, unit_ops: int, goal: float) -> None:
        ratio = theirs / ours
        results.append({"scenario": name, "perfstore_s": ours, "baseline_s": theirs, "ops": unit_ops,
                        "ratio": ratio, "goal": goal, "met": ratio >= goal})
        print(f"{name:<58} {unit_ops / ours:>11,.0f}/s {unit_ops / theirs:>11,.0f}/s {ratio:>8.2f}x"
              f"  (goal >= {goal:g}x: {'met' if ratio >= goal else 'NOT met'})", flush=True)

    print(f"machine: {machine()}")
    print(f"{'scenario (save+load pairs or artifacts per second)':<58} {'perfstore':>13} {'baseline':>13} {'ratio':>9}")
    work = tempfile.mkdtemp(prefix="perfstore-bench-")
    try:
        # 1. local disk, 1 KB
        pure = PureLocal(os.path.join(work, "pure"))
        pure.set_context("nightly", "parser")
        target = perfstore.Store.local(os.path.join(work, "ours")).target("nightly", "parser")
        drop_in = Perf__Storage__Local(storage_path=os.path.join(work, "drop-in"))
        drop_in.set_context("nightly", "parser")
        row("local 1 KB save+load: Target vs pure-Python original",
            *paired(save_load_loop(target, value, n_local), save_load_loop(pure, value, n_local), repeat), n_local, 1.0)
        row("local 1 KB save+load: phase_e drop-in vs pure-Python",
            *paired(save_load_loop(drop_in, value, n_local), save_load_loop(pure, value, n_local), repeat), n_local, 1.0)

        # 2. bulk 1,000
        items = {f"results/bulk/{i:04}.json": dict(value, index=i) for i in range(1000)}

        def pure_bulk() -> None:
            for key, v in items.items():
                pure.save(key, v)
            for key in items:
                pure.load(key)

        def ours_bulk() -> None:
            target.save_many(items)
            loaded = target.load_many(list(items))
            assert loaded[-1]["index"] == 999

        row("bulk 1,000 x 1 KB save+load: save_many/load_many vs loop", *paired(ours_bulk, pure_bulk, repeat),
            1000, 3.0)

        # every value changed since the last save (alternating two sets): real overwrites
        changed = [{k: dict(v, run=r) for k, v in items.items()} for r in ("a", "b")]
        flips = {"ours": iter(range(1_000_000)), "pure": iter(range(1_000_000))}

        def pure_bulk_changed() -> None:
            batch = changed[next(flips["pure"]) % 2]
            for key, v in batch.items():
                pure.save(key, v)
            for key in batch:
                pure.load(key)

        def ours_bulk_changed() -> None:
            batch = changed[next(flips["ours"]) % 2]
            target.save_many(batch)
            assert target.load_many(list(batch))[-1]["run"] == batch["results/bulk/0999.json"]["run"]

        row("bulk 1,000 x 1 KB, every value changed: save_many/load_many vs loop",
            *paired(ours_bulk_changed, pure_bulk_changed, repeat), 1000, 3.0)

        # the same into a new target each time: every file is created, on both sides
        fresh = iter(range(1_000_000))

        def pure_bulk_new() -> None:
            pure.set_context("nightly", f"new-{next(fresh)}")
            pure_bulk()

        def ours_bulk_new() -> None:
            nonlocal target
            target = perfstore.Store.local(os.path.join(work, "ours")).target("nightly", f"new-{next(fresh)}")
            ours_bulk()

        row("bulk 1,000 x 1 KB into a new target: save_many/load_many vs loop",
            *paired(ours_bulk_new, pure_bulk_new, repeat), 1000, 3.0)

        # 3. cache service in-process
        ours_cache = perfstore.Store.cache_service(namespace="bench").target("nightly", "parser")
        t_ours_cache = timed(save_load_loop(ours_cache, value, n_cache), repeat)
        if not args.no_reference:
            from mgraph_ai_service_cache_client.client.cache_service.register_cache_service import (
                register_cache_service__in_memory,
            )

            os.environ.setdefault("CACHE__SERVICE__STORAGE_MODE", "memory")
            client = register_cache_service__in_memory(return_client=True)
            reference = ReferenceCacheStorage(client, "bench", "nightly", "parser")
            reference.save("results/warm-up.json", value)
            t_ref = timed(save_load_loop(reference, value, n_ref), max(1, repeat // 2))
            # per pair, scaled to the same count
            row("cache service in-process 1 KB save+load vs reference+client", t_ours_cache / n_cache * n_ref,
                t_ref, n_ref, 50.0)
        else:
            print(f"cache service in-process 1 KB save+load: {n_cache / t_ours_cache:,.0f}/s (reference skipped)")

        # 4. 10,000-artifact bulk load without holding the GIL
        big = perfstore.Store.local(os.path.join(work, "big")).target("bulk", "t")
        big.save_many({f"results/{i:05}.json": {"i": i, "payload": "x" * 64} for i in range(10_000)})
        keys = [f"results/{i:05}.json" for i in range(10_000)]
        ticks = [0]
        stop = threading.Event()

        def ticker() -> None:
            while not stop.is_set():
                time.sleep(0.001)
                ticks[0] += 1

        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        time.sleep(0.02)
        before = ticks[0]
        start = time.perf_counter()
        loaded = big.load_many(keys)
        elapsed = time.perf_counter() - start
        during = ticks[0] - before
        stop.set()
        thread.join()
        assert len(loaded) == 10_000
        results.append({"scenario": "bulk load 10,000 (GIL released)", "perfstore_s": elapsed,
                        "other_thread_ticks": during, "met": during >= 10})
        print(f"bulk load 10,000 artifacts: {elapsed * 1000:.0f} ms; another thread ran {during} 1-ms ticks "
              f"meanwhile ({'GIL released' if during >= 10 else 'GIL HELD'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "results": results}, f, indent=2)
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
