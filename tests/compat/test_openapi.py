"""`GET /openapi.json` and `GET /docs` of our server against the reference's (COMPAT.md D24).

- Every operation of the reference's document that we serve is in ours, with the same path
  template, method, operationId, tag and parameter names; the ones we do not serve are exactly
  D24's routes, and our server answers them 404; everything ours adds is tagged as an extension.
- Our document is valid OpenAPI 3.1 (openapi-spec-validator, which also accepts the reference's
  and rejects a broken copy of ours).
- Responses of both servers to the same requests fit the schemas our document gives them
  (jsonschema, draft 2020-12), so the document describes the wire format, not just our server.
- `/docs` needs no API key on either server; ours loads nothing from the network.
"""
from __future__ import annotations

import copy
import re
import uuid

import jsonschema
import pytest
import requests
from openapi_spec_validator import OpenAPIV31SpecValidator

import servers
from conftest import require_ours

METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace')
EXTENSIONS_TAG = 'perfstore-extensions'


def not_served(path: str) -> bool:
    """Routes of the reference that COMPAT.md D24 lists as not implemented here."""
    return ('/zip/' in path or path.startswith('/test-data/') or path in (
        '/server/create/test-fixtures', '/console', '/auth/set-cookie-form'))


def document(server: servers.Server) -> dict:
    response = requests.get(server.base_url + '/openapi.json', timeout=10)
    assert response.status_code == 200, response.text[:200]
    assert response.headers['content-type'] == 'application/json'
    return response.json()


def operations(doc: dict) -> dict:
    return {(path, method): op for path, item in doc['paths'].items()
            for method, op in item.items() if method in METHODS}


def params(op: dict, where: str) -> set:
    return {p['name'] for p in op.get('parameters', []) if p['in'] == where}


def sample_path(template: str) -> str:
    """A concrete path for a template (values every parameter accepts)."""
    values = {'namespace': 'openapi-probe', 'strategy': 'direct', 'data_type': 'json',
              'cache_id': str(uuid.UUID(int=1)), 'cache_hash': '0' * 16}
    return re.sub(r'\{(\w+)\}', lambda m: values.get(m.group(1), 'x'), template)


def is_route_not_found(response: requests.Response) -> bool:
    return response.status_code == 404 and response.text == '{"detail":"Not Found"}'


def test_every_reference_route_we_serve_is_documented_the_same(reference, ours, summary):
    require_ours()
    ref_ops, our_ops = operations(document(reference)), operations(document(ours))
    expected = {key for key in ref_ops if not not_served(key[0])}
    missing = expected - set(our_ops)
    assert not missing, f'reference operations missing from ours: {sorted(missing)}'
    for key in expected:
        ref_op, our_op = ref_ops[key], our_ops[key]
        assert our_op['operationId'] == ref_op['operationId'], key
        assert our_op['tags'] == ref_op['tags'], key
        for where in ('path', 'query'):
            assert params(our_op, where) == params(ref_op, where), (key, where)
        assert ('requestBody' in our_op) == ('requestBody' in ref_op), key
    added = set(our_ops) - set(ref_ops)
    for key in added:
        assert EXTENSIONS_TAG in our_ops[key]['tags'], f'{key} is not in the reference and not tagged'
    for key in expected:
        assert EXTENSIONS_TAG not in our_ops[key]['tags'], key
    excluded = set(ref_ops) - expected
    summary.append(f'openapi: {len(ref_ops)} reference operations, {len(expected)} served and '
                   f'documented alike, {len(excluded)} not served (D24), {len(added)} extensions')
    assert len(excluded) == 16 and len(added) == 3


def test_routes_we_do_not_document_are_not_served_and_documented_ones_are(reference, ours):
    require_ours()
    ref_ops, our_ops = operations(document(reference)), operations(document(ours))
    for path, method in ref_ops:
        if not_served(path):
            response = requests.request(method, ours.base_url + sample_path(path), timeout=10)
            assert is_route_not_found(response), (method, path, response.status_code, response.text[:200])
    for path, method in our_ops:
        if method in ('post', 'delete'):
            continue    # writes stay off the shared server: the Rust tests cover those routes
        response = requests.request(method, ours.base_url + sample_path(path), timeout=10)
        assert not is_route_not_found(response), (method, path)


