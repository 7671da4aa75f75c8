"""Shared by the storage-interchange tests (local disk and S3): the writes, the follow-up
requests, where the stores live, and how two runs are compared.

A `Location` is one backing store (a folder, or a bucket on moto's S3 server) that either server
can be started on; `copy()` clones it so writer and reader each get an identical store.
"""
from __future__ import annotations

import gzip
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import servers
from conftest import compat_ids, require_ours
from normalise import IdMapper, differences
from scenario import Step, delete, get, order_free, post_bytes, post_json, post_text, run_scenario

NS = 'xchg'
# Not a string prefix of NS: the reference's S3 listing matches raw key prefixes (see test_s3).
NS2 = 'other-ns'

WRITE_STEPS = [
    post_json('json key_based with json_field_path',
              f'/{NS}/key_based/store/json/sessions/s1/targets/t1?file_id=perf-entry&json_field_path=cache_key',
              {'cache_key': 'sessions/s1/targets/t1', 'v': 1, 'f': 0.1, 'u': 'é'},
              save={'e1': 'cache_id', 'e1_hash': 'cache_hash'}),
    post_text('string direct', f'/{NS}/direct/store/string', 'interchange text ✓', save={'e2': 'cache_id', 'e2_hash': 'cache_hash'}),
    post_bytes('binary temporal', f'/{NS}/temporal/store/binary', bytes(range(200)), save={'e3': 'cache_id', 'e3_hash': 'cache_hash'}),
    post_json('json temporal_latest', f'/{NS}/temporal_latest/store/json', {'kind': 'latest'},
              save={'e4': 'cache_id', 'e4_hash': 'cache_hash'}),
    post_json('json temporal_versioned', f'/{NS}/temporal_versioned/store/json', {'kind': 'versioned', 'n': [1, 2]},
              save={'e5': 'cache_id', 'e5_hash': 'cache_hash'}),
    post_bytes('binary gzip key_based', f'/{NS}/key_based/store/binary/blobs/one?file_id=gz',
               gzip.compress(b'gzip payload ' * 20, mtime=0), headers={'Content-Encoding': 'gzip'},
               save={'e6': 'cache_id', 'e6_hash': 'cache_hash'}),
    post_text('string key_based', f'/{NS}/key_based/store/string/docs/a b?file_id=readme', 'key based text',
              save={'e7': 'cache_id', 'e7_hash': 'cache_hash'}),
    post_json('json direct with file_id', f'/{NS2}/direct/store/json/k?file_id=fixed', {'other': 'namespace'},
              save={'e8': 'cache_id', 'e8_hash': 'cache_hash'}),
    post_json('duplicate content (same hash, 2 ids)', f'/{NS}/direct/store/json', {'kind': 'latest'},
              save={'e9': 'cache_id'}),
    post_json('child json', f'/{NS}/cache/{{e1}}/data/store/json/results/run1/metrics', {'p50': 1.5, 'runs': [1, 2]}),
    post_text('child string', f'/{NS}/cache/{{e1}}/data/store/string/results/run1/log', 'line 1\nline 2'),
    post_bytes('child binary', f'/{NS}/cache/{{e1}}/data/store/binary/raw/trace', bytes(range(256))),
    post_text('child string no key', f'/{NS}/cache/{{e1}}/data/store/string/readme', 'top'),
    post_text('child on temporal_versioned', f'/{NS}/cache/{{e5}}/data/store/string/k/v', 'three copies'),
    post_json('child on temporal_latest', f'/{NS}/cache/{{e4}}/data/store/json/one', {'copies': 2}),
    post_bytes('child on binary entry', f'/{NS}/cache/{{e3}}/data/store/binary/thumb', b'thumb'),
]


# The reference's local_disk backend (memory_fs Storage_FS__Local_Disk) has two gaps that answer
# HTTP 500: `file__json` rejects a JSON *string* file, so string entries cannot be read back, and
# `folder__files__all` / `folder__folders` raise NotImplementedError, so every listing fails. Steps
# that hit a gap carry an expectation instead: when the reference side answers 500, our side must
# meet the expectation (which test_expectations_hold_on_reference_memory checks against the
# reference in memory mode); otherwise the two sides are compared as usual.
def status_is(code):
    return lambda r: None if r.status == code else f'expected HTTP {code}'


def text_is(expected):
    return lambda r: None if (r.status, r.kind, r.body) == (200, 'text', expected) else f'expected 200 text {expected!r}'


def json_has(**fields):
    def check(r):
        if r.status != 200 or r.kind != 'json' or not isinstance(r.body, dict):
            return 'expected a 200 JSON object'
        wrong = {k: r.body.get(k) for k, v in fields.items() if r.body.get(k) != v}
        return f'expected {fields}, got {wrong}' if wrong else None
    return check


