"""perfstore: storage for performance-analysis artifacts, session -> target -> key.

>>> import perfstore
>>> store = perfstore.Store.memory()
>>> run = store.target("nightly", "parser")
>>> _ = run.save("results/metrics.json", {"p50_ms": 1.5})
>>> run.load("results/metrics.json")
{'p50_ms': 1.5}
>>> run.list_keys()
['results/metrics.json']

Backends: :meth:`Store.local` (files in the original module's layout, shared with the
``perfstore`` CLI), :meth:`Store.memory`, :meth:`Store.cache_service` (an MGraph-AI cache
service, or one in this process) and :meth:`Store.from_env`. The original module's classes
are in :mod:`perfstore.phase_e`.
"""

from perfstore._perfstore import Store, Target, __version__
from perfstore.errors import (
    ConfigError,
    DecodeError,
    InvalidName,
    NotFound,
    PerfstoreError,
    StorageError,
)

__all__ = [
    "Store",
    "Target",
    "PerfstoreError",
    "InvalidName",
    "NotFound",
    "ConfigError",
    "DecodeError",
    "StorageError",
    "__version__",
]
