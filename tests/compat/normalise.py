"""Normalise HTTP responses so that two servers given the same requests can be compared.

What legitimately differs between two runs (even of the same server) is replaced by placeholders:
- uuids (cache ids, generated data_file_ids) -> `<uuid-N>`, numbered in order of first appearance
  per server, so the same id always maps to the same placeholder within one run; the two-level
  shard folders derived from a uuid (`ab/cd/abcd…`) become `<shard>/`;
- `timestamp`, `stored_at`, `server_boot_time` integers -> `<int:ms>`;
- `request_id`, `server_instance_id` -> fixed text;
- `stack_trace` strings (Python tracebacks) -> fixed text;
- temporal date folders `temporal[-latest|-versioned]/YYYY/MM/DD/HH` -> `…/<YYYY/MM/DD/HH>`.
Everything else must be equal: status, content type and body (strictly typed JSON equality, or
bytes after the same textual substitutions).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

UUID_RE = re.compile(r'(?:([0-9a-fA-F]{2})/([0-9a-fA-F]{2})/)?'
                     r'\b([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b')
# Date folders of the temporal strategies (`data/temporal/…`, `data/temporal-latest/…`,
# `data/temporal-versioned/…`), with or without a following path segment.
TEMPORAL_RE = re.compile(r'(temporal(?:-latest|-versioned)?)/\d{4}/\d{2}/\d{2}/\d{2}(?![0-9])')
# Shard folders of a uuid-named file, named without the file (`.config` file_paths, data folders).
UUID_SHARD_FOLDER_RE = re.compile(r'((?:data/direct|refs/by-id)/)[0-9a-f]{2}/[0-9a-f]{2}(?![0-9A-Za-z_./-])')
TEXT_TIMESTAMP_RE = re.compile(r'("(?:timestamp|stored_at|server_boot_time)"\s*:\s*)\d+')

TIMESTAMP_KEYS = frozenset({'timestamp', 'stored_at', 'server_boot_time'})
OPAQUE_KEYS = frozenset({'request_id', 'server_instance_id', 'stack_trace'})


class IdMapper:
    """Maps each distinct uuid seen in one server's responses to a stable placeholder.

    A uuid gets a *name* that does not depend on how many ids came before it, so one missing or
    extra id on one side does not shift every later placeholder: ids saved by a scenario step are
    named after their variable (`name()`), other new ids after the step where they first appear
    (`context`, e.g. `<uuid@s57.1>`), or numbered when there is no context.
    """

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self.context: str | None = None
        self._in_context = 0

    def set_context(self, context: str | None) -> None:
        self.context, self._in_context = context, 0

    def name(self, uuid: str, label: str) -> None:
        """Call this uuid `<label>` from now on (first name wins)."""
        self._ids.setdefault(uuid.lower(), label)

    def placeholder(self, uuid: str) -> str:
        key = uuid.lower()
        if key not in self._ids:
            if self.context is None:
                self._ids[key] = f'uuid-{len(self._ids) + 1}'
            else:
                self._in_context += 1
                self._ids[key] = f'uuid@{self.context}.{self._in_context}'
        name = self._ids[key]
        return f'<{name.upper() if uuid != key else name}>'

    def text(self, value: str) -> str:
        """Apply every textual substitution to one string."""
        def replace(match: re.Match) -> str:
            shard_a, shard_b, uuid = match.group(1), match.group(2), match.group(3)
            placeholder = self.placeholder(uuid)
            if shard_a is None:
                return placeholder
            if (shard_a + shard_b).lower() == uuid[:4].lower():
                return f'<shard>/{placeholder}'
            return f'{shard_a}/{shard_b}/{placeholder}'
        value = TEMPORAL_RE.sub(r'\1/<YYYY/MM/DD/HH>', value)
        value = TEXT_TIMESTAMP_RE.sub(r'\1<int:ms>', value)
        value = UUID_RE.sub(replace, value)
        return UUID_SHARD_FOLDER_RE.sub(r'\1<shard>', value)

    def json(self, value: Any) -> Any:
        """Normalise a parsed JSON value; dict keys are visited sorted so numbering is stable."""
        if isinstance(value, dict):
            result = {}
            for key in sorted(value):
                item = value[key]
                if key in TIMESTAMP_KEYS and type(item) is int:
                    result[self.text(key)] = '<int:ms>'
                elif key in OPAQUE_KEYS and isinstance(item, str):
                    result[self.text(key)] = f'<{key}>'
                else:
                    result[self.text(key)] = self.json(item)
            return result
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


@dataclass
class Normalised:
    """One response reduced to what must be equal between servers."""
    status: int
    content_type: str | None
    kind: str                      # 'json' | 'text' | 'bytes' | 'empty' | 'error' (no HTTP response)
    body: Any

    def show(self, limit: int = 700) -> str:
        if self.kind == 'json':
            body = json.dumps(self.body, sort_keys=True, ensure_ascii=False)
        elif self.kind == 'text':
            body = repr(self.body)
        elif self.kind == 'bytes':
            body = repr(bytes(self.body))
        elif self.kind == 'error':
            body = f'(no response: {self.body})'
        else:
            body = '(empty body)'
        if len(body) > limit:
            body = body[:limit] + f'… ({len(body)} chars)'
        return f'{self.status} [{self.content_type}] {body}'


def sort_lists(value: Any) -> Any:
    """Sort every list (recursively) by its canonical JSON text, for order-free comparisons."""
    if isinstance(value, dict):
        return {key: sort_lists(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [sort_lists(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def normalise_response(mapper: IdMapper, status: int, content_type: str | None, body: bytes) -> Normalised:
    if not body:
        return Normalised(status, content_type, 'empty', b'')
    if content_type and 'json' in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        else:
            normalised = mapper.json(parsed)
            return Normalised(status, content_type, 'json', normalised)
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError:
        return Normalised(status, content_type, 'bytes', body)
    return Normalised(status, content_type, 'text', mapper.text(text))


def strict_equal(left: Any, right: Any) -> bool:
    """JSON equality that, unlike Python's ==, keeps true != 1 and 1 != 1.0."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(strict_equal(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(strict_equal(a, b) for a, b in zip(left, right))
    return left == right