def json_len(expected):
    return lambda r: None if r.status == 200 and isinstance(r.body, list) and len(r.body) == expected \
        else f'expected a 200 JSON list of {expected}'


def listing(count):
    return lambda r: None if r.status == 200 and isinstance(r.body, dict) and r.body.get('file_count') == count \
        and len(r.body.get('files', [])) == count else f'expected 200 with file_count {count}'


def follow_up_steps() -> list[Step]:
    # Child-data listings are compared as multisets here: the reference's S3 backend returns them
    # in a different order from one run to the next (and its local_disk backend cannot list).
    steps: list[Step] = []
    strings = {'e2': 'interchange text ✓', 'e7': 'key based text'}
    for var in ('e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e9'):
        text = strings.get(var)
        for suffix in ('', '/json', '/string', '/binary', '/metadata', '/config', '/refs', '/refs/all'):
            expect = None
            if text is not None:
                expect = {'': json_has(data=text, data_type='string'), '/json': status_is(415),
                          '/string': text_is(text), '/binary': status_is(200)}.get(suffix)
            steps.append(get(f'{var} by id{suffix}', f'/{NS}/retrieve/{{{var}}}{suffix}', expect=expect))
        steps.append(get(f'{var} exists', f'/{NS}/exists/id/{{{var}}}'))
    for var in ('e1_hash', 'e2_hash', 'e3_hash', 'e4_hash', 'e5_hash', 'e6_hash', 'e7_hash'):
        text = strings.get(var[:2])
        for suffix in ('', '/json', '/binary', '/refs-hash', '/cache-id', '/metadata'):
            expect = None
            if text is not None:
                expect = {'': json_has(data=text, data_type='string'), '/json': status_is(415),
                          '/binary': status_is(200), '/metadata': json_has(file_type='json')}.get(suffix)
            steps.append(get(f'{var}{suffix}', f'/{NS}/retrieve/hash/{{{var}}}{suffix}', expect=expect))
        steps.append(get(f'{var} exists', f'/{NS}/exists/hash/{{{var}}}'))
    steps += [
        get('other namespace by id', f'/{NS2}/retrieve/{{e8}}'),
        get('other namespace by hash', f'/{NS2}/retrieve/hash/{{e8_hash}}/json'),
        get('child json', f'/{NS}/cache/{{e1}}/data/json/results/run1/metrics'),
        get('child string', f'/{NS}/cache/{{e1}}/data/string/results/run1/log'),
        get('child binary', f'/{NS}/cache/{{e1}}/data/binary/raw/trace'),
        get('child string no key', f'/{NS}/cache/{{e1}}/data/string/readme'),
        get('child exists', f'/{NS}/cache/{{e1}}/data/exists/json/results/run1/metrics'),
        get('child list', f'/{NS}/cache/{{e1}}/data/list', unordered=True, expect=listing(4)),
        get('child list with key', f'/{NS}/cache/{{e1}}/data/list/results', unordered=True, expect=listing(2)),
        get('child list temporal_versioned', f'/{NS}/cache/{{e5}}/data/list', unordered=True, expect=listing(3)),
        get('child list temporal_latest', f'/{NS}/cache/{{e4}}/data/list', unordered=True, expect=listing(2)),
        get('child get temporal_versioned', f'/{NS}/cache/{{e5}}/data/string/k/v'),
        get('child list binary entry', f'/{NS}/cache/{{e3}}/data/list', expect=listing(1)),
        get('file-ids', f'/{NS}/file-ids', unordered=True, expect=json_len(8)),
        get('file-hashes', f'/{NS}/file-hashes', expect=json_len(7)),
        get('namespaces', '/namespaces/list', expect=lambda r: None if r.body == [NS2, NS] else 'expected both namespaces'),
        get('stats', f'/{NS}/stats'),
        get('storage files', f'/admin/storage/files/all/{NS}', unordered=True, expect=listing(58)),
        # now write on top of the other server's files
        post_json('overwrite key_based entry', f'/{NS}/key_based/store/json/sessions/s1/targets/t1?file_id=perf-entry&json_field_path=cache_key',
                  {'cache_key': 'sessions/s1/targets/t1', 'v': 2}, save={'e1b': 'cache_id'}),
        get('old id serves new content', f'/{NS}/retrieve/{{e1}}/json'),
        get('by hash after overwrite', f'/{NS}/retrieve/hash/{{e1_hash}}/refs-hash'),
        get('metadata after overwrite', f'/{NS}/retrieve/{{e1b}}/metadata'),
        post_json('duplicate again', f'/{NS}/temporal/store/json', {'kind': 'latest'}, save={'e10': 'cache_id'}),
        get('refs-hash with three ids', f'/{NS}/retrieve/hash/{{e4_hash}}/refs-hash'),
        post_json('child store on other server entry', f'/{NS}/cache/{{e1}}/data/store/json/results/run2/metrics', {'p50': 2}),
        post_text('child update', f'/{NS}/cache/{{e1}}/data/update/string/results/run1/log', 'rewritten'),
        get('child after update', f'/{NS}/cache/{{e1}}/data/string/results/run1/log'),
        delete('child delete', f'/{NS}/cache/{{e1}}/data/delete/binary/raw/trace'),
        post_text('update string entry', f'/{NS}/update/{{e2}}/string', 'updated text'),
        get('after update', f'/{NS}/retrieve/{{e2}}/string', expect=text_is('updated text')),
        delete('delete binary entry', f'/{NS}/delete/{{e3}}'),
        delete('delete temporal_versioned', f'/{NS}/delete/{{e5}}'),
        delete('delete duplicate', f'/{NS}/delete/{{e9}}'),
        get('by hash after deleting one duplicate', f'/{NS}/retrieve/hash/{{e4_hash}}/refs-hash'),
        get('child list after changes', f'/{NS}/cache/{{e1}}/data/list', unordered=True, expect=listing(4)),
        get('file-ids after changes', f'/{NS}/file-ids', unordered=True, expect=json_len(7)),
        get('storage files after changes', f'/admin/storage/files/all/{NS}', unordered=True,
            expect=lambda r: None if r.status == 200 and r.body.get('file_count') == len(r.body.get('files', []))
            else 'expected a consistent 200 listing'),
    ]
    return steps


