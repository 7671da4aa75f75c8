"""S3 mode against moto's S3 server (127.0.0.1, dummy credentials, AWS_REGION=us-east-1).

Our server runs with `--storage s3` and AWS_ENDPOINT_URL / CACHE__SERVICE__BUCKET_NAME pointing at
moto. The reference builds its S3 client with boto3 (osbot_aws `S3().client()` ->
`boto3.Session().client('s3', …)` with no explicit endpoint), and boto3 honours AWS_ENDPOINT_URL, so
the reference runs against the same moto server and both directions of interoperation are tested.
"""
from __future__ import annotations

import gzip
import hashlib

import pytest
import requests

import servers
from conftest import require_ours
from interchange import S3Location, layout_differences, served_by_other


@pytest.fixture(scope='module')
def moto():
    with servers.start_moto() as server:
        yield server


@pytest.mark.parametrize('kind', ['reference', 'ours'])
def test_store_retrieve_child_data_list_on_s3(moto, kind):
    """Direct checks with explicit expected values; the reference run proves the expectations."""
    if kind == 'ours':
        require_ours()
    bucket = S3Location.fresh(moto)
    with bucket.start(kind) as server:
        base = server.base_url
        info = requests.get(f'{base}/server/storage/info', timeout=10).json()
        assert info.get('storage_mode') == 's3' and info.get('s3_bucket') == bucket.bucket, info
        assert requests.get(f'{base}/admin/storage/bucket-name', timeout=10).json() == {'bucket-name': bucket.bucket}

        stored = requests.post(f'{base}/s3ns/key_based/store/json/users/alice?file_id=profile',
                               json={'name': 'Alice', 'age': 30}, timeout=10)
        assert stored.status_code == 200, stored.text
        entry = stored.json()
        assert entry['cache_hash'] == '58954ab6bb1eca61' and entry['size'] == 34
        cache_id = entry['cache_id']
        assert requests.get(f'{base}/s3ns/retrieve/{cache_id}/json', timeout=10).json() == {'name': 'Alice', 'age': 30}
        assert requests.get(f'{base}/s3ns/retrieve/hash/58954ab6bb1eca61/cache-id', timeout=10).json()['cache_id'] == cache_id

        text = requests.post(f'{base}/s3ns/temporal_latest/store/string', data='s3 text ✓'.encode(),
                             headers={'Content-Type': 'text/plain'}, timeout=10).json()
        assert text['cache_hash'] == hashlib.sha256('s3 text ✓'.encode()).hexdigest()[:16]
        assert requests.get(f'{base}/s3ns/retrieve/{text["cache_id"]}/string', timeout=10).text == 's3 text ✓'

        payload = b'gzip over s3 ' * 10
        binary = requests.post(f'{base}/s3ns/direct/store/binary', data=gzip.compress(payload, mtime=0),
                               headers={'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip'},
                               timeout=10).json()
        assert binary['cache_hash'] == hashlib.sha256(payload).hexdigest()[:16]
        assert requests.get(f'{base}/s3ns/retrieve/{binary["cache_id"]}/binary', timeout=10).content == payload

        child = f'{base}/s3ns/cache/{cache_id}/data'
        assert requests.post(f'{child}/store/json/results/metrics', json={'p50': 1.5}, timeout=10).status_code == 200
        assert requests.post(f'{child}/store/string/log', data=b'log line', headers={'Content-Type': 'text/plain'},
                             timeout=10).status_code == 200
        assert requests.post(f'{child}/store/binary/raw/blob', data=bytes(range(256)),
                             headers={'Content-Type': 'application/octet-stream'}, timeout=10).status_code == 200
        assert requests.get(f'{child}/json/results/metrics', timeout=10).json() == {'p50': 1.5}
        assert requests.get(f'{child}/string/log', timeout=10).text == 'log line'
        assert requests.get(f'{child}/binary/raw/blob', timeout=10).content == bytes(range(256))
        listing = requests.get(f'{child}/list', timeout=10).json()
        assert listing['file_count'] == 3
        assert sorted((f['data_key'], f['data_file_id'], f['data_type']) for f in listing['files']) == [
            ('', 'log', 'string'), ('raw', 'blob', 'binary'), ('results', 'metrics', 'json')]
        assert sorted(requests.get(f'{base}/s3ns/file-ids', timeout=10).json()) == sorted(
            [cache_id, text['cache_id'], binary['cache_id']])
        assert requests.get(f'{base}/namespaces/list', timeout=10).json() == ['s3ns']

        deleted = requests.delete(f'{base}/s3ns/delete/{binary["cache_id"]}', timeout=10).json()
        assert deleted['status'] == 'success' and deleted['deleted_count'] == 5

    keys = bucket.keys()                       # the objects are where the reference would put them
    assert 's3ns/data/key-based/users/alice/profile.json' in keys
    assert 's3ns/refs/by-hash/58/95/58954ab6bb1eca61.json' in keys
    assert 's3ns/data/key-based/users/alice/profile/data/results/metrics.json' in keys
    assert not any(binary['cache_id'] in key for key in keys)


