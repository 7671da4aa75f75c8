"""Differential test: the scenario of scenario.py against the reference and against our server.

Each server pair starts on fresh memory storage. Responses are normalised (normalise.py) and then
must match in status, content type and body. A step marked with a COMPAT.md id may differ; an id
that COMPAT.md does not list is itself a failure. The reference is also run against a second fresh
reference instance: that proves the normaliser removes all run-to-run noise, so any difference
reported against our server is real.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import servers
from conftest import compat_ids
from normalise import differences
from scenario import STEPS, Result, order_free, run_scenario

MIN_REQUESTS = 60


@dataclass
class Comparison:
    compared: int = 0
    unexpected: list = field(default_factory=list)     # (result_ref, result_ours, reasons)
    tolerated: list = field(default_factory=list)      # (compat id, step name, reasons)
    unknown_ids: list = field(default_factory=list)    # steps marked with ids COMPAT.md lacks
    marked_but_equal: list = field(default_factory=list)


def compare(reference: list[Result], ours: list[Result], known_ids: set[str] | None) -> Comparison:
    """Pair the two runs step by step. `known_ids=None` ignores COMPAT marks (reference vs itself)."""
    assert len(reference) == len(ours)
    outcome = Comparison()
    for ref, our in zip(reference, ours):
        outcome.compared += 1
        reasons = differences(ref.response, our.response, unordered=order_free(ref.step, known_ids))
        reasons += [f'header {name}: {ref.headers[name]!r} != {our.headers[name]!r}'
                    for name in ref.headers if ref.headers[name] != our.headers.get(name)]
        mark = ref.step.compat if known_ids is not None else None
        if mark is not None and mark not in known_ids:
            outcome.unknown_ids.append(f'{ref.step.name}: {mark}')
        if not reasons:
            if mark is not None:
                outcome.marked_but_equal.append(f'{ref.step.name} ({mark})')
        elif mark is not None and mark in known_ids:
            outcome.tolerated.append((mark, ref.step.name, reasons))
        else:
            outcome.unexpected.append((ref, our, reasons))
    return outcome


def render(outcome: Comparison, label: str) -> str:
    lines = [f'{label}: {len(outcome.unexpected)} unexpected difference(s) in {outcome.compared} requests']
    for ref, our, reasons in outcome.unexpected:
        lines.append(f'\n--- {ref.step.name}\n    request:   {ref.step.method} {ref.step.path}  ({ref.step.describe()})')
        lines += [f'    diff:      {reason}' for reason in reasons]
        lines.append(f'    reference: {ref.response.show()}')
        lines.append(f'    ours:      {our.response.show()}')
    for name in outcome.unknown_ids:
        lines.append(f'step marked with an id COMPAT.md does not list: {name}')
    return '\n'.join(lines)


def write_report(log_dir: Path, name: str, reference: list[Result], other: list[Result], outcome: Comparison,
                 known_ids: set[str] | None) -> Path:
    rows = []
    for ref, our in zip(reference, other):
        rows.append({'step': ref.step.name, 'request': ref.step.describe(), 'compat': ref.step.compat,
                     'reference': ref.response.show(4000), 'other': our.response.show(4000),
                     'differences': differences(ref.response, our.response, unordered=order_free(ref.step, known_ids))})
    path = log_dir / f'{name}.json'
    path.write_text(json.dumps({'compared': outcome.compared, 'steps': rows}, indent=2, ensure_ascii=False))
    return path


@pytest.fixture(scope='session')
def reference_results(reference, reference_auth) -> list[Result]:
    return run_scenario(reference, reference_auth)


def test_scenario_covers_enough_requests():
    assert len(STEPS) >= MIN_REQUESTS
    groups = {'/store/', '/retrieve/', '/retrieve/hash/', '/exists/', '/update/', '/delete/', '/data/store/',
              '/data/list', '/data/delete/all', '/data/exists/', '/data/update/', '/namespaces/list', '/file-ids',
              '/file-hashes', '/stats', '/admin/storage/', '/info/', '/server/storage/info'}
    missing = {g for g in groups if not any(g in step.path for step in STEPS)}
    assert not missing, f'scenario lacks route groups {sorted(missing)}'


def test_compat_marks_name_listed_ids():
    known = compat_ids()
    marks = {step.compat for step in STEPS if step.compat} | {step.unordered for step in STEPS if isinstance(step.unordered, str)}
    unknown = sorted(mark for mark in marks if mark not in known)
    assert not unknown, f'steps are marked with ids that {servers.REPO_ROOT / "COMPAT.md"} does not list: {unknown}'


def test_reference_against_itself(reference_results, reference_auth, log_dir, summary):
    """A second fresh reference must compare equal: the normaliser hides all run-to-run noise."""
    with servers.start_reference(name='reference-2') as second:
        again = run_scenario(second, reference_auth)
    outcome = compare(reference_results, again, known_ids=None)
    write_report(log_dir, 'differential-reference-vs-reference', reference_results, again, outcome, None)
    summary.append(f'differential reference vs reference: {outcome.compared} requests compared, '
                   f'{len(outcome.unexpected)} differences')
    assert not outcome.unexpected, render(outcome, 'reference vs reference')


def test_ours_against_reference(reference_results, ours, ours_auth, log_dir, summary):
    mine = run_scenario(ours, ours_auth)
    known = compat_ids()
    outcome = compare(reference_results, mine, known_ids=known)
    report = write_report(log_dir, 'differential-reference-vs-ours', reference_results, mine, outcome, known)
    tolerated = sorted({mark for mark, _, _ in outcome.tolerated})
    summary.append(f'differential reference vs ours: {outcome.compared} requests compared, '
                   f'{outcome.compared - len(outcome.unexpected) - len(outcome.tolerated)} equal, '
                   f'{len(outcome.tolerated)} deliberate ({", ".join(tolerated) or "none"}), '
                   f'{len(outcome.unexpected)} unexpected; full report {report}')
    for name in outcome.marked_but_equal:
        summary.append(f'  note: marked as deliberate but now equal: {name}')
    assert not outcome.unexpected and not outcome.unknown_ids, render(outcome, 'reference vs ours')
