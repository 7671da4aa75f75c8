"""The exceptions perfstore raises, all under :class:`PerfstoreError`.

Each also derives from the built-in exception a Python caller would expect, so
``except ValueError`` catches a bad name and ``except OSError`` a failing disk.
A *missing* artifact is never an error: loads return ``None`` and ``exists`` /
``delete`` return ``False``.
"""


class PerfstoreError(Exception):
    """Base of every perfstore error; the message is the library's."""


class InvalidName(PerfstoreError, ValueError):
    """A session name, target name, key or prefix was refused (the message names the bad character)."""


class NotFound(PerfstoreError, LookupError):
    """Something that must exist does not (a session to diff, a baseline)."""


class ConfigError(PerfstoreError, ValueError):
    """The configuration is invalid (an unknown mode, a bad namespace, half an API key)."""


class DecodeError(PerfstoreError, ValueError):
    """An artifact cannot be read as asked: ``load`` of a non-JSON artifact, ``load_string`` of non-UTF-8 bytes."""


class StorageError(PerfstoreError, OSError):
    """The backend failed: disk, network, the cache service, a damaged or conflicting artifact."""


__all__ = [
    "PerfstoreError",
    "InvalidName",
    "NotFound",
    "ConfigError",
    "DecodeError",
    "StorageError",
]
