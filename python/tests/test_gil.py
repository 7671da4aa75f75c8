"""Storage calls release the GIL: another Python thread runs while a 10,000-artifact bulk
load is under way."""

from __future__ import annotations

import threading
import time

import perfstore


class Ticker:
    """A thread that counts 1 ms sleeps: it can only count while no one holds the GIL."""

    def __init__(self) -> None:
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            time.sleep(0.001)
            self.ticks += 1

    def __enter__(self) -> "Ticker":
        self._thread.start()
        time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_a_10000_artifact_bulk_load_lets_other_threads_run(tmp_path):
    run = perfstore.Store.local(tmp_path).target("bulk", "t")
    items = {f"results/{i:05}.json": {"i": i, "payload": "x" * 64} for i in range(10_000)}
    run.save_many(items)
    keys = list(items)
    with Ticker() as ticker:
        before, start = ticker.ticks, time.perf_counter()
        loaded = run.load_many(keys)
        elapsed, ticks = time.perf_counter() - start, ticker.ticks - before
    assert loaded == list(items.values())
    # Holding the GIL for the whole call would allow at most a tick or two (around the call).
    assert ticks >= 5, f"only {ticks} ticks in {elapsed * 1000:.0f} ms: the GIL was held"

