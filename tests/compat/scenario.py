"""The differential scenario: one fixed sequence of requests, sent to a server pair (main + auth).

Steps are data. A path is a `str.format` template over values saved from earlier responses of the
same server (`save={'alice': 'cache_id'}` saves that JSON field), so each server is driven with its
own ids. `target='auth'` sends the step to the API-key-protected server of the pair, with the
credentials named by `auth`. A step whose difference is deliberate names its COMPAT.md id in
`compat`; `unordered` compares lists as multisets (see the field).
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from normalise import IdMapper, Normalised, normalise_response
from servers import API_KEY_NAME, API_KEY_VALUE, Server

NO_BODY = object()
UUID_TEXT = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
MISSING_ID = '00000000-0000-4000-8000-000000000000'   # stands in for an id a failed step did not yield
UNKNOWN_ID = '11111111-2222-4333-8444-555555555555'   # a well-formed id that is never stored
UNKNOWN_HASH = '0123456789abcdef'


@dataclass
class Step:
    name: str
    method: str
    path: str
    json: Any = NO_BODY                         # sent as JSON (application/json)
    data: bytes | str | None = None             # sent raw, with `content_type`
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    save: dict = field(default_factory=dict)    # var -> field of the JSON response, or (field, fn)
    target: str = 'main'                        # 'main' | 'auth'
    auth: str = 'key'                           # on target 'auth': 'key' | 'none' | 'wrong' | 'cookie'
    # Compare lists as multisets. True: lists sorted by random uuids. A COMPAT.md id (e.g. 'D16'
    # for child-data listings, whose order is an artefact of the reference's backend): order-free
    # only while COMPAT.md lists that id, and never when the reference is compared with itself.
    unordered: bool | str = False
    compare_headers: tuple = ()                 # response headers compared as well (lower-case)
    compat: str | None = None                   # COMPAT.md id when a difference is deliberate
    expect: Any = None                          # optional check(Normalised) -> error text or None

    def describe(self) -> str:
        body = ''
        if self.json is not NO_BODY:
            body = f' json={short_body(self.json)}'
        elif self.data is not None:
            body = f' [{self.content_type}] {short_body(self.data)}'
        extra = f' (auth server, credentials: {self.auth})' if self.target == 'auth' else ''
        return f'{self.method} {self.path}{body}{extra}'


def short_body(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '…'


@dataclass
class Result:
    step: Step
    request_path: str
    response: Normalised
    headers: dict


def get(name, path, **kw):
    return Step(name, 'GET', path, **kw)


def delete(name, path, **kw):
    return Step(name, 'DELETE', path, **kw)


def post_json(name, path, body, **kw):
    return Step(name, 'POST', path, json=body, **kw)


def post_text(name, path, text, content_type='text/plain', **kw):
    return Step(name, 'POST', path, data=text, content_type=content_type, **kw)


def post_bytes(name, path, data, content_type='application/octet-stream', **kw):
    return Step(name, 'POST', path, data=data, content_type=content_type, **kw)


ALICE = {'name': 'Alice', 'age': 30}
# The wire spec's hash vector: non-ASCII, a float needing Python's repr, a big integer, a nested list.
UNICODE_JSON = '{"n":"Jos\\u00e9","f":1.5e-7,"b":[true,null],"i":10000000000000000000000}'
BINARY = b'BINARYDATA'
GZIPPED = gzip.compress(b'hello gzip world', mtime=0)
PNG_BYTES = bytes(range(256))      # not valid UTF-8: exercises base64 fallbacks


def id_of(var):
    return {var: 'cache_id'}


def build_steps() -> list[Step]:
    s: list[Step] = []
    add = s.append

    # ── info, server, unknown routes ─────────────────────────────────────────────────────────
    add(get('health', '/info/health'))
    add(get('status', '/info/status'))
    add(get('versions', '/info/versions'))
    add(get('server info', '/info/server'))
    add(get('storage info', '/server/storage/info'))
    add(get('unknown route', '/no/such/route/here'))
    add(get('unknown single segment', '/nothing'))
    add(Step('wrong method on health', 'PUT', '/info/health'))
    add(get('namespaces before any store', '/namespaces/list'))

    # ── store JSON: every strategy, with and without cache_key / file_id / json_field_path ──
    add(post_json('json key_based key+file_id', '/demo/key_based/store/json/users/alice?file_id=profile', ALICE,
                  save={'alice': 'cache_id', 'alice_hash': 'cache_hash', 'alice_upper': ('cache_id', str.upper)}))
    add(post_json('json key_based json_field_path string', '/demo/key_based/store/json/pages/x?file_id=page&json_field_path=meta.url',
                  {'meta': {'url': 'https://x.com/a'}, 'title': 'T'}, save={'jfield': 'cache_id', 'jfield_hash': 'cache_hash'}))
    add(post_json('json json_field_path int', '/demo/key_based/store/json/nums?file_id=n42&json_field_path=n',
                  {'n': 42, 'other': True}, save=id_of('jnum')))
    add(post_json('json json_field_path bool+float', '/demo/direct/store/json/ignored?json_field_path=a.b',
                  {'a': {'b': 1.5}}, save=id_of('jfloat')))
    add(post_json('json json_field_path dict', '/demo/direct/store/json/ignored?json_field_path=a',
                  {'a': {'z': 1, 'y': [2, 3]}}, save=id_of('jdictfield')))
    add(post_json('json json_field_path list', '/demo/direct/store/json/ignored?json_field_path=a',
                  {'a': [3, {'k': 'v'}]}, save=id_of('jlistfield')))
    add(post_json('json json_field_path missing field -> 500', '/demo/key_based/store/json/bad?json_field_path=no.such', {'x': 1}))
    add(post_json('json json_field_path null field -> 500', '/demo/key_based/store/json/bad?json_field_path=x', {'x': None}))
    add(post_json('json json_field_path with .. -> 400', '/demo/key_based/store/json/bad?json_field_path=a..b', {'a': 1}))
    add(post_json('json json_field_path leading dot -> 400', '/demo/key_based/store/json/bad?json_field_path=.a', {'a': 1}))
    add(post_json('json direct', '/demo/direct/store/json', {'kind': 'direct', 'v': 1}, save=id_of('jdirect')))
    add(post_json('json direct with file_id', '/demo/direct/store/json/some/key?file_id=myid', {'kind': 'direct-myid'},
                  save=id_of('jdirect_myid')))
    add(post_json('json temporal', '/demo/temporal/store/json', {'kind': 'temporal'}, save=id_of('jtemp')))
    add(post_json('json temporal_latest', '/demo/temporal_latest/store/json', {'kind': 'latest'},
                  save={'jlatest': 'cache_id', 'jlatest_hash': 'cache_hash'}))
    add(post_json('json temporal_versioned', '/demo/temporal_versioned/store/json', {'kind': 'versioned'},
                  save={'jver': 'cache_id', 'jver_hash': 'cache_hash'}))
    add(post_json('json temporal_versioned with key+file_id', '/demo/temporal_versioned/store/json/vk?file_id=vfile',
                  {'kind': 'versioned-file'}, save=id_of('jver_file')))
    add(post_json('json empty object', '/demo/direct/store/json', {}, save={'jempty_hash': 'cache_hash'}))
    add(post_text('json unicode/float/bigint vector', '/demo/key_based/store/json/vectors?file_id=unicode', UNICODE_JSON,
                  content_type='application/json', save={'juni': 'cache_id', 'juni_hash': 'cache_hash'}))
    add(post_json('json duplicate of alice (new id, same hash)', '/demo/temporal/store/json', ALICE, save=id_of('alice_dup')))
    add(post_json('json key_based empty cache_key query only', '/demo/key_based/store/json/k?file_id=&json_field_path=',
                  {'empty': 'query values'}, save=id_of('jkey_empty_q')))

    # ── store string ────────────────────────────────────────────────────────────────────────
    add(post_text('string direct text/plain', '/demo/direct/store/string', 'hello', save={'s_direct': 'cache_id', 's_hash': 'cache_hash'}))
    add(post_text('string temporal', '/demo/temporal/store/string', 'temporal text', save=id_of('s_temp')))
    add(post_text('string temporal_latest', '/demo/temporal_latest/store/string', 'latest text', save=id_of('s_latest')))
    add(post_text('string temporal_versioned', '/demo/temporal_versioned/store/string', 'versioned text', save=id_of('s_ver')))
    add(post_text('string key_based key+file_id', '/demo/key_based/store/string/docs/readme?file_id=notes',
                  'some notes ✓', save={'s_key': 'cache_id', 's_key_hash': 'cache_hash'}))
    add(post_text('string as JSON string', '/demo/direct/store/string', '"json string"', content_type='application/json',
                  save=id_of('s_json')))
    add(post_text('string that is JSON text', '/demo/direct/store/string', '{"looks": "like json"}',
                  save={'s_jsontext': 'cache_id', 's_jsontext_hash': 'cache_hash'}))
    add(post_text('string without content type', '/demo/direct/store/string', 'no content type', content_type=None,
                  save=id_of('s_noct')))
    add(post_text('string form content type', '/demo/direct/store/string', 'a=1&b=2',
                  content_type='application/x-www-form-urlencoded', save=id_of('s_form')))

    # ── store binary ────────────────────────────────────────────────────────────────────────
    add(post_bytes('binary direct', '/demo/direct/store/binary', BINARY, save={'b_direct': 'cache_id', 'b_hash': 'cache_hash'}))
    add(post_bytes('binary temporal', '/demo/temporal/store/binary', b'temporal bytes', save=id_of('b_temp')))
    add(post_bytes('binary temporal_latest', '/demo/temporal_latest/store/binary', b'latest bytes', save=id_of('b_latest')))
    add(post_bytes('binary temporal_versioned', '/demo/temporal_versioned/store/binary', b'versioned bytes', save=id_of('b_ver')))
    add(post_bytes('binary key_based key+file_id', '/demo/key_based/store/binary/images/logo?file_id=png', PNG_BYTES,
                   save={'b_key': 'cache_id', 'b_key_hash': 'cache_hash'}))
    add(post_bytes('binary gzip', '/demo/direct/store/binary', GZIPPED, headers={'Content-Encoding': 'gzip'},
                   save={'b_gzip': 'cache_id', 'b_gzip_hash': 'cache_hash'}))

    # ── store errors ────────────────────────────────────────────────────────────────────────
    add(post_json('invalid strategy', '/demo/bogus/store/json', {'a': 1}))
    add(post_json('array for dict body', '/demo/direct/store/json', [1, 2]))
    add(post_text('invalid JSON for dict body', '/demo/direct/store/json', '{not json', content_type='application/json'))
    add(post_text('text/plain for dict body', '/demo/direct/store/json', '{"a": 1}'))
    add(Step('missing body for dict', 'POST', '/demo/direct/store/json'))
    add(post_text('empty JSON string -> INVALID_INPUT', '/demo/direct/store/string', '""', content_type='application/json'))
    add(post_text('empty text body', '/demo/direct/store/string', ''))
    add(post_text('number for string body', '/demo/direct/store/string', '123', content_type='application/json'))
    add(post_text('invalid JSON for string body', '/demo/direct/store/string', '{nope', content_type='application/json'))
    add(post_bytes('empty binary body', '/demo/direct/store/binary', b''))
    add(post_text('JSON for binary body', '/demo/direct/store/binary', '{"a": 1}', content_type='application/json'))
    add(post_text('invalid JSON for binary body', '/demo/direct/store/binary', 'xx', content_type='application/json'))

    # ── sanitisation ────────────────────────────────────────────────────────────────────────
    add(post_json('namespace sanitised', '/my.ns/direct/store/json', {'ns': 'dots'}, save=id_of('ns_dots')))
    add(post_json('file_id sanitised', '/demo/key_based/store/json/san?file_id=x.y%20z', {'f': 1}, save=id_of('san_file')))
    add(post_json('cache_key sanitised', '/demo/key_based/store/json/a%20b/c:d?file_id=k', {'k': 1}, save=id_of('san_key')))
    add(get('retrieve in sanitised namespace', '/my_ns/retrieve/{ns_dots}/json'))
    add(get('retrieve via unsanitised namespace', '/my.ns/retrieve/{ns_dots}/json'))

    # ── retrieve by id ──────────────────────────────────────────────────────────────────────
    for var, label in (('alice', 'json key_based'), ('jdirect', 'json direct'), ('jtemp', 'json temporal'),
                       ('jlatest', 'json temporal_latest'), ('jver', 'json temporal_versioned'),
                       ('s_key', 'string key_based'), ('b_key', 'binary key_based')):
        add(get(f'retrieve {label}', f'/demo/retrieve/{{{var}}}'))
    for suffix in ('json', 'string', 'binary', 'refs', 'refs/all', 'metadata', 'config'):
        add(get(f'retrieve json /{suffix}', f'/demo/retrieve/{{alice}}/{suffix}'))
        add(get(f'retrieve string /{suffix}', f'/demo/retrieve/{{s_direct}}/{suffix}'))
        add(get(f'retrieve binary /{suffix}', f'/demo/retrieve/{{b_key}}/{suffix}'))
    add(get('retrieve temporal_versioned refs', '/demo/retrieve/{jver}/refs'))
    add(get('retrieve temporal_versioned config', '/demo/retrieve/{jver}/config'))
    add(get('retrieve temporal_latest refs/all', '/demo/retrieve/{jlatest}/refs/all'))
    add(get('retrieve unicode vector /json', '/demo/retrieve/{juni}/json'))
    add(get('retrieve unicode vector /string', '/demo/retrieve/{juni}/string'))
    add(get('retrieve JSON-text string /json', '/demo/retrieve/{s_jsontext}/json'))
    add(get('retrieve JSON string /json', '/demo/retrieve/{s_json}/json'))
    add(get('retrieve string without ct', '/demo/retrieve/{s_noct}'))
    add(get('retrieve form string', '/demo/retrieve/{s_form}/string'))
    add(get('retrieve gzip binary /binary', '/demo/retrieve/{b_gzip}/binary'))
    add(get('retrieve gzip binary /metadata', '/demo/retrieve/{b_gzip}/metadata'))
    add(get('retrieve gzip binary generic', '/demo/retrieve/{b_gzip}'))
    add(get('retrieve direct binary /string', '/demo/retrieve/{b_direct}/string'))
    add(get('retrieve json_field_path entry metadata', '/demo/retrieve/{jfield}/metadata'))
    add(get('retrieve file_id-sanitised entry config', '/demo/retrieve/{san_file}/config'))
    add(get('retrieve cache_key-sanitised entry refs', '/demo/retrieve/{san_key}/refs'))
    add(get('retrieve in other namespace -> 404', '/other/retrieve/{alice}'))
    for suffix in ('', '/json', '/string', '/binary', '/refs', '/refs/all', '/metadata', '/config'):
        add(get(f'retrieve unknown id{suffix or " generic"}', f'/demo/retrieve/{UNKNOWN_ID}{suffix}'))
    add(get('retrieve non-guid id', '/demo/retrieve/nope'))
    add(get('retrieve non-guid id /json', '/demo/retrieve/not-a-guid/json'))
    add(get('retrieve upper-case guid -> 404', '/demo/retrieve/{alice_upper}'))

    # ── retrieve by hash ────────────────────────────────────────────────────────────────────
    for var, label in (('alice_hash', 'json'), ('s_hash', 'string'), ('b_hash', 'binary'), ('b_key_hash', 'non-utf8 binary')):
        for suffix in ('', '/json', '/string', '/binary', '/metadata', '/refs-hash', '/cache-id'):
            add(get(f'by hash {label}{suffix or " generic"}', f'/demo/retrieve/hash/{{{var}}}{suffix}'))
    add(get('by hash json_field_path', '/demo/retrieve/hash/{jfield_hash}/json'))
    add(get('by hash empty object', '/demo/retrieve/hash/{jempty_hash}'))
    add(get('by hash unicode vector', '/demo/retrieve/hash/{juni_hash}/refs-hash'))
    add(get('by hash JSON-text string /json', '/demo/retrieve/hash/{s_jsontext_hash}/json'))
    add(get('by hash gzip /binary', '/demo/retrieve/hash/{b_gzip_hash}/binary'))
    add(get('by hash gzip /string', '/demo/retrieve/hash/{b_gzip_hash}/string'))
    for suffix in ('', '/json', '/string', '/binary', '/metadata', '/refs-hash', '/cache-id'):
        add(get(f'by hash unknown{suffix or " generic"}', f'/demo/retrieve/hash/{UNKNOWN_HASH}{suffix}'))
    add(get('by hash upper-case -> 400', '/demo/retrieve/hash/ABCDEF0123456789'))
    add(get('by hash too short -> 400', '/demo/retrieve/hash/abc'))
    add(get('by hash non-hex -> 400', '/demo/retrieve/hash/zzzzzzzzzzzzzzzz/json'))

    # ── exists ──────────────────────────────────────────────────────────────────────────────
    add(get('exists id true', '/demo/exists/id/{alice}'))
    add(get('exists id false', f'/demo/exists/id/{UNKNOWN_ID}'))
    add(get('exists id other namespace', '/other/exists/id/{alice}'))
    add(get('exists id bad', '/demo/exists/id/xyz'))
    add(get('exists hash true', '/demo/exists/hash/{alice_hash}'))
    add(get('exists hash false', f'/demo/exists/hash/{UNKNOWN_HASH}'))
    add(get('exists hash bad', '/demo/exists/hash/XYZ'))

    # ── namespaces and listings (before updates/deletes) ───────────────────────────────────
    add(get('namespaces list', '/namespaces/list'))
    add(get('file-ids', '/demo/file-ids', unordered=True))
    add(get('file-hashes', '/demo/file-hashes'))
    add(get('stats', '/demo/stats'))
    add(get('file-ids unknown namespace', '/nobody/file-ids'))
    add(get('file-hashes sanitised namespace', '/my.ns/file-hashes'))
    add(get('stats unknown namespace', '/nobody/stats'))

    # ── child data on the key_based JSON entry ─────────────────────────────────────────────
    P = '/demo/cache/{alice}/data'
    add(post_json('child json with key', f'{P}/store/json/analysis/summary', {'score': 0.9}))
    add(post_json('child json nested key', f'{P}/store/json/analysis/deep/er/detail', {'a': [1, 2]}))
    add(post_text('child string no key (JSON string)', f'{P}/store/string/notes', '"hello world"', content_type='application/json'))
    add(post_text('child string text/plain', f'{P}/store/string/texts/plain', 'plain ✓ text'))
    add(post_bytes('child binary with key', f'{P}/store/binary/images/raw', PNG_BYTES))
    add(post_bytes('child binary no key', f'{P}/store/binary/blob', BINARY))
    add(post_json('child json without id (uuid)', f'{P}/store/json', {'auto': True}, save={'child_auto': 'file_id'}))
    add(post_text('child string without id (uuid)', f'{P}/store/string', 'auto text', save={'child_auto_s': 'file_id'}))
    add(post_bytes('child binary without id (uuid)', f'{P}/store/binary', b'auto bytes', save={'child_auto_b': 'file_id'}))
    add(post_json('child json overwrite', f'{P}/store/json/analysis/summary', {'score': 1.0, 'v': 2}))
    add(post_json('child data_file_id sanitised', f'{P}/store/json/k.e/y:z/f.x', {'s': 1}))
    add(post_json('child array body', f'{P}/store/json/arr', [1]))
    add(post_text('child empty string', f'{P}/store/string/empty', ''))
    add(post_bytes('child empty binary', f'{P}/store/binary/empty', b''))
    add(post_json('child on unknown entry', f'/demo/cache/{UNKNOWN_ID}/data/store/json/x', {'a': 1}))
    add(post_json('child bad cache id', '/demo/cache/bad-id/data/store/json/x', {'a': 1}))
    add(post_json('child bad data type', f'{P}/store/yaml/x', {'a': 1}))
    add(get('child json get', f'{P}/json/analysis/summary'))
    add(get('child json get nested', f'{P}/json/analysis/deep/er/detail'))
    add(get('child string get', f'{P}/string/notes'))
    add(get('child string get with key', f'{P}/string/texts/plain'))
    add(get('child binary get', f'{P}/binary/images/raw'))
    add(get('child binary get no key', f'{P}/binary/blob'))
    add(get('child auto json get', P + '/json/{child_auto}'))
    add(get('child auto string get', P + '/string/{child_auto_s}'))
    add(get('child auto binary get', P + '/binary/{child_auto_b}'))
    add(get('child sanitised get', f'{P}/json/k.e/y:z/f.x'))
    add(get('child json miss', f'{P}/json/nothing'))
    add(get('child json miss with key', f'{P}/json/analysis/nothing'))
    add(get('child string miss', f'{P}/string/nothing'))
    add(get('child binary miss', f'{P}/binary/images/nothing'))
    add(get('child string of json file', f'{P}/string/analysis/summary'))
    add(get('child json on unknown entry', f'/demo/cache/{UNKNOWN_ID}/data/json/x'))
    add(get('child exists json true', f'{P}/exists/json/analysis/summary'))
    add(get('child exists string true', f'{P}/exists/string/notes'))
    add(get('child exists binary false', f'{P}/exists/binary/notes'))
    add(get('child exists bad type', f'{P}/exists/yaml/notes'))
    add(get('child exists unknown entry', f'/demo/cache/{UNKNOWN_ID}/data/exists/json/x'))
    add(post_json('child update json', f'{P}/update/json/analysis/summary', {'score': 2}))
    add(post_text('child update string', f'{P}/update/string/notes', 'updated notes'))
    add(post_bytes('child update binary', f'{P}/update/binary/images/raw', b'new raw'))
    add(post_json('child update missing', f'{P}/update/json/analysis/missing', {'x': 1}))
    add(post_text('child update empty string', f'{P}/update/string/notes', ''))
    add(get('child after update json', f'{P}/json/analysis/summary'))
    add(get('child after update string', f'{P}/string/notes'))
    add(get('child after update binary', f'{P}/binary/images/raw'))
    add(get('child list', f'{P}/list', unordered='D16'))
    add(get('child list non-recursive', f'{P}/list?recursive=false', unordered='D16'))
    add(get('child list with key', f'{P}/list/analysis', unordered='D16'))
    add(get('child list with key non-recursive', f'{P}/list/analysis?recursive=false'))
    add(get('child list unknown key', f'{P}/list/none/here'))
    add(get('child list unknown entry', f'/demo/cache/{UNKNOWN_ID}/data/list'))
    add(delete('child delete string', f'{P}/delete/string/notes'))
    add(delete('child delete string again', f'{P}/delete/string/notes'))
    add(delete('child delete json with key', f'{P}/delete/json/analysis/deep/er/detail'))
    add(delete('child delete bad type', f'{P}/delete/yaml/x'))
    add(delete('child delete all with key', f'{P}/delete/all/images'))
    add(delete('child delete all with key again', f'{P}/delete/all/images'))
    add(get('child list after deletes', f'{P}/list', unordered='D16'))
    add(delete('child delete all', f'{P}/delete/all', unordered='D16'))
    add(delete('child delete all nothing left', f'{P}/delete/all'))
    add(get('child list empty', f'{P}/list'))

    # ── child data replicated into every content copy ──────────────────────────────────────
    add(post_json('child on temporal_latest', '/demo/cache/{jlatest}/data/store/json/k/one', {'copies': 2}))
    add(post_text('child on temporal_versioned', '/demo/cache/{jver}/data/store/string/k/two', 'three copies'))
    add(get('child list temporal_latest', '/demo/cache/{jlatest}/data/list', unordered='D16'))
    add(get('child list temporal_versioned', '/demo/cache/{jver}/data/list', unordered='D16'))
    add(get('child get temporal_versioned', '/demo/cache/{jver}/data/string/k/two'))
    add(delete('child delete all temporal_versioned', '/demo/cache/{jver}/data/delete/all', unordered='D16'))
    add(post_bytes('child on binary entry', '/demo/cache/{b_key}/data/store/binary/thumb', b'thumb'))
    add(get('child list binary entry', '/demo/cache/{b_key}/data/list'))
    add(post_text('child on string entry', '/demo/cache/{s_key}/data/store/string/x/y', 'on string entry'))
    add(get('child list string entry', '/demo/cache/{s_key}/data/list'))

    # ── admin storage ───────────────────────────────────────────────────────────────────────
    alice_json = 'demo/data/key-based/users/alice/profile.json'
    add(get('admin bucket name', '/admin/storage/bucket-name'))
    add(get('admin file exists', f'/admin/storage/file/exists/{alice_json}'))
    add(get('admin file exists missing', '/admin/storage/file/exists/demo/missing.json'))
    add(get('admin file bytes', f'/admin/storage/file/bytes/{alice_json}'))
    add(get('admin file bytes missing', '/admin/storage/file/bytes/demo/missing.json'))
    add(get('admin file content json', f'/admin/storage/file/content/{alice_json}'))
    add(get('admin file content config', f'/admin/storage/file/content/{alice_json}.config'))
    add(get('admin file content metadata', f'/admin/storage/file/content/{alice_json}.metadata'))
    add(get('admin file content txt', '/admin/storage/file/content/demo/data/key-based/docs/readme/notes/data/x/y.txt'))
    add(get('admin file content bin', '/admin/storage/file/content/demo/data/key-based/images/logo/png.bin'))
    add(get('admin file content missing', '/admin/storage/file/content/demo/missing.json'))
    add(get('admin file json', f'/admin/storage/file/json/{alice_json}.metadata'))
    add(get('admin file json by-hash ref', '/admin/storage/file/json/demo/refs/by-hash/58/95/58954ab6bb1eca61.json'))
    add(get('admin file json missing', '/admin/storage/file/json/demo/missing.json'))
    add(get('admin file html missing', '/admin/storage/file/html/demo/missing.json'))
    add(get('admin files in', '/admin/storage/files/in/demo/data/key-based/users/alice'))
    add(get('admin files in full paths', '/admin/storage/files/in/demo/data/key-based/users/alice?return_full_path=true'))
    add(get('admin files in recursive', '/admin/storage/files/in/demo/data/key-based?recursive=true'))
    add(get('admin files all', '/admin/storage/files/all/demo/data/key-based'))
    add(get('admin files all refs', '/admin/storage/files/all/demo/refs', unordered=True))
    add(get('admin folders', '/admin/storage/folders/demo'))
    add(get('admin folders full paths', '/admin/storage/folders/demo/data?return_full_path=true'))
    add(get('admin folders recursive', '/admin/storage/folders/demo/data/key-based?recursive=true'))
    add(delete('admin file delete', '/admin/storage/file/delete/demo/data/key-based/vectors/unicode.json.config'))
    add(delete('admin file delete missing', '/admin/storage/file/delete/demo/data/key-based/vectors/unicode.json.config'))
    add(get('config of entry whose config was deleted', '/demo/retrieve/{juni}/config'))

    # ── update ──────────────────────────────────────────────────────────────────────────────
    add(post_json('update json', '/demo/update/{jdirect}/json', {'kind': 'direct', 'v': 2, 'extra': [1]}))
    add(get('after update json', '/demo/retrieve/{jdirect}'))
    add(post_text('update string', '/demo/update/{s_direct}/string', 'hello again'))
    add(get('after update string', '/demo/retrieve/{s_direct}/string'))
    add(get('old hash after update', '/demo/retrieve/hash/{s_hash}/string'))
    add(post_bytes('update binary', '/demo/update/{b_direct}/binary', b'NEWBYTES'))
    add(get('after update binary', '/demo/retrieve/{b_direct}/binary'))
    add(post_json('update temporal_versioned (3 copies)', '/demo/update/{jver}/json', {'kind': 'versioned', 'v': 2}))
    add(post_json('update unknown id -> 500', f'/demo/update/{UNKNOWN_ID}/json', {'a': 1}))
    add(post_text('update empty string', '/demo/update/{s_direct}/string', '""', content_type='application/json'))
    add(post_bytes('update empty binary', '/demo/update/{b_direct}/binary', b''))
    add(post_json('update array body', '/demo/update/{jdirect}/json', [1]))
    add(post_json('update bad id', '/demo/update/bad/json', {'a': 1}))

    # ── key_based overwrite, then deletes ──────────────────────────────────────────────────
    add(post_json('key_based overwrite of alice', '/demo/key_based/store/json/users/alice?file_id=profile',
                  {'name': 'Alice', 'age': 31}, save=id_of('alice2')))
    add(get('old id serves new content', '/demo/retrieve/{alice}/json'))
    add(get('metadata after overwrite', '/demo/retrieve/{alice2}/metadata'))
    add(delete('delete alice2', '/demo/delete/{alice2}'))
    add(delete('delete alice (content already gone) -> partial', '/demo/delete/{alice}'))
    add(delete('delete alice again -> not_found', '/demo/delete/{alice}'))
    add(delete('delete temporal_versioned', '/demo/delete/{jver}'))
    add(delete('delete duplicate keeps hash ref', '/demo/delete/{alice_dup}'))
    add(delete('delete binary', '/demo/delete/{b_key}'))
    add(delete('delete unknown', f'/demo/delete/{UNKNOWN_ID}'))
    add(delete('delete bad id', '/demo/delete/bad'))
    add(get('exists after delete', '/demo/exists/id/{b_key}'))
    add(get('retrieve after delete', '/demo/retrieve/{b_key}'))
    add(get('by hash after delete', '/demo/retrieve/hash/{b_key_hash}'))
    add(get('child data orphaned after delete', '/admin/storage/files/all/demo/data/key-based/images/logo'))
    add(get('file-ids after deletes', '/demo/file-ids', unordered=True))
    add(get('file-hashes after deletes', '/demo/file-hashes'))
    add(get('stats after deletes', '/demo/stats'))
    add(get('namespaces at end', '/namespaces/list'))

    # ── edge cases: HTTP details, odd identifiers and bodies ───────────────────────────────
    add(get('trailing slash redirect', '/info/health/'))
    add(Step('HEAD on a GET route', 'HEAD', '/info/health'))
    add(get('GET on a store route', '/demo/direct/store/json'))
    add(Step('POST on a retrieve route', 'POST', '/demo/retrieve/{jdirect}'))
    add(get('unknown query parameters ignored', '/demo/exists/id/{jdirect}?x=1&y='))
    add(get('percent-encoded hash', '/demo/retrieve/hash/%35%38954ab6bb1eca61/cache-id'))
    add(get('upper-case strategy', '/demo/DIRECT/store/json'))
    add(post_json('upper-case strategy store', '/demo/DIRECT/store/json', {'a': 1}))
    add(post_json('content-type with charset', '/edge/direct/store/json', {'charset': True},
                  headers={'Content-Type': 'application/json; charset=utf-8'}))
    add(post_text('+json content type', '/edge/direct/store/json', '{"plus": "json"}', content_type='application/vnd.api+json'))
    add(post_text('huge float and exponent', '/edge/direct/store/json', '{"big": 1e400, "e": 1E5, "neg": -0.0, "tiny": 5e-324}',
                  content_type='application/json', save=id_of('floats')))
    add(get('retrieve floats /json', '/edge/retrieve/{floats}/json'))
    add(get('retrieve floats /string', '/edge/retrieve/{floats}/string'))
    add(post_text('duplicate keys', '/edge/direct/store/json', '{"a": 1, "a": 2}', content_type='application/json',
                  save=id_of('dupkeys')))
    add(get('retrieve duplicate keys', '/edge/retrieve/{dupkeys}/json'))
    add(post_text('non-BMP and escapes', '/edge/direct/store/json', r'{"emoji": "\ud83d\ude00 😀", "ctl": "a\u0000b\t", "k\u00e9y": 1, "Z": 0}',
                  content_type='application/json', save=id_of('unicode2')))
    add(get('retrieve non-BMP /string', '/edge/retrieve/{unicode2}/string'))
    add(get('retrieve non-BMP metadata', '/edge/retrieve/{unicode2}/metadata'))
    add(post_json('json_field_path bool', '/edge/direct/store/json/k?json_field_path=b', {'b': True}))
    add(post_json('json_field_path big float', '/edge/direct/store/json/k?json_field_path=f', {'f': 1e16}))
    add(post_json('json_field_path nested list', '/edge/direct/store/json/k?json_field_path=a.l', {'a': {'l': [{'y': 1, 'x': 2}]}}))
    add(post_json('json_field_path through a list', '/edge/direct/store/json/k?json_field_path=a.0', {'a': [1, 2]}))
    add(post_json('json_field_path empty string value', '/edge/direct/store/json/k?json_field_path=s', {'s': ''}))
    add(post_json('json_field_path zero', '/edge/direct/store/json/k?json_field_path=z', {'z': 0}))
    add(post_json('json_field_path invalid chars', '/edge/direct/store/json/k?json_field_path=a%20b', {'a b': 1}))
    add(post_json('repeated query parameter', '/edge/key_based/store/json/rep?file_id=first&file_id=second', {'r': 1}))
    add(post_json('namespace 128 chars', '/' + 'n' * 128 + '/direct/store/json', {'len': 128}))
    add(post_json('namespace 129 chars', '/' + 'n' * 129 + '/direct/store/json', {'len': 129}))
    add(post_json('namespace with unicode', '/caf%C3%A9/direct/store/json', {'u': 1}))
    add(post_json('namespace with spaces trimmed', '/%20sp%20/direct/store/json', {'s': 1}))
    add(post_json('file_id 129 chars', '/edge/key_based/store/json/long?file_id=' + 'f' * 129, {'f': 1}))
    add(post_json('cache_key a/../b (resolved by the client)', '/edge/key_based/store/json/a/../b?file_id=dots', {'d': 1}))
    add(post_json('cache_key with backslash', '/edge/key_based/store/json/a%5Cb?file_id=bs', {'d': 1}))
    add(post_json('cache_key 1025 chars', '/edge/key_based/store/json/' + 'k' * 1025 + '?file_id=long', {'d': 1}))
    add(post_bytes('invalid gzip body', '/edge/direct/store/binary', b'not gzip at all', headers={'Content-Encoding': 'gzip'}))
    add(post_json('gzip header on json store', '/edge/direct/store/json', {'g': 1}, headers={'Content-Encoding': 'identity'}))
    add(post_text('JSON string with escapes', '/edge/direct/store/string', r'"line\nbreak \u00e9"', content_type='application/json',
                  save=id_of('escaped')))
    add(get('retrieve JSON string with escapes', '/edge/retrieve/{escaped}/string'))
    add(post_text('string with only spaces', '/edge/direct/store/string', '   '))
    add(post_bytes('string latin-1 bytes', '/edge/direct/store/string', b'caf\xe9', content_type='text/plain'))
    add(get('child list recursive=0', '/demo/cache/{jlatest}/data/list?recursive=0', unordered='D16'))
    add(get('child list recursive=no', '/demo/cache/{jlatest}/data/list?recursive=no', unordered='D16'))
    add(get('child list recursive invalid', '/demo/cache/{jlatest}/data/list?recursive=maybe'))
    add(get('child exists type-safe', '/demo/cache/{jlatest}/data/exists/type-safe/one'))
    add(delete('child delete type-safe', '/demo/cache/{jlatest}/data/delete/type-safe/one'))
    add(get('child data_key with dot segments', '/demo/cache/{jlatest}/data/json/k/../k/one'))
    add(post_json('update temporal_latest (2 copies)', '/demo/update/{jlatest}/json', {'kind': 'latest', 'v': 2}))
    add(get('temporal_latest after update', '/demo/retrieve/{jlatest}/json'))
    add(get('admin files in return_full_path=yes', '/admin/storage/files/in/demo/data/key-based/docs/readme?return_full_path=yes'))
    add(get('admin folders bad bool', '/admin/storage/folders/demo?recursive=perhaps'))
    add(get('admin file bytes path traversal', '/admin/storage/file/bytes/demo/%2E%2E/%2E%2E/etc/hostname'))
    add(get('admin file json of binary file', '/admin/storage/file/json/demo/data/direct/my/id/myid.json.config'))
    add(get('admin file html of json file', '/admin/storage/file/html/demo/refs/by-hash/2c/f2/2cf24dba5fb0a30e.json'))
    add(get('admin files all root', '/admin/storage/files/all/edge', unordered=True))
    add(Step('CORS preflight without auth', 'OPTIONS', '/demo/direct/store/json',
             headers={'Origin': 'http://example.test', 'Access-Control-Request-Method': 'POST',
                      'Access-Control-Request-Headers': 'content-type'},
             compare_headers=('access-control-allow-origin', 'access-control-allow-methods',
                              'access-control-allow-headers', 'access-control-max-age',
                              'access-control-allow-credentials', 'vary')))
    add(get('simple CORS request', '/info/health', headers={'Origin': 'http://example.test'},
            compare_headers=('access-control-allow-origin', 'access-control-allow-credentials', 'vary')))
    add(get('stats at the very end', '/demo/stats'))
    add(get('namespaces at the very end', '/namespaces/list'))

    # ── inputs where the reference is lenient (after the final listings, so that a
    #    deliberate deviation here does not change the counts above) ──────────────────
    add(post_text('NaN in JSON body', '/edge/direct/store/json', '{"n": NaN, "i": Infinity}', content_type='application/json',
                  save=id_of('nan'), compat='D23'))
    add(get('retrieve NaN entry', '/edge/retrieve/{nan}/string', compat='D23'))
    add(post_text('lone surrogate in JSON body', '/edge/direct/store/json', r'{"s": "\ud800"}', content_type='application/json',
                  compat='D23'))
    add(post_json('cache_key with leading slash', '/edge/key_based/store/json//lead?file_id=ls', {'d': 1}, compat='D17'))
    add(post_json('cache_key with a .. segment', '/edge/key_based/store/json/a/%2E%2E/b?file_id=dd', {'d': 1}, compat='D17'))

    # ── auth (stock app vs our server with a key) ──────────────────────────────────────────
    add(get('auth: no key', '/info/health', target='auth', auth='none'))
    add(get('auth: wrong key', '/info/health', target='auth', auth='wrong'))
    add(get('auth: good key', '/info/health', target='auth', auth='key'))
    add(get('auth: key in cookie', '/info/health', target='auth', auth='cookie'))
    add(get('auth: wrong header beats good cookie', '/info/health', target='auth', auth='wrong+cookie'))
    add(get('auth: store route without key', '/demo/file-ids', target='auth', auth='none'))
    add(post_json('auth: store without key', '/demo/direct/store/json', {'a': 1}, target='auth', auth='none'))
    add(get('auth: unknown route without key', '/no/such/route', target='auth', auth='none'))
    add(get('auth: unknown route with key', '/no/such/route', target='auth', auth='key'))
    add(get('auth: namespaces with key', '/nobody/file-ids', target='auth', auth='key'))
    add(Step('auth: CORS preflight', 'OPTIONS', '/info/health', target='auth', auth='none',
             headers={'Origin': 'http://example.test', 'Access-Control-Request-Method': 'GET'},
             compare_headers=('access-control-allow-origin', 'access-control-allow-methods',
                              'access-control-allow-headers', 'access-control-max-age')))
    return s


STEPS = build_steps()


def order_free(step: Step, known_ids: set[str] | None) -> bool:
    """Whether this step's lists are compared as multisets (`known_ids=None`: reference vs itself)."""
    if isinstance(step.unordered, str):
        return known_ids is not None and step.unordered in known_ids
    return bool(step.unordered)


