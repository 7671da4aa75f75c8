"""The official Python client (mgraph-ai-service-cache-client 0.33.0) in REMOTE mode, auth on.

The same test drives the reference stock app (which proves the test itself is right) and our
server. REMOTE mode is registered the documented way: from the env vars
URL__TARGET_SERVER__CACHE_SERVICE and AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME / __KEY_VALUE.
The workflow mirrors how perfstore's cache-service backend uses the service: one key_based entry
per target found by the hash of its cache_key, artifacts as child data files.
"""
from __future__ import annotations

import hashlib
import uuid

import pytest

from servers import API_KEY_NAME, API_KEY_VALUE

from mgraph_ai_service_cache_client.client.cache_client.Cache__Service__Client import Cache__Service__Client
from mgraph_ai_service_cache_client.client.cache_service.register_cache_service import register_cache_service__remote
from mgraph_ai_service_cache_client.schemas.cache.enums.Enum__Cache__Data_Type import Enum__Cache__Data_Type
from mgraph_ai_service_cache_client.schemas.cache.enums.Enum__Cache__Store__Strategy import Enum__Cache__Store__Strategy
from osbot_fast_api.services.registry.Fast_API__Service__Registry import fast_api__service__registry


@pytest.fixture(params=['reference', 'ours'])
def target(request):
    """The auth-enabled server of one side; the client is registered against it from env vars."""
    server = request.getfixturevalue(f'{request.param}_auth')
    return server


@pytest.fixture
def client(target, monkeypatch) -> Cache__Service__Client:
    monkeypatch.setenv('URL__TARGET_SERVER__CACHE_SERVICE', target.base_url)
    monkeypatch.setenv('AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_NAME', API_KEY_NAME)
    monkeypatch.setenv('AUTH__TARGET_SERVER__CACHE_SERVICE__KEY_VALUE', API_KEY_VALUE)
    fast_api__service__registry.configs__save()
    try:
        register_cache_service__remote()
        yield Cache__Service__Client()
    finally:
        fast_api__service__registry.configs__restore()


def python_hash_of_string(value: str) -> str:
    """The reference's hash of a string field (wire spec 3.1), computed independently."""
    return hashlib.sha256(value.encode('utf-8')).hexdigest()[:16]


def test_remote_mode_is_registered_from_env(client, target):
    config = fast_api__service__registry.config(Cache__Service__Client)
    assert str(config.mode.value) == 'remote'
    assert str(config.base_url) == target.base_url
    assert client.health() is True


def test_wrong_key_is_rejected(target):
    fast_api__service__registry.configs__save()
    try:
        register_cache_service__remote(base_url=target.base_url, api_key_name=API_KEY_NAME,
                                       api_key_value='not-the-key')
        assert Cache__Service__Client().health() is False
        response = Cache__Service__Client().requests().execute(method='GET', path='/info/health')
        assert response.status_code == 401
        assert response.json()['message'] == 'Invalid API key value'
    finally:
        fast_api__service__registry.configs__restore()


