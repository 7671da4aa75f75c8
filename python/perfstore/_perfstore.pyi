"""Type stubs of the Rust extension (perfstore._perfstore); import from ``perfstore``."""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Tuple, TypedDict, Union

__version__: str

JSON = Any
Kind = Literal["json", "string", "bytes"]
BytesLike = Union[bytes, bytearray, memoryview]

class Head(TypedDict):
    """Size of the stored bytes, kind (``json``, ``text``, ``binary``) and the first 16 hex
    characters of their SHA-256."""

    size: int
    kind: str
    hash: str

class Store:
    """A store of performance artifacts: sessions, holding targets, holding keyed artifacts.
    Thread-safe; every call releases the GIL while it waits on storage."""

    @staticmethod
    def local(path: Union[str, os.PathLike[str]], *, fsync: bool = False) -> Store:
        """Files under ``path`` in the original module's layout
        (``{path}/sessions/{session}/targets/{target}/{key}``), shared with the CLI."""
    @staticmethod
    def memory() -> Store:
        """A store in memory, private to this object."""
    @staticmethod
    def cache_service(
        url: Optional[str] = None,
        *,
        namespace: str = "perf-results",
        api_key: Optional[str] = None,
        api_key_header: str = "x-api-key",
    ) -> Store:
        """The MGraph-AI cache service at ``url``; without a URL, one running in this process."""
    @staticmethod
    def from_env() -> Store:
        """The store ``PERF_STORAGE_MODE`` and the other ``PERF_*`` variables describe."""
    @property
    def backend(self) -> str:
        """``local``, ``memory`` or ``cache_service``."""
    def target(self, session: str, target: str) -> Target:
        """A handle on one target (names: 1-100 of ``A-Z a-z 0-9 _ -``); raises InvalidName."""
    def list_sessions(self) -> List[str]: ...
    def list_targets(self, session: str) -> List[str]: ...
    def diff(
        self,
        base: str,
        candidate: str,
        *,
        threshold: Optional[float] = None,
        direction: Optional[str] = None,
        **options: Any,
    ) -> Dict[str, Any]:
        """Compares session ``candidate`` against ``base``: targets, artifacts and metrics, as
        ``perfstore diff --format json`` prints them. Raises NotFound for a missing session."""

    def history(self, target: str, *, metric: Optional[str] = None, last: Optional[int] = None) -> Dict[str, Any]:
        """The metrics of ``target`` across the sessions holding it, oldest first:
        ``{"target", "sessions": [...], "series": [{"key", "metric", "direction", "points",
        "regressions", "threshold"}]}``. ``metric`` is a glob over metric paths."""

class Target:
    """One target of one session. Missing artifacts are None / False, never errors."""

    @property
    def session(self) -> str: ...
    @property
    def name(self) -> str: ...
    def save(self, key: str, obj: JSON, *, default: Optional[Callable[[Any], Any]] = None) -> Head:
        """Saves a JSON-able object as ``json.dumps(obj, indent=4)``; ``default`` as in json."""
    def load(self, key: str) -> Optional[JSON]:
        """The JSON at ``key`` or None; DecodeError if it is not JSON."""
    def save_string(self, key: str, text: str) -> Head: ...
    def load_string(self, key: str) -> Optional[str]: ...
    def save_bytes(self, key: str, data: BytesLike) -> Head: ...
    def load_bytes(self, key: str) -> Optional[bytes]: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> bool:
        """Deletes the artifact; False if there was none."""
    def list_keys(self, prefix: str = "") -> List[str]:
        """Keys starting with ``prefix``, sorted, nested keys in full."""
    def head(self, key: str) -> Optional[Head]: ...
    def delete_all(self) -> int:
        """Deletes the target; returns how many artifacts were deleted."""
    def save_many(
        self,
        items: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]],
        *,
        kind: Kind = "json",
        default: Optional[Callable[[Any], Any]] = None,
    ) -> List[Head]:
        """Saves many artifacts in one call; every item is attempted, then the first failure raised."""
    def load_many(self, keys: Iterable[str], *, kind: Kind = "json") -> List[Optional[Any]]:
        """Loads many artifacts in one call (read and parsed without the GIL); None where missing."""
    def delete_many(self, keys: Iterable[str]) -> List[bool]: ...
