"""Publish with the TUF Metadata API, fetch with ngclient, activate in A/B slots, refuse attacks.

Every bad-input test first installs a good artifact, then asserts that the active artifact is
byte-for-byte unchanged after the attack.
"""

import datetime as dt
import errno
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import tuf.ngclient._internal.trusted_metadata_set as trusted_set
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from sync_fixtures import (
    MAP,
    MODEL,
    POLICY,
    copy_metadata,
    custom,
    make_cloud,
    make_robot,
    map_file,
    now,
    policy_file,
)
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer

from robo_edge.sync import slots
from robo_edge.sync.client import Outcome
from robo_edge.sync.repository import Expiry, Repository
from robo_edge.sync.server import RepoHandler, RepoServer, start_in_thread


@pytest.fixture
def cloud(tmp_path):
    cloud = make_cloud(tmp_path)
    yield cloud
    cloud.close()


@pytest.fixture
def installed(tmp_path, cloud):
    """A robot with policy release 1 active."""
    cloud.repo.add_target(policy_file(tmp_path / 'p1.yaml', 0.5), POLICY, custom('policy', 1),
                          now())
    agent = make_robot(tmp_path, cloud)
    events = agent.poll(1, idle=True)
    assert [e.action for e in events] == ['staged', 'activated']
    return agent


@contextmanager
def serving(cloud, handler):
    """Another server over the same repository folder, with a fault-injecting handler."""
    server = RepoServer(('127.0.0.1', 0), cloud.repo.dir, None, handler)
    start_in_thread(server)
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def active_bytes(agent) -> bytes:
    return (agent.store.active_path(POLICY) / 'payload').read_bytes()


def publish_policy_2(tmp_path, cloud, **overrides):
    doc = {**custom('policy', 2), **overrides}
    return cloud.repo.add_target(policy_file(tmp_path / 'p2.yaml', 0.9), POLICY, doc, now())


def actions(events):
    return [e.action for e in events]


def test_publish_download_activate_every_kind(tmp_path, cloud):
    from perception_fixtures import threshold_model

    cloud.repo.add_target(policy_file(tmp_path / 'p.yaml', 0.5), POLICY, custom('policy', 1),
                          now())
    cloud.repo.add_target(threshold_model(tmp_path / 'm.onnx'), MODEL, custom('model', 1), now())
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    agent = make_robot(tmp_path, cloud)
    events = agent.poll(10, idle=True)
    assert actions(events).count('activated') == 3, events
    assert (agent.store.active_path(MAP) / 'map' / 'map.yaml').is_file()
    assert agent.store.active(MODEL).info['version'] == 'model-1'
    # Nothing new: nothing happens.
    assert agent.poll(11, idle=True) == []


def test_new_release_replaces_and_keeps_previous_slot(tmp_path, cloud, installed):
    publish_policy_2(tmp_path, cloud)
    assert actions(installed.poll(2, idle=True)) == ['staged', 'activated']
    pointer = installed.store.pointer(POLICY)
    assert pointer.active.info['release'] == 2 and pointer.previous.info['release'] == 1
    assert pointer.active.slot != pointer.previous.slot
    event = installed.rollback(POLICY, 3, 'test')
    assert event.action == 'rolled_back'
    assert installed.store.active(POLICY).info['release'] == 1
    # The rolled-back candidate is never installed again.
    assert installed.poll(4, idle=True) == []


def test_tampered_artifact_bytes_refused(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)
    stored = cloud.stored(POLICY)
    data = bytearray(stored.read_bytes())
    data[0] ^= 0xFF
    stored.write_bytes(bytes(data))
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'LengthOrHashMismatch' in events[0].detail
    assert active_bytes(installed) == before


def test_unknown_signing_key_refused(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)
    # An attacker re-signs targets with a key the root does not list; snapshot and timestamp
    # stay properly signed (a stolen snapshot/timestamp key alone must not suffice).
    targets = cloud.repo.load('targets')
    targets.signed.version += 1
    targets.signatures.clear()
    targets.sign(CryptoSigner(Ed25519PrivateKey.generate()))
    path = cloud.repo.metadata_dir / f'{targets.signed.version}.targets.json'
    path.write_bytes(targets.to_bytes(JSONSerializer()))
    cloud.repo._sign_snapshot_and_timestamp(now())
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'UnsignedMetadata' in events[0].detail
    assert active_bytes(installed) == before


def test_timestamp_signed_by_unknown_key_refused(tmp_path, cloud, installed):
    before = active_bytes(installed)
    timestamp = cloud.repo.load('timestamp')
    timestamp.signed.version += 1
    timestamp.signatures.clear()
    timestamp.sign(CryptoSigner(Ed25519PrivateKey.generate()))
    (cloud.repo.metadata_dir / 'timestamp.json').write_bytes(timestamp.to_bytes())
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused']
    assert active_bytes(installed) == before


def test_expired_metadata_refused(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)
    cloud.repo.refresh_timestamp(now() - dt.timedelta(days=3))  # expired two days ago
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'Expired' in events[0].detail
    assert active_bytes(installed) == before