def test_our_document_is_valid_openapi_3_1(reference, ours):
    require_ours()
    ours_doc = document(ours)
    assert ours_doc['openapi'].startswith('3.1.')
    errors = [e.message for e in OpenAPIV31SpecValidator(ours_doc).iter_errors()]
    assert errors == []
    # The validator accepts the reference's document and rejects a broken copy of ours.
    assert list(OpenAPIV31SpecValidator(document(reference)).iter_errors()) == []
    broken = copy.deepcopy(ours_doc)
    broken['paths']['/info/health']['get']['responses'] = {'200': {'content': {}}}   # no description
    assert list(OpenAPIV31SpecValidator(broken).iter_errors()) != []


def fits(doc: dict, path: str, method: str, status: int, body) -> None:
    """Asserts that `body` fits our document's JSON schema for that response."""
    media = doc['paths'][path][method]['responses'][str(status)]['content']['application/json']
    schema = {'$schema': 'https://json-schema.org/draft/2020-12/schema',
              'allOf': [media['schema']], 'components': doc['components']}
    jsonschema.Draft202012Validator(schema).validate(body)


@pytest.fixture(scope='module')
def fresh_pair(request):
    """A reference and our server of our own, so this test's writes touch no shared server."""
    require_ours()
    started = []
    try:
        for start in (servers.start_reference, servers.start_ours):
            started.append(start(name=f'openapi-{start.__name__}'))
    except servers.ServerStartError as error:
        for server in started:
            server.stop()
        pytest.fail(str(error), pytrace=False)
    yield started
    for server in started:
        server.stop()