def _lookup(payload: Any, dotted: str) -> Any:
    for part in dotted.split('.'):
        if not isinstance(payload, dict) or part not in payload:
            return None
        payload = payload[part]
    return payload


class _Vars(dict):
    def __missing__(self, key: str) -> str:
        return MISSING_ID


def run_scenario(main: Server, auth: Server | None = None, steps: list[Step] = STEPS, timeout: float = 20,
                 variables: dict | None = None, mapper: IdMapper | None = None) -> list[Result]:
    """Send every step to `main` (or `auth`), return the normalised responses in order.

    `variables` (updated in place) carries saved values into and out of the run; `mapper` lets
    several runs against one server share uuid placeholders.
    """
    mapper = mapper if mapper is not None else IdMapper()
    saved = _Vars(variables or {})
    for var, value in saved.items():
        if UUID_TEXT.fullmatch(str(value)):
            mapper.name(value, var)
    results = []
    for index, step in enumerate(steps):
        mapper.set_context(f's{index}')
        server = auth if step.target == 'auth' else main
        path = step.path.format_map(saved)
        headers = dict(step.headers)
        cookies = dict(step.cookies)
        if step.target == 'auth':
            if step.auth in ('key',):
                headers[API_KEY_NAME] = API_KEY_VALUE
            if step.auth in ('wrong', 'wrong+cookie'):
                headers[API_KEY_NAME] = 'not-the-key'
            if step.auth in ('cookie', 'wrong+cookie'):
                cookies[API_KEY_NAME] = API_KEY_VALUE
        kwargs: dict[str, Any] = {'headers': headers, 'cookies': cookies, 'timeout': timeout}
        if step.json is not NO_BODY:
            kwargs['json'] = step.json
        elif step.data is not None:
            kwargs['data'] = step.data.encode('utf-8') if isinstance(step.data, str) else step.data
            if step.content_type:
                headers['Content-Type'] = step.content_type
        # requests adds no Content-Type for raw data; our explicit header (or none) is what is sent.
        try:
            # One connection per request: after a 500 uvicorn closes the connection, which would
            # make the *next* request on a kept-alive connection fail.
            response = requests.request(step.method, server.base_url + path, **kwargs)
        except requests.RequestException as error:
            # A dropped connection is a (comparable) outcome, not a harness crash.
            failure = Normalised(0, None, 'error', f'{type(error).__name__}')
            results.append(Result(step, path, failure, {name: None for name in step.compare_headers}))
            continue
        # Save first, so a saved id is named after its variable even in this very response.
        if step.save and 'json' in response.headers.get('content-type', ''):
            try:
                payload = response.json()
            except ValueError:
                payload = None
            for var, spec in step.save.items():
                field_name, transform = (spec, None) if isinstance(spec, str) else spec
                value = _lookup(payload, field_name)
                if isinstance(value, str):
                    saved[var] = transform(value) if transform else value
                    if UUID_TEXT.fullmatch(value):
                        mapper.name(value, var)
        normalised = normalise_response(mapper, response.status_code, response.headers.get('content-type'),
                                        response.content)
        kept = {name: response.headers.get(name) for name in step.compare_headers}
        results.append(Result(step, path, normalised, kept))
    if variables is not None:
        variables.update(saved)
    return results