def test_older_metadata_version_refused(tmp_path, cloud, installed):
    """Rollback attack: the server goes back to metadata older than what the robot trusts."""
    before = active_bytes(installed)
    old = copy_metadata(cloud, tmp_path / 'old_metadata')
    publish_policy_2(tmp_path, cloud, release=1, version='bad')  # would be refused anyway
    publish_policy_2(tmp_path, cloud, release=3)
    assert actions(installed.poll(2, idle=True)) == ['staged', 'activated']
    newest = active_bytes(installed)
    assert newest != before
    (cloud.repo.metadata_dir / 'timestamp.json').write_bytes((old / 'timestamp.json')
                                                            .read_bytes())
    events = installed.poll(3, idle=True)
    assert actions(events) == ['refused'] and 'BadVersionNumber' in events[0].detail
    assert active_bytes(installed) == newest


def test_frozen_timestamp_refused_once_expired_and_reported_stale(tmp_path, cloud, installed,
                                                                   monkeypatch):
    """The server keeps serving the same timestamp: fine until it expires, then refused."""
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)
    frozen = cloud.repo.metadata_dir / 'timestamp.json'
    old = copy_metadata(cloud, tmp_path / 'frozen')
    later = now() + dt.timedelta(days=2)

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    shim = type('shim', (), {'datetime': Later, 'timezone': dt.timezone})
    monkeypatch.setattr(trusted_set, 'datetime', shim)
    frozen.write_bytes((old / 'timestamp.json').read_bytes())
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'Expired' in events[0].detail
    assert installed.client.stale(later)
    assert not installed.client.stale(now())
    assert active_bytes(installed) == before


def test_lower_release_counter_refused(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud, release=0)
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'downgrade' in events[0].detail
    assert active_bytes(installed) == before


def test_other_hardware_refused(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud, hardware=['rover-v1'])
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'hardware' in events[0].detail
    assert active_bytes(installed) == before


def test_incompatible_model_input_size_refused(tmp_path, cloud):
    from perception_fixtures import threshold_model

    cloud.repo.add_target(threshold_model(tmp_path / 'm.onnx', height=60, width=80), MODEL,
                          custom('model', 1, input_size=[80, 60]), now())
    agent = make_robot(tmp_path, cloud)
    events = agent.poll(1, idle=True)
    assert actions(events) == ['refused'] and 'input size' in events[0].detail
    assert agent.store.active(MODEL) is None


def test_model_that_lies_about_its_size_refused_at_staging(tmp_path, cloud):
    from perception_fixtures import threshold_model

    cloud.repo.add_target(threshold_model(tmp_path / 'm.onnx', height=60, width=80), MODEL,
                          custom('model', 1), now())
    agent = make_robot(tmp_path, cloud)
    events = agent.poll(1, idle=True)
    assert actions(events) == ['refused'] and 'model input is' in events[0].detail
    assert agent.store.active(MODEL) is None


