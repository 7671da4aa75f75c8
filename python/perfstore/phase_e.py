"""Drop-in replacements for the original ``phase_e.storage`` classes (Phase E_3).

Change ``from phase_e.storage... import Perf__Storage__Local`` to
``from perfstore.phase_e import Perf__Storage__Local`` and the rest stays: same class and
method names, same constructor keywords, same return values, same on-disk layout
(``{storage_path}/sessions/{session}/targets/{target}/{key}``, JSON as
``json.dumps(indent=4)``). Underneath is perfstore's Rust core, so trees are shared with
the ``perfstore`` CLI and :class:`perfstore.Store`.

Kept from the original (harmless): names are sanitised (``example.com/page1`` becomes
``example_com_page1``), an unknown ``PERF_STORAGE_MODE`` falls back to local, ``save`` writes
non-JSON values through ``str()``, reads before ``set_context`` find nothing. Fixed (defects):
see ``python/README.md``, "phase_e: quirks kept and defects fixed".
"""

from __future__ import annotations

import hashlib
import os
import re
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple

from perfstore._perfstore import Store, Target

__all__ = [
    "DEFAULT__PERF_STORAGE__SESSION_NAME",
    "DEFAULT__PERF_STORAGE__TARGET_NAME",
    "Enum__Storage_Mode",
    "Safe_Str__Session_Name",
    "Safe_Str__Target_Name",
    "Safe_Str__Data_Key",
    "Safe_Str__Data_File_Id",
    "Safe_Str__File__Path",
    "Schema__Perf__Storage__Config",
    "Perf__Storage__Config",
    "Perf__Storage__Base",
    "Perf__Storage__Local",
    "Perf__Storage__Memory",
    "Perf__Storage__Cache_Service",
    "Perf__Storage__Factory",
]

DEFAULT__PERF_STORAGE__SESSION_NAME = "default-session"
DEFAULT__PERF_STORAGE__TARGET_NAME = "default-target"


# --- names: the original's Safe_Str rules (replace disallowed characters, refuse over-long) ---


class _Safe_Str(str):
    """A str sanitised on construction: each disallowed character becomes ``_``; a value
    longer than ``max_length`` raises ValueError (nothing is truncated)."""

    max_length = 100
    disallowed = re.compile(r"[^a-zA-Z0-9_\-]")
    trim_whitespace = False

    def __new__(cls, value: Any = None) -> "_Safe_Str":
        if value is None:
            value = ""
        if not isinstance(value, str):
            value = str(value)
        if cls.trim_whitespace:
            value = value.strip()
        if len(value) > cls.max_length:
            raise ValueError(
                f"in {cls.__name__}, value exceeds maximum length of {cls.max_length} "
                f"characters (was {len(value)})"
            )
        return super().__new__(cls, cls.disallowed.sub("_", value))


class Safe_Str__Session_Name(_Safe_Str):
    """A session name: ``a-zA-Z0-9 _ -``, at most 100 characters."""


class Safe_Str__Target_Name(_Safe_Str):
    """A target name: ``a-zA-Z0-9 _ -``, at most 100 characters."""


class Safe_Str__Data_Key(_Safe_Str):
    """The folder part of a key on the cache service: ``a-zA-Z0-9 _ - /``, at most 256."""

    max_length = 256
    disallowed = re.compile(r"[^a-zA-Z0-9_\-/]")


class Safe_Str__Data_File_Id(_Safe_Str):
    """The file part of a key on the cache service: ``a-zA-Z0-9 _ - .``, at most 128."""

    max_length = 128
    disallowed = re.compile(r"[^a-zA-Z0-9_\-.]")


class Safe_Str__File__Path(_Safe_Str):
    """A file-system path: ``a-zA-Z0-9 _ - . / \\`` and space, at most 1024, trimmed."""

    max_length = 1024
    disallowed = re.compile(r"[^a-zA-Z0-9_\-./\\ ]")
    trim_whitespace = True


class Enum__Storage_Mode(str, Enum):
    LOCAL = "local"
    MEMORY = "memory"
    CACHE_SERVICE = "cache_service"


# --- configuration ---


class Schema__Perf__Storage__Config:
    """Which backend, and its settings."""

    def __init__(
        self,
        storage_mode: Enum__Storage_Mode = Enum__Storage_Mode.LOCAL,
        cache_namespace: str = "perf-results",
        local_storage_path: str = "./perf_results",
    ) -> None:
        self.storage_mode = Enum__Storage_Mode(storage_mode)
        self.cache_namespace = str(cache_namespace)
        self.local_storage_path = Safe_Str__File__Path(local_storage_path)

    def json(self) -> Dict[str, str]:
        return {
            "storage_mode": self.storage_mode.value,
            "cache_namespace": self.cache_namespace,
            "local_storage_path": str(self.local_storage_path),
        }

    def __repr__(self) -> str:
        return f"Schema__Perf__Storage__Config({self.json()!r})"