def test_both_servers_answers_fit_our_schemas(fresh_pair, ours, summary):
    doc = document(ours)
    checked = 0
    for server in fresh_pair:
        base = server.base_url

        def call(method: str, template: str, path: str, status: int = 200, **kwargs):
            nonlocal checked
            response = requests.request(method, base + path, timeout=10, **kwargs)
            assert response.status_code == status, (server.name, method, path, response.text[:300])
            fits(doc, template, method, status, response.json())
            checked += 1
            return response.json()

        stored = call('post', '/{namespace}/{strategy}/store/json', '/oa/temporal/store/json', json={'a': 1})
        cid, chash = stored['cache_id'], stored['cache_hash']
        call('post', '/{namespace}/{strategy}/store/string/{cache_key}', '/oa/key_based/store/string/k/s?file_id=f',
             data='text', headers={'content-type': 'text/plain'})
        binary = call('post', '/{namespace}/{strategy}/store/binary', '/oa/direct/store/binary', data=b'\x00\x01',
                      headers={'content-type': 'application/octet-stream'})
        for template, path in [
            ('/{namespace}/retrieve/{cache_id}', f'/oa/retrieve/{cid}'),
            ('/{namespace}/retrieve/{cache_id}', f'/oa/retrieve/{binary["cache_id"]}'),
            ('/{namespace}/retrieve/{cache_id}/config', f'/oa/retrieve/{cid}/config'),
            ('/{namespace}/retrieve/{cache_id}/metadata', f'/oa/retrieve/{cid}/metadata'),
            ('/{namespace}/retrieve/{cache_id}/refs', f'/oa/retrieve/{cid}/refs'),
            ('/{namespace}/retrieve/hash/{cache_hash}', f'/oa/retrieve/hash/{chash}'),
            ('/{namespace}/retrieve/hash/{cache_hash}/metadata', f'/oa/retrieve/hash/{chash}/metadata'),
            ('/{namespace}/retrieve/hash/{cache_hash}/refs-hash', f'/oa/retrieve/hash/{chash}/refs-hash'),
            ('/{namespace}/retrieve/hash/{cache_hash}/cache-id', f'/oa/retrieve/hash/{chash}/cache-id'),
            ('/{namespace}/exists/id/{cache_id}', f'/oa/exists/id/{cid}'),
            ('/{namespace}/exists/hash/{cache_hash}', f'/oa/exists/hash/{chash}'),
            ('/{namespace}/stats', '/oa/stats'),
            ('/server/storage/info', '/server/storage/info'),
            ('/info/health', '/info/health'),
            ('/info/status', '/info/status'),
            ('/info/server', '/info/server'),
            ('/admin/storage/bucket-name', '/admin/storage/bucket-name'),
            ('/admin/storage/file/exists/{path}', '/admin/storage/file/exists/oa/nothing.json'),
            ('/admin/storage/files/all/{path}', '/admin/storage/files/all/oa'),
        ]:
            call('get', template, path)
        data = f'/oa/cache/{cid}/data'
        call('post', '/{namespace}/cache/{cache_id}/data/store/json/{data_key}/{data_file_id}',
             f'{data}/store/json/k/f1', json={'x': 1})
        call('post', '/{namespace}/cache/{cache_id}/data/update/json/{data_key}/{data_file_id}',
             f'{data}/update/json/k/f1', json={'x': 2})
        call('get', '/{namespace}/cache/{cache_id}/data/exists/{data_type}/{data_key}/{data_file_id}',
             f'{data}/exists/json/k/f1')
        call('get', '/{namespace}/cache/{cache_id}/data/list', f'{data}/list')
        call('delete', '/{namespace}/cache/{cache_id}/data/delete/{data_type}/{data_key}/{data_file_id}',
             f'{data}/delete/json/k/f1')
        call('delete', '/{namespace}/cache/{cache_id}/data/delete/all', f'{data}/delete/all')
        call('post', '/{namespace}/update/{cache_id}/json', f'/oa/update/{cid}/json', json={'b': 2})
        # Error bodies.
        missing = str(uuid.UUID(int=2))
        call('get', '/{namespace}/retrieve/{cache_id}', f'/oa/retrieve/{missing}', status=404)
        call('get', '/{namespace}/retrieve/{cache_id}', '/oa/retrieve/not!an!id', status=400)
        call('post', '/{namespace}/{strategy}/store/string', '/oa/temporal/store/string', status=400,
             data='', headers={'content-type': 'text/plain'})
        call('delete', '/{namespace}/delete/{cache_id}', f'/oa/delete/{missing}')
        call('delete', '/{namespace}/delete/{cache_id}', f'/oa/delete/{cid}')
    summary.append(f'openapi: {checked} responses of both servers fit our documented schemas')


def test_docs_need_no_api_key_and_ours_load_nothing_from_the_network(reference_auth, ours_auth):
    require_ours()
    for server in (reference_auth, ours_auth):
        for path in ('/docs', '/openapi.json'):
            response = requests.get(server.base_url + path, timeout=10)
            assert response.status_code == 200, (server.name, path, response.text[:200])
        assert requests.get(server.base_url + '/info/health', timeout=10).status_code == 401
    page = requests.get(ours_auth.base_url + '/docs', timeout=10)
    assert page.headers['content-type'] == 'text/html; charset=utf-8'
    files = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert len(files) == 5 and 'http' not in page.text, page.text
    kinds = {'.css': 'text/css', '.js': 'text/javascript', '.png': 'image/png'}
    for file in files:
        assert file.startswith('/docs/'), file
        response = requests.get(ours_auth.base_url + file, timeout=10)
        assert response.status_code == 200, file
        expected = next(kind for ext, kind in kinds.items() if file.endswith(ext))
        assert response.headers['content-type'].startswith(expected), (file, response.headers['content-type'])
    initializer = requests.get(ours_auth.base_url + '/docs/swagger-initializer.js', timeout=10).text
    assert '"/openapi.json"' in initializer and 'https://' not in initializer