class CutHandler(RepoHandler):
    """Sends only the first half of a whole target body, then drops the connection."""

    def send_body(self, path: Path, start: int, end: int) -> None:
        if 'targets' not in path.parts or start > 0:
            super().send_body(path, start, end)
            return
        super().send_body(path, start, end // 2)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def test_truncated_download_leaves_active_and_resumes(tmp_path):
    cloud = make_cloud(tmp_path, CutHandler)
    try:
        cloud.repo.add_target(policy_file(tmp_path / 'p1.yaml', 0.5), POLICY,
                              custom('policy', 1), now())
        agent = make_robot(tmp_path, cloud)
        events = agent.poll(1, idle=True)
        assert actions(events) == ['offline'], events
        assert agent.store.active(POLICY) is None
        # The second attempt asks for the rest only (a Range request), which completes.
        events = agent.poll(2, idle=True)
        assert actions(events) == ['staged', 'activated'], events
        assert agent.store.active(POLICY).info['release'] == 1
        assert agent.client.fetcher.stats.resumed == 1
    finally:
        cloud.close()


def test_truncated_download_does_not_touch_active(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)
    with serving(cloud, CutHandler) as url:
        installed.client.base_url = url
        assert actions(installed.poll(2, idle=True)) == ['offline']
        assert active_bytes(installed) == before


class GarbageHandler(RepoHandler):
    def send_body(self, path: Path, start: int, end: int) -> None:
        size = end - start + 1
        self.wfile.write((b'\x00garbage' * (size // 8 + 1))[:size])


def test_server_returning_garbage(tmp_path, cloud, installed):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)
    with serving(cloud, GarbageHandler) as url:
        installed.client.base_url = url
        events = installed.poll(2, idle=True)
        assert actions(events) == ['refused'], events
        assert active_bytes(installed) == before


def test_server_hanging_times_out(tmp_path, cloud):
    cloud.repo.add_target(policy_file(tmp_path / 'p1.yaml', 0.5), POLICY, custom('policy', 1),
                          now())
    agent = make_robot(tmp_path, cloud)
    assert actions(agent.poll(1, idle=True)) == ['staged', 'activated']
    before = active_bytes(agent)
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)  # accepts connections (kernel backlog) and never answers
    try:
        publish_policy_2(tmp_path, cloud)
        agent.client.base_url = f'http://127.0.0.1:{listener.getsockname()[1]}'
        agent.client.fetcher._http.connection_pool_kw['timeout'] = \
            __import__('urllib3').Timeout(connect=0.5, read=0.5)
        done = threading.Event()
        result = {}

        def run():
            result['events'] = agent.poll(2, idle=True)
            done.set()

        threading.Thread(target=run, daemon=True).start()
        assert done.wait(10.0), 'poll did not return: a hanging server blocked it'
        assert actions(result['events']) == ['offline']
        assert 'SlowRetrieval' in result['events'][0].detail
        assert active_bytes(agent) == before
    finally:
        listener.close()


def test_no_network_at_start_keeps_last_verified(tmp_path, cloud, installed):
    before = active_bytes(installed)
    cloud.close()
    installed.client.base_url = 'http://127.0.0.1:9'  # nothing listens: connection refused
    events = installed.poll(2, idle=True)
    assert actions(events) == ['offline']
    assert installed.client.refresh().outcome is Outcome.OFFLINE
    assert active_bytes(installed) == before
    assert not installed.client.stale(now())


def test_full_disk_during_staging(tmp_path, cloud, installed, monkeypatch):
    before = active_bytes(installed)
    publish_policy_2(tmp_path, cloud)

    def full(src, dst):
        Path(dst).write_bytes(b'x' * 10)
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(slots, 'copy_file', full)
    events = installed.poll(2, idle=True)
    assert actions(events) == ['refused'] and 'disk full' in events[0].detail
    assert active_bytes(installed) == before
    assert not list(installed.store.root.glob('*/*.staging'))
    monkeypatch.undo()
    assert actions(installed.poll(3, idle=True)) == ['staged', 'activated']


def test_map_waits_for_idle(tmp_path, cloud):
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    agent = make_robot(tmp_path, cloud)
    assert actions(agent.poll(1, idle=False)) == ['staged', 'deferred']
    assert agent.store.active(MAP) is None
    assert actions(agent.poll(2, idle=False)) == ['deferred']
    assert actions(agent.poll(3, idle=True)) == ['activated']
    assert agent.store.active(MAP) is not None


def test_a_map_held_back_too_long_is_reported_once_and_still_waits(tmp_path, cloud):
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    agent = make_robot(tmp_path, cloud, map_defer_warn_s=10.0)
    second = 1_000_000_000
    assert actions(agent.poll(1 * second, idle=False)) == ['staged', 'deferred']
    assert actions(agent.poll(11 * second, idle=False)) == ['deferred']  # 10 s: not yet
    late = agent.poll(12 * second, idle=False)
    assert actions(late) == ['deferred', 'defer_overdue']
    assert 'has waited 11 s' in late[1].detail and agent.overdue_maps() == [MAP]
    assert actions(agent.poll(60 * second, idle=False)) == ['deferred']  # said once
    assert agent.store.active(MAP) is None, 'never swapped under a moving robot'
    assert actions(agent.poll(61 * second, idle=True)) == ['activated']
    assert agent.overdue_maps() == []


def test_an_overdue_map_warns_on_diagnostics(tmp_path, cloud):
    from datetime import UTC, datetime

    from robo_edge.health.report import Level
    from robo_edge.sync.probation import ProbationConfig
    from robo_edge.sync.service import SyncService

    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    agent = make_robot(tmp_path, cloud, map_defer_warn_s=1.0)
    service = SyncService(agent, ProbationConfig(), lambda *_: None)
    agent.poll(1, idle=False)
    level, message, values = service.status(datetime.now(UTC))
    assert level == Level.OK and dict(values)['maps_overdue'] == ''
    agent.poll(3_000_000_000, idle=False)
    level, message, values = service.status(datetime.now(UTC))
    assert level == Level.WARN and dict(values)['maps_overdue'] == MAP
    assert 'held back while navigating' in message


def test_other_frame_map_refused(tmp_path, cloud):
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1, map_frame='odom'),
                          now())
    agent = make_robot(tmp_path, cloud)
    events = agent.poll(1, idle=True)
    assert actions(events) == ['refused'] and 'frame' in events[0].detail


def test_repository_metadata_verifies_with_its_own_root(tmp_path, cloud):
    root = Metadata.from_file(str(cloud.repo.metadata_dir / 'root.json'))
    for role in ('root', 'targets', 'snapshot', 'timestamp'):
        root.verify_delegate(role, cloud.repo.load(role))
    assert cloud.repo.version('targets') == 1


def test_expiry_defaults():
    assert Expiry().of('timestamp') < Expiry().of('root')
    assert isinstance(Repository, type)


def test_idle_is_asked_at_swap_time(tmp_path, cloud):
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    agent = make_robot(tmp_path, cloud)
    asked = []

    def idle():
        asked.append(agent.store.pointer(MAP))  # asked after staging, before any swap
        return len(asked) > 1

    assert actions(agent.poll(1, idle)) == ['staged', 'deferred']
    assert asked == [None]
    assert actions(agent.poll(2, idle)) == ['activated']