class Perf__Storage__Config:
    """Reads the configuration from the environment with :meth:`setup`."""

    def __init__(self, config: Optional[Schema__Perf__Storage__Config] = None) -> None:
        self.config = config if config is not None else Schema__Perf__Storage__Config()

    def setup(self) -> "Perf__Storage__Config":
        """``PERF_STORAGE_MODE`` (an unknown mode means local, as in the original),
        ``PERF_CACHE_NAMESPACE``, ``PERF_LOCAL_STORAGE_PATH``; returns self."""
        mode = os.environ.get("PERF_STORAGE_MODE", Enum__Storage_Mode.LOCAL.value)
        try:
            storage_mode = Enum__Storage_Mode(mode)
        except ValueError:
            storage_mode = Enum__Storage_Mode.LOCAL
        self.config = Schema__Perf__Storage__Config(
            storage_mode=storage_mode,
            cache_namespace=os.environ.get("PERF_CACHE_NAMESPACE", "perf-results"),
            local_storage_path=os.environ.get("PERF_LOCAL_STORAGE_PATH", "./perf_results"),
        )
        return self


# --- storages ---


class Perf__Storage__Base:
    """The interface every backend implements, addressed by a (session, target) context."""

    def __init__(self, session_name: str = "", target_name: str = "") -> None:
        self.session_name = Safe_Str__Session_Name(session_name)
        self.target_name = Safe_Str__Target_Name(target_name)
        self._handle: Optional[Target] = None
        self._handle_context: Optional[Tuple[str, str, int]] = None

    def set_context(self, session_name: str, target_name: str) -> None:
        self.session_name = Safe_Str__Session_Name(session_name)
        self.target_name = Safe_Str__Target_Name(target_name)

    # Subclasses provide the store; the handle follows the context and the store.
    def _store(self) -> Store:
        raise NotImplementedError

    def _target(self) -> Target:
        store = self._store()
        context = (str(self.session_name), str(self.target_name), id(store))
        if self._handle is None or self._handle_context != context:
            self._handle = store.target(context[0], context[1])
            self._handle_context = context
        return self._handle

    def _has_context(self) -> bool:
        return bool(self.session_name) and bool(self.target_name)

    def save(self, key: str, data: Any) -> bool:
        """Saves ``data`` as JSON (``json.dumps(indent=4, default=str)``); True."""
        self._target().save(key, data, default=str)
        return True

    def save_string(self, key: str, content: str) -> bool:
        """Saves text; True."""
        self._target().save_string(key, content)
        return True

    def load(self, key: str) -> Optional[Any]:
        """The JSON at ``key``, or None."""
        if not self._has_context():
            return None
        return self._target().load(key)

    def load_string(self, key: str) -> Optional[str]:
        """The text at ``key``, or None (on every backend)."""
        if not self._has_context():
            return None
        return self._target().load_string(key)

    def exists(self, key: str) -> bool:
        if not self._has_context():
            return False
        return self._target().exists(key)

    def delete(self, key: str, data_type: Any = None) -> bool:
        """Deletes ``key``; False if it was not there. ``data_type`` (the cache service's) is
        accepted and not needed."""
        if not self._has_context():
            return False
        return self._target().delete(key)

    def list_keys(self, prefix: str = "") -> List[str]:
        """The keys of the context starting with ``prefix``, nested paths in full, sorted."""
        if not self._has_context():
            return []
        return self._target().list_keys(prefix)


class Perf__Storage__Local(Perf__Storage__Base):
    """Files under ``storage_path``: ``{storage_path}/sessions/{session}/targets/{target}/{key}``."""

    def __init__(
        self,
        storage_path: str = "./perf_results",
        session_name: str = "",
        target_name: str = "",
    ) -> None:
        super().__init__(session_name, target_name)
        self.storage_path = storage_path

    @property
    def storage_path(self) -> Safe_Str__File__Path:
        return self._storage_path

    @storage_path.setter
    def storage_path(self, value: str) -> None:
        self._storage_path = Safe_Str__File__Path(value)
        self._local_store = Store.local(str(self._storage_path))

    def _store(self) -> Store:
        return self._local_store

    def context_path(self) -> str:
        return f"{self.storage_path}/sessions/{self.session_name}/targets/{self.target_name}"

    def full_path(self, key: str) -> str:
        return f"{self.context_path()}/{key}"

    def ensure_directory(self, path: str) -> None:
        """Creates the parent folder of ``path`` if missing."""
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)