def test_entry_and_child_data_workflow(client):
    namespace = f'client-{uuid.uuid4().hex[:8]}'         # the auth servers are shared: own namespace
    cache_key = 'sessions/s1/targets/t1'
    body = {'cache_key': cache_key, 'created_by': 'compat', 'n': 3, 'nested': {'x': [1, 2.5, None]}}
    key_based = Enum__Cache__Store__Strategy.KEY_BASED

    # store a key-based JSON entry whose hash is that of its cache_key field
    stored = client.store().store__json__cache_key(namespace=namespace, strategy=key_based, cache_key=cache_key,
                                                   body=body, file_id='perf-entry', json_field_path='cache_key')
    assert stored is not None, 'store__json__cache_key returned None (non-200)'
    cache_id = str(stored.cache_id)
    cache_hash = str(stored.cache_hash)
    assert cache_hash == python_hash_of_string(cache_key)
    assert str(stored.namespace) == namespace
    assert list(map(str, stored.paths.data)) == [f'{namespace}/data/key-based/{cache_key}/perf-entry.json',
                                                 f'{namespace}/data/key-based/{cache_key}/perf-entry.json.config',
                                                 f'{namespace}/data/key-based/{cache_key}/perf-entry.json.metadata']

    # find by hash, retrieve by id
    found = client.retrieve().retrieve__hash__cache_hash__cache_id(cache_hash=cache_hash, namespace=namespace)
    assert found == {'namespace': namespace, 'cache_hash': cache_hash, 'cache_id': cache_id}
    by_hash = client.retrieve().retrieve__hash__cache_hash(cache_hash=cache_hash, namespace=namespace)
    assert by_hash is not None and by_hash.data == body
    by_id = client.retrieve().retrieve__cache_id(cache_id=cache_id, namespace=namespace)
    assert by_id is not None and by_id.data == body
    assert str(by_id.data_type.value) == 'json'
    assert str(by_id.metadata.cache_key) == cache_key and str(by_id.metadata.file_id) == 'perf-entry'
    assert client.retrieve().retrieve__cache_id__json(cache_id=cache_id, namespace=namespace) == body
    refs = client.retrieve().retrieve__cache_id__refs(cache_id=cache_id, namespace=namespace)
    assert refs is not None and str(refs.cache_hash) == cache_hash

    # exists
    assert client.exists().exists__cache_id(cache_id=cache_id, namespace=namespace).exists is True
    assert client.exists().exists__hash__cache_hash(cache_hash=cache_hash, namespace=namespace).exists is True
    assert client.exists().exists__hash__cache_hash(cache_hash='0123456789abcdef', namespace=namespace).exists is False

    # child data: json / string / binary, with and without a data_key
    store = client.data_store()
    metrics = {'p50_ms': 1.25, 'runs': [1, 2, 3]}
    created = store.data__store_json__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='results/run1',
                                                       data_file_id='metrics', body=metrics)
    assert created is not None and str(created.file_id) == 'metrics'
    assert list(map(str, created.data_files_created)) == [
        f'{namespace}/data/key-based/{cache_key}/perf-entry/data/results/run1/metrics.json']
    assert store.data__store_string__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='results/run1',
                                                      data_file_id='log', body='line 1\nline 2 ✓') is not None
    blob = bytes(range(256)) * 4
    assert store.data__store_binary__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='raw',
                                                      data_file_id='trace', body=blob) is not None
    assert store.data__store_string__with__id(cache_id=cache_id, namespace=namespace, data_file_id='readme',
                                              body='top level') is not None

    retrieve = client.data().retrieve()
    assert retrieve.data__json__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='results/run1',
                                                 data_file_id='metrics') == metrics
    assert retrieve.data__string__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='results/run1',
                                                   data_file_id='log') == 'line 1\nline 2 ✓'
    assert retrieve.data__binary__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='raw',
                                                   data_file_id='trace') == blob
    assert retrieve.data__string__with__id(cache_id=cache_id, namespace=namespace, data_file_id='readme') == 'top level'
    assert retrieve.data__string__with__id(cache_id=cache_id, namespace=namespace, data_file_id='absent') is None

    exists = client.data().exists()
    assert exists.data__exists__with__id_and_key(cache_id=cache_id, namespace=namespace,
                                                 data_type=Enum__Cache__Data_Type.JSON, data_key='results/run1',
                                                 data_file_id='metrics').exists is True
    assert exists.data__exists__with__id(cache_id=cache_id, namespace=namespace,
                                         data_type=Enum__Cache__Data_Type.BINARY, data_file_id='metrics').exists is False

    listing = client.data().list().data__list(cache_id=cache_id, namespace=namespace)
    assert listing is not None and int(listing.file_count) == 4
    assert sorted((str(f.data_key), str(f.data_file_id), str(f.data_type.value if hasattr(f.data_type, 'value') else f.data_type))
                  for f in listing.files) == [('', 'readme', 'string'), ('raw', 'trace', 'binary'),
                                              ('results/run1', 'log', 'string'), ('results/run1', 'metrics', 'json')]
    assert int(listing.total_size) == sum(int(f.file_size) for f in listing.files)
    keyed = client.data().list().data__list__with__key(cache_id=cache_id, namespace=namespace, data_key='results')
    assert sorted(str(f.data_file_id) for f in keyed.files) == ['log', 'metrics']

    delete = client.data().delete()
    deleted = delete.delete__data__file__with__id_and_key(cache_id=cache_id, namespace=namespace,
                                                          data_type=Enum__Cache__Data_Type.STRING,
                                                          data_key='results/run1', data_file_id='log')
    assert deleted is not None and deleted['status'] == 'success'
    assert retrieve.data__string__with__id_and_key(cache_id=cache_id, namespace=namespace, data_key='results/run1',
                                                   data_file_id='log') is None
    deleted_all = delete.delete__all__data__files(cache_id=cache_id, namespace=namespace)
    assert deleted_all['status'] == 'success' and deleted_all['deleted_count'] == 3
    assert int(client.data().list().data__list(cache_id=cache_id, namespace=namespace).file_count) == 0

    # namespaces and info through the client
    assert namespace in client.namespaces().list()
    assert cache_id in client.namespace().cache_ids(namespace=namespace)
    assert client.info().health() == {'status': 'ok'}

    # delete the entry
    removed = client.delete().delete__cache_id(cache_id=cache_id, namespace=namespace)
    assert removed['status'] == 'success' and removed['deleted_count'] == 5
    assert client.exists().exists__cache_id(cache_id=cache_id, namespace=namespace).exists is False
    assert client.retrieve().retrieve__cache_id(cache_id=cache_id, namespace=namespace) is None
    assert client.delete().delete__cache_id(cache_id=cache_id, namespace=namespace)['status'] == 'not_found'


def test_other_strategies_through_client(client):
    namespace = f'client-{uuid.uuid4().hex[:8]}'
    store = client.store()
    text = store.store__string(strategy=Enum__Cache__Store__Strategy.TEMPORAL_LATEST, namespace=namespace, body='hi there')
    assert text is not None and str(text.cache_hash) == python_hash_of_string('hi there')
    assert client.retrieve().retrieve__cache_id__string(cache_id=str(text.cache_id), namespace=namespace) == 'hi there'
    data = b'\x00\xffbinary'
    binary = store.store__binary(strategy=Enum__Cache__Store__Strategy.DIRECT, namespace=namespace, body=data)
    assert binary is not None and str(binary.cache_hash) == hashlib.sha256(data).hexdigest()[:16]
    assert client.retrieve().retrieve__cache_id__binary(cache_id=str(binary.cache_id), namespace=namespace) == data
    reference = client.retrieve().retrieve__cache_id(cache_id=str(binary.cache_id), namespace=namespace)
    assert str(reference.binary_url) == f'/{namespace}/retrieve/{binary.cache_id}/binary'
    doc = store.store__json(strategy=Enum__Cache__Store__Strategy.TEMPORAL_VERSIONED, namespace=namespace,
                            body={'name': 'Alice', 'age': 30})
    assert doc is not None and str(doc.cache_hash) == '58954ab6bb1eca61'
    assert len(doc.paths.data) == 9                      # 3 copies × (content, .config, .metadata)
    updated = client.update().update__json(cache_id=str(doc.cache_id), namespace=namespace, body={'name': 'Bob'})
    assert updated is not None
    assert client.retrieve().retrieve__cache_id__json(cache_id=str(doc.cache_id), namespace=namespace) == {'name': 'Bob'}