def differences(reference: Normalised, ours: Normalised, unordered: bool = False) -> list[str]:
    """Human-readable reasons why two normalised responses differ (empty when they match).
    `unordered` compares every JSON list as a multiset."""
    if unordered and reference.kind == ours.kind == 'json':
        reference = Normalised(reference.status, reference.content_type, 'json', sort_lists(reference.body))
        ours = Normalised(ours.status, ours.content_type, 'json', sort_lists(ours.body))
    reasons = []
    if reference.status != ours.status:
        reasons.append(f'status {reference.status} != {ours.status}')
    if reference.content_type != ours.content_type:
        reasons.append(f'content-type {reference.content_type!r} != {ours.content_type!r}')
    if reference.kind != ours.kind:
        reasons.append(f'body kind {reference.kind} != {ours.kind}')
    elif not strict_equal(reference.body, ours.body):
        if reference.kind == 'json':
            reasons.extend(json_diff(reference.body, ours.body))
        else:
            reasons.append('body bytes differ')
    return reasons


def json_diff(left: Any, right: Any, path: str = '$', limit: int = 12) -> list[str]:
    """Where two JSON values differ, as `path: reference != ours` lines (at most `limit`)."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if type(a) is not type(b):
            found.append(f'{where}: {short(a)} != {short(b)}')
        elif isinstance(a, dict):
            for key in sorted(set(a) | set(b)):
                if key not in b:
                    found.append(f'{where}.{key}: missing in ours (reference {short(a[key])})')
                elif key not in a:
                    found.append(f'{where}.{key}: extra in ours ({short(b[key])})')
                else:
                    walk(a[key], b[key], f'{where}.{key}')
        elif isinstance(a, list):
            if len(a) != len(b):
                found.append(f'{where}: list length {len(a)} != {len(b)}')
            for index, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f'{where}[{index}]')
        elif a != b:
            found.append(f'{where}: {short(a)} != {short(b)}')

    walk(left, right, path)
    return found


def short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + '…'