def test_folder_listing_is_scoped_to_the_folder(moto):
    """`/admin/storage/files/all/{path}` lists the files under the folder `path`, as the reference
    does in memory mode. (The reference on S3 lists every key that merely starts with the string
    `path`, so `files/all/ab` also returns `abc/…`; reference_s3_prefix_quirk below shows it.)"""
    require_ours()
    with S3Location.fresh(moto).start('ours') as server:
        for namespace in ('ab', 'abc'):
            assert requests.post(f'{server.base_url}/{namespace}/direct/store/json', json={'ns': namespace},
                                 timeout=10).status_code == 200
        listing = requests.get(f'{server.base_url}/admin/storage/files/all/ab', timeout=10).json()
    assert listing['file_count'] == 5 and all(path.startswith('ab/') for path in listing['files']), listing


def test_reference_s3_prefix_quirk(moto):
    with S3Location.fresh(moto).start('reference') as server:
        for namespace in ('ab', 'abc'):
            requests.post(f'{server.base_url}/{namespace}/direct/store/json', json={'ns': namespace}, timeout=10)
        listing = requests.get(f'{server.base_url}/admin/storage/files/all/ab', timeout=10).json()
    assert listing['file_count'] == 10 and any(path.startswith('abc/') for path in listing['files'])


@pytest.mark.parametrize('kind', ['reference', 'ours'])
def test_env_of_the_reference_is_enough(moto, kind):
    """The variables the reference needs for an S3-compatible endpoint (AWS_ENDPOINT_URL with
    http://, dummy credentials, region, bucket name) are enough for ours too: no AWS_ALLOW_HTTP."""
    if kind == 'ours':
        require_ours()
    bucket = S3Location.fresh(moto)
    env = servers.s3_env(moto, bucket.bucket, allow_http=False)
    start = servers.start_reference if kind == 'reference' else servers.start_ours
    try:
        server = start(storage='s3', extra_env=env, name=f'{kind}-s3-no-allow-http')
    except servers.ServerStartError as error:
        pytest.fail(f'{kind} does not start with the reference\'s S3 env: {error}', pytrace=False)
    with server:
        stored = requests.post(f'{server.base_url}/ns/direct/store/string', data=b'x',
                               headers={'Content-Type': 'text/plain'}, timeout=10)
        assert stored.status_code == 200, stored.text
    assert any(key.startswith('ns/refs/by-id/') for key in bucket.keys())


@pytest.mark.parametrize('other', ['reference', 'ours'])
def test_s3_layout_is_identical(moto, other):
    problem = layout_differences(('reference', S3Location.fresh(moto)), (other, S3Location.fresh(moto)))
    assert problem is None, problem


@pytest.mark.parametrize('writer,reader', [('reference', 'reference'), ('reference', 'ours'), ('ours', 'reference')])
def test_bucket_written_by_one_is_served_by_the_other(moto, writer, reader, summary):
    outcome = served_by_other(writer, reader, S3Location.fresh(moto))
    summary.append(f's3 interchange {writer} -> {reader}: {outcome.compared} requests compared, '
                   f'{len(outcome.problems)} differences')
    assert not outcome.problems, (f'{reader} serving a bucket written by {writer} differs from {writer}:\n'
                                  + '\n'.join(outcome.problems))
    # Unlike its local_disk backend, the reference on S3 answers every step: nothing here was
    # waived by an expectation.
    for side, errors in outcome.server_errors.items():
        assert not (side.startswith('reference') and errors), f'{side} answered 5xx on S3: {errors}'