def compare_runs(left, right, sides: tuple[str, str]) -> list[str]:
    """Step-by-step differences; where the reference side hits a local_disk gap (HTTP 500 on a
    step with an expectation), our side is held to the expectation instead."""
    known_ids = None if sides == ('reference', 'reference') else compat_ids()
    problems = []
    for a, b in zip(left, right):
        by_side = dict(zip(sides, (a, b)))
        if a.step.expect is not None and 'ours' in by_side and by_side.get('reference') \
                and by_side['reference'].response.status == 500:
            error = a.step.expect(by_side['ours'].response)
            if error:
                problems.append(f'{a.step.name}: {a.step.describe()}\n    ours: {error}; got {by_side["ours"].response.show(500)}')
            continue
        reasons = differences(a.response, b.response, unordered=order_free(a.step, known_ids))
        if reasons:
            problems.append(f'{a.step.name}: {a.step.describe()}\n    ' + '\n    '.join(reasons)
                            + f'\n    {sides[0]} (writer): {a.response.show(500)}\n    {sides[1]} (reader): {b.response.show(500)}')
    return problems


class Location:
    """A store both servers can be started on."""

    def start(self, kind: str) -> servers.Server:
        raise NotImplementedError

    def copy(self) -> 'Location':
        raise NotImplementedError

    def files(self) -> dict[str, bytes]:
        """Every stored object: path relative to the store root -> bytes."""
        raise NotImplementedError


@dataclass
class DiskLocation(Location):
    path: Path

    def start(self, kind: str) -> servers.Server:
        if kind == 'reference':
            return servers.start_reference(storage='local_disk', path=str(self.path), name='reference-disk')
        require_ours()
        return servers.start_ours(storage='disk', path=str(self.path), name='ours-disk')

    def copy(self) -> 'DiskLocation':
        target = self.path.with_name(self.path.name + '-copy')
        shutil.copytree(self.path, target)
        return DiskLocation(target)

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.path).as_posix(): p.read_bytes() for p in sorted(self.path.rglob('*')) if p.is_file()}


@dataclass
class S3Location(Location):
    moto: servers.Server
    bucket: str

    @staticmethod
    def fresh(moto: servers.Server) -> 'S3Location':
        location = S3Location(moto, f'compat-{uuid.uuid4().hex[:12]}')
        location.client().create_bucket(Bucket=location.bucket)
        return location

    def client(self):
        import boto3
        return boto3.client('s3', endpoint_url=self.moto.base_url, region_name='us-east-1',
                            aws_access_key_id='testing', aws_secret_access_key='testing')

    def env(self) -> dict:
        return servers.s3_env(self.moto, self.bucket)

    def start(self, kind: str) -> servers.Server:
        if kind == 'reference':
            return servers.start_reference(storage='s3', extra_env=self.env(), name='reference-s3')
        require_ours()
        return servers.start_ours(storage='s3', extra_env=self.env(), name='ours-s3')

    def keys(self) -> list[str]:
        keys, token = [], None
        for _ in range(1000):                       # bounded pagination
            kwargs = {'Bucket': self.bucket, **({'ContinuationToken': token} if token else {})}
            page = self.client().list_objects_v2(**kwargs)
            keys += [item['Key'] for item in page.get('Contents', [])]
            if not page.get('IsTruncated'):
                break
            token = page['NextContinuationToken']
        return sorted(keys)

    def copy(self) -> 'S3Location':
        target = S3Location.fresh(self.moto)
        client = self.client()
        for key in self.keys():
            client.copy_object(Bucket=target.bucket, Key=key, CopySource={'Bucket': self.bucket, 'Key': key})
        return target

    def files(self) -> dict[str, bytes]:
        client = self.client()
        return {key: client.get_object(Bucket=self.bucket, Key=key)['Body'].read() for key in self.keys()}


