"""Unit tests of the normaliser: what it hides, and that it hides nothing else."""
from normalise import IdMapper, Normalised, differences, normalise_response, strict_equal

A = '4031d6f7-7705-42bf-911d-cdf4943564c4'
B = '9eb15377-d725-46c3-8abc-4b4b29cbf582'


def test_uuids_map_consistently_with_their_shards():
    mapper = IdMapper()
    assert mapper.text(f'demo/refs/by-id/40/31/{A}.json') == 'demo/refs/by-id/<shard>/<uuid-1>.json'
    assert mapper.text(f'{B} then {A} and {A.upper()}') == '<uuid-2> then <uuid-1> and <UUID-1>'
    # two hex folders that are not this uuid's prefix stay visible
    assert mapper.text(f'demo/data/direct/99/56/{A}.json') == 'demo/data/direct/99/56/<uuid-1>.json'
    assert mapper.text('demo/data/direct/99/56') == 'demo/data/direct/<shard>'
    assert mapper.text('demo/refs/by-hash/58/95/58954ab6bb1eca61.json') == 'demo/refs/by-hash/58/95/58954ab6bb1eca61.json'


def test_temporal_folders_and_timestamps():
    mapper = IdMapper()
    assert mapper.text('ns/data/temporal-latest/2026/11/21/10/x.json') == 'ns/data/temporal-latest/<YYYY/MM/DD/HH>/x.json'
    assert mapper.text('ns/data/temporal-versioned/2026/11/21/23') == 'ns/data/temporal-versioned/<YYYY/MM/DD/HH>'
    assert mapper.text('{\n    "timestamp": 1795257197725,\n    "size": 12\n}') == '{\n    "timestamp": <int:ms>,\n    "size": 12\n}'
    body = mapper.json({'timestamp': 1, 'stored_at': 2, 'size': 3, 'request_id': B, 'stack_trace': 'Traceback…'})
    assert body == {'timestamp': '<int:ms>', 'stored_at': '<int:ms>', 'size': 3, 'request_id': '<request_id>',
                    'stack_trace': '<stack_trace>'}
    # a timestamp of the wrong type is not hidden
    assert mapper.json({'timestamp': '1'}) == {'timestamp': '1'}


def test_numbering_follows_sorted_keys_not_emission_order():
    first, second = IdMapper(), IdMapper()
    assert first.json({'b': A, 'a': B}) == second.json({'a': B, 'b': A})


def test_strict_equality_keeps_json_types_apart():
    assert not strict_equal(True, 1)
    assert not strict_equal(1, 1.0)
    assert not strict_equal({'a': [1]}, {'a': [1], 'b': None})
    assert strict_equal({'a': [1, {'b': None}]}, {'a': [1, {'b': None}]})


def test_differences_report_status_type_and_body():
    ref = normalise_response(IdMapper(), 200, 'application/json', b'{"exists":true,"id":"x"}')
    same = normalise_response(IdMapper(), 200, 'application/json', b'{"id": "x", "exists": true}')
    assert differences(ref, same) == []
    other = normalise_response(IdMapper(), 404, 'application/json; charset=utf-8', b'{"exists":1,"id":"x"}')
    found = differences(ref, other)
    assert any(reason.startswith('status') for reason in found)
    assert any(reason.startswith('content-type') for reason in found)
    assert any('$.exists' in reason for reason in found)
    assert differences(Normalised(404, None, 'empty', b''), Normalised(404, None, 'empty', b'')) == []
    assert differences(normalise_response(IdMapper(), 200, 'application/octet-stream', b'\xff\x00'),
                       normalise_response(IdMapper(), 200, 'application/octet-stream', b'\xff\x01')) == ['body bytes differ']