class Perf__Storage__Memory(Perf__Storage__Base):
    """A store in memory, private to this instance."""

    def __init__(self, session_name: str = "", target_name: str = "") -> None:
        super().__init__(session_name, target_name)
        self._memory_store = Store.memory()

    def _store(self) -> Store:
        return self._memory_store

    @property
    def data(self) -> Dict[str, Any]:
        """A snapshot ``{"{session}/{target}/{key}": value}`` of everything stored (JSON as
        objects, anything else as text)."""
        snapshot: Dict[str, Any] = {}
        store = self._memory_store
        for session in store.list_sessions():
            for target_name in store.list_targets(session):
                target = store.target(session, target_name)
                for key in target.list_keys():
                    head = target.head(key)
                    if head is not None and head["kind"] == "json":
                        value: Any = target.load(key)
                    else:
                        value = target.load_string(key)
                    snapshot[f"{session}/{target_name}/{key}"] = value
        return snapshot

    def context_key(self) -> str:
        return f"{self.session_name}/{self.target_name}"

    def full_key(self, key: str) -> str:
        return f"{self.context_key()}/{key}"

    def clear(self) -> None:
        """Deletes everything, in every context."""
        store = self._memory_store
        for session in store.list_sessions():
            for target_name in store.list_targets(session):
                store.target(session, target_name).delete_all()

    def clear_context(self) -> None:
        """Deletes everything in the current context (and nothing in a sibling target)."""
        if self._has_context():
            self._target().delete_all()


def _cache_store_from_env(namespace: str) -> Store:
    """The cache service the official client's environment names (an in-process one if
    ``URL__TARGET_SERVER__CACHE_SERVICE`` is unset)."""
    url = os.environ.get("URL__TARGET_SERVER__CACHE_SERVICE") or None
    key_name = os.environ.get("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME") or None
    key_value = os.environ.get("AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE") or None
    if key_value is not None:
        return Store.cache_service(
            url,
            namespace=namespace,
            api_key=key_value,
            api_key_header=key_name or "x-api-key",
        )
    return Store.cache_service(url, namespace=namespace)


class Perf__Storage__Cache_Service(Perf__Storage__Base):
    """Each (session, target) is one entry of the MGraph-AI cache service, each key one child
    data file of it (wire-compatible with the original's layout).

    ``client`` is a :class:`perfstore.Store` on a cache service; without one, the service comes
    from ``URL__TARGET_SERVER__CACHE_SERVICE`` (and ``AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_*``),
    or runs in this process when that is unset.
    """

    def __init__(
        self,
        config: Optional[Schema__Perf__Storage__Config] = None,
        client: Optional[Store] = None,
        session_name: str = DEFAULT__PERF_STORAGE__SESSION_NAME,
        target_name: str = DEFAULT__PERF_STORAGE__TARGET_NAME,
    ) -> None:
        super().__init__(session_name, target_name)
        self.config = config if config is not None else Schema__Perf__Storage__Config()
        if client is None:
            # The service keeps a namespace's `.` as `_` (its route parameter is a Safe_Str__Id).
            namespace = self.config.cache_namespace.replace(".", "_")
            client = _cache_store_from_env(namespace)
        if not isinstance(client, Store):
            raise TypeError(
                "client must be a perfstore.Store on a cache service "
                "(perfstore.Store.cache_service(url, namespace=...)), "
                f"not {type(client).__name__}"
            )
        self.client = client

    def _store(self) -> Store:
        return self.client

    def cache_key(self) -> str:
        return f"sessions/{self.session_name}/targets/{self.target_name}"

    def cache_hash(self) -> str:
        return hashlib.sha256(self.cache_key().encode("utf-8")).hexdigest()[:16]

    def parse_key(self, key: str) -> Tuple[Safe_Str__Data_Key, Safe_Str__Data_File_Id]:
        """``(data_key, data_file_id)``: the key split on its last ``/``."""
        if "/" in key:
            data_key, data_file_id = key.rsplit("/", 1)
        else:
            data_key, data_file_id = "", key
        return Safe_Str__Data_Key(data_key), Safe_Str__Data_File_Id(data_file_id)

    def delete__string(self, key: str) -> bool:
        """The original's string delete; the same as :meth:`delete`."""
        return self.delete(key)


class Perf__Storage__Factory:
    """Creates the backend ``config.storage_mode`` names."""

    def __init__(
        self,
        config: Optional[Schema__Perf__Storage__Config] = None,
        cache_client: Optional[Store] = None,
        session_name: str = DEFAULT__PERF_STORAGE__SESSION_NAME,
        target_name: str = DEFAULT__PERF_STORAGE__TARGET_NAME,
    ) -> None:
        self.config = config if config is not None else Schema__Perf__Storage__Config()
        self.cache_client = cache_client
        self.session_name = Safe_Str__Session_Name(session_name)
        self.target_name = Safe_Str__Target_Name(target_name)

    def create(self) -> Optional[Perf__Storage__Base]:
        """Local and Memory start without a context (call ``set_context``); the cache service
        gets this factory's session and target. An unknown mode gives None."""
        mode = self.config.storage_mode
        if mode == Enum__Storage_Mode.LOCAL:
            return Perf__Storage__Local(storage_path=self.config.local_storage_path)
        if mode == Enum__Storage_Mode.MEMORY:
            return Perf__Storage__Memory()
        if mode == Enum__Storage_Mode.CACHE_SERVICE:
            return Perf__Storage__Cache_Service(
                config=self.config,
                client=self.cache_client,
                session_name=self.session_name,
                target_name=self.target_name,
            )
        return None