def normalised_files(location: Location, mapper: IdMapper) -> dict[str, object]:
    """Every stored object: normalised path -> normalised text (or raw bytes if not UTF-8)."""
    files = {}
    for name, data in location.files().items():
        try:
            content: object = mapper.text(data.decode('utf-8'))
        except UnicodeDecodeError:
            content = data
        files[mapper.text(name)] = content
    return files


def write(kind: str, location: Location) -> dict:
    """Run WRITE_STEPS on a server of `kind` over `location`; return the saved ids and hashes."""
    variables: dict = {}
    with location.start(kind) as server:
        results = run_scenario(server, steps=WRITE_STEPS, variables=variables)
    failed = [f'{r.step.name}: {r.response.show(300)}' for r in results if r.response.status != 200]
    assert not failed, f'{kind} failed to write:\n' + '\n'.join(failed)
    return variables


def layout_differences(first: tuple[str, Location], second: tuple[str, Location]) -> str | None:
    """Same writes on two empty stores -> the same objects with the same (normalised) bytes."""
    (kind_a, location_a), (kind_b, location_b) = first, second
    if 'ours' in (kind_a, kind_b):
        require_ours()
    vars_a, vars_b = write(kind_a, location_a), write(kind_b, location_b)
    mapper_a, mapper_b = IdMapper(), IdMapper()
    for mapper, variables in ((mapper_a, vars_a), (mapper_b, vars_b)):
        for var, value in variables.items():
            if not var.endswith('_hash'):
                mapper.name(value, var)
    files_a, files_b = normalised_files(location_a, mapper_a), normalised_files(location_b, mapper_b)
    if sorted(files_a) != sorted(files_b):
        return (f'object sets differ\n only {kind_a}: {sorted(set(files_a) - set(files_b))}\n'
                f' only {kind_b}: {sorted(set(files_b) - set(files_a))}')
    different = [name for name in sorted(files_a) if files_a[name] != files_b[name]]
    if different:
        return '\n\n'.join(f'{name}\n--- {kind_a}\n{files_a[name]!r}\n--- {kind_b}\n{files_b[name]!r}'
                           for name in different[:8])
    return None


@dataclass
class Interchange:
    compared: int
    problems: list[str]
    server_errors: dict[str, list[str]]      # side -> steps that answered 5xx


def served_by_other(writer: str, reader: str, location: Location) -> Interchange:
    """Writer fills `location` and stops; writer (restarted) serves it, reader serves a copy."""
    if 'ours' in (writer, reader):
        require_ours()
    variables = write(writer, location)
    copy = location.copy()
    steps = follow_up_steps()
    with location.start(writer) as server:
        writer_results = run_scenario(server, steps=steps, variables=dict(variables))
    with copy.start(reader) as server:
        reader_results = run_scenario(server, steps=steps, variables=dict(variables))
    # The writer's own answers must be sane (bar the reference's local_disk gaps), or the
    # comparison proves nothing.
    broken = [r for r in writer_results if r.response.status not in (200, 415) and r.step.expect is None]
    assert not broken, f'{writer} failed to serve its own store: ' + '; '.join(
        f'{r.step.name} -> {r.response.show(200)}' for r in broken)
    errors = {side: [f'{r.step.name} -> {r.response.show(200)}' for r in results if r.response.status >= 500]
              for side, results in ((f'{writer} (writer)', writer_results), (f'{reader} (reader)', reader_results))}
    return Interchange(len(steps), compare_runs(writer_results, reader_results, (writer, reader)), errors)


def expectation_failures() -> tuple[int, list[str]]:
    """Check every step expectation against the reference in memory mode."""
    variables: dict = {}
    with servers.start_reference(name='reference-expectations') as server:
        run_scenario(server, steps=WRITE_STEPS, variables=variables)
        results = run_scenario(server, steps=follow_up_steps(), variables=variables)
    wrong = [f'{r.step.name}: {r.step.expect(r.response)}; got {r.response.show(300)}'
             for r in results if r.step.expect is not None and r.step.expect(r.response)]
    return sum(1 for r in results if r.step.expect is not None), wrong
