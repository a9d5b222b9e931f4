"""A/B slot store and artifact policy: pure file-system and decision tests."""

import hashlib
import json

import pytest

from robo_edge.exceptions import ArtifactRejected, SyncError
from robo_edge.sync.policy import Decision, RobotProfile, decide, parse_custom
from robo_edge.sync.slots import SlotStore

T = 'policy/limits.yaml'
ROBOT = RobotProfile('rover-v2', (160, 120))


def info(release, kind='policy', **extra):
    return parse_custom({'kind': kind, 'version': f'v{release}', 'release': release,
                         'hardware': ['rover-v2'], 'compat': {}, **extra})


def source(tmp_path, text):
    path = tmp_path / f'src_{hashlib.sha256(text.encode()).hexdigest()[:8]}'
    path.write_text(text)
    return path, hashlib.sha256(text.encode()).hexdigest()


def install(store, tmp_path, text, release, now=1):
    path, sha = source(tmp_path, text)
    return store.activate(T, store.stage(T, path, sha, info(release)), now)


def test_stage_alternates_slots_and_keeps_previous(tmp_path):
    store = SlotStore(tmp_path / 'store')
    a = install(store, tmp_path, 'x: 1\n', 1)
    b = install(store, tmp_path, 'x: 2\n', 2)
    c = install(store, tmp_path, 'x: 3\n', 3)
    assert (a.slot, b.slot, c.slot) == ('a', 'b', 'a')
    pointer = store.pointer(T)
    assert pointer.previous.info['release'] == 2 and pointer.active.info['release'] == 3


def test_leftover_staging_and_half_written_slot_do_not_matter(tmp_path):
    store = SlotStore(tmp_path / 'store')
    install(store, tmp_path, 'x: 1\n', 1)
    channel = tmp_path / 'store' / 'policy__limits.yaml'
    # What a kill during staging leaves: a staging folder and a damaged inactive slot.
    (channel / 'b.staging').mkdir()
    (channel / 'b.staging' / 'payload').write_text('half')
    (channel / 'b').mkdir()
    (channel / 'b' / 'payload').write_text('torn')
    assert store.active(T).info['release'] == 1
    assert install(store, tmp_path, 'x: 2\n', 2).slot == 'b'
    assert (channel / 'b' / 'payload').read_text() == 'x: 2\n'
    assert not (channel / 'b.staging').exists()


def test_damaged_active_payload_is_detected(tmp_path):
    store = SlotStore(tmp_path / 'store')
    record = install(store, tmp_path, 'x: 1\n', 1)
    (store.slot_dir(T, record.slot) / 'payload').write_text('x: 9\n')
    with pytest.raises(SyncError, match='not what was verified'):
        store.active(T)


def test_staged_bytes_must_match_the_verified_hash(tmp_path):
    store = SlotStore(tmp_path / 'store')
    path, _ = source(tmp_path, 'x: 1\n')
    with pytest.raises(ArtifactRejected):
        store.stage(T, path, '0' * 64, info(1))
    assert store.pointer(T) is None
    assert not list((tmp_path / 'store').rglob('*.staging'))


def test_verifier_failure_leaves_nothing(tmp_path):
    def refuse(slot, artifact):
        raise ArtifactRejected('no')

    store = SlotStore(tmp_path / 'store', {'policy': refuse})
    path, sha = source(tmp_path, 'x: 1\n')
    with pytest.raises(ArtifactRejected):
        store.stage(T, path, sha, info(1))
    assert not list((tmp_path / 'store').rglob('payload'))


def test_rollback_needs_an_intact_previous_slot(tmp_path):
    store = SlotStore(tmp_path / 'store')
    install(store, tmp_path, 'x: 1\n', 1)
    with pytest.raises(SyncError, match='no previous'):
        store.rollback(T, 2)
    b = install(store, tmp_path, 'x: 2\n', 2)
    (store.slot_dir(T, 'a') / 'payload').write_text('gone')
    with pytest.raises(SyncError, match='no longer intact'):
        store.rollback(T, 3)
    assert store.active(T).sha256 == b.sha256
    doc = json.loads((tmp_path / 'store' / 'policy__limits.yaml' / 'active.json').read_text())
    assert doc['active']['info']['release'] == 2


@pytest.mark.parametrize('custom', [
    None, {}, {'kind': 'firmware', 'version': 'v', 'release': 1, 'hardware': ['x']},
    {'kind': 'map', 'version': '', 'release': 1, 'hardware': ['x']},
    {'kind': 'map', 'version': 'v', 'release': -1, 'hardware': ['x']},
    {'kind': 'map', 'version': 'v', 'release': True, 'hardware': ['x']},
    {'kind': 'map', 'version': 'v', 'release': 1, 'hardware': []},
    {'kind': 'map', 'version': 'v', 'release': 1, 'hardware': ['x'], 'compat': []},
])
def test_bad_custom_metadata_rejected(custom):
    with pytest.raises(ArtifactRejected):
        parse_custom(custom)


def test_decisions():
    assert decide(info(2), 'h2', 1, 'h1', ROBOT, 'policy').decision is Decision.INSTALL
    assert decide(info(1), 'h1', 1, 'h1', ROBOT, 'policy').decision is Decision.CURRENT
    assert decide(info(0), 'h0', 1, 'h1', ROBOT, 'policy').decision is Decision.REFUSE
    assert decide(info(1), 'hx', 1, 'h1', ROBOT, 'policy').decision is Decision.REFUSE
    assert decide(info(2), 'h2', None, None, ROBOT, 'model').decision is Decision.REFUSE
    anywhere = parse_custom({'kind': 'policy', 'version': 'v', 'release': 1,
                             'hardware': ['*']})
    assert decide(anywhere, 'h', None, None, ROBOT, 'policy').decision is Decision.INSTALL


def test_crash_before_the_pointer_rename_keeps_the_old_artifact(tmp_path, monkeypatch):
    import os

    store = SlotStore(tmp_path / 'store')
    old = install(store, tmp_path, 'x: 1\n', 1)
    path, sha = source(tmp_path, 'x: 2\n')
    slot = store.stage(T, path, sha, info(2))
    real = os.replace

    def crash(src, dst):
        if str(dst).endswith('active.json'):
            raise KeyboardInterrupt('killed between the temp write and the rename')
        return real(src, dst)

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        store.activate(T, slot, 2)
    monkeypatch.undo()
    assert SlotStore(tmp_path / 'store').active(T).sha256 == old.sha256


def test_policy_keys_name_a_node_and_a_parameter(tmp_path):
    from robo_edge.sync.artifacts import load_policy, policy_overrides

    good = tmp_path / 'good.yaml'
    good.write_text('safety_gate.crawl_speed: 0.2\nbreakers.model.max_trips: 3\n'
                    'safety_gate.stop_without_scan: true\n')
    assert policy_overrides(load_policy(good)) == {
        'safety_gate': {'crawl_speed': 0.2, 'stop_without_scan': True},
        'breakers': {'model.max_trips': 3}}
    for text in ('max_speed: 1.0\n', 'a.b: [1]\n', '- 1\n', '', 'A.b: 1\n', ': :\n'):
        bad = tmp_path / 'bad.yaml'
        bad.write_text(text)
        with pytest.raises(ArtifactRejected):
            load_policy(bad)
