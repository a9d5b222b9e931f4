"""Uplink queue (SQLite WAL, priorities, byte budget, kill -9) and identity-checked uploads."""

import logging
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest

from robo_edge.exceptions import SyncError
from robo_edge.sync.identity import RobotIdentity, UploadVerifier
from robo_edge.sync.server import RepoServer, start_in_thread
from robo_edge.sync.uplink import HttpSender, Send, UplinkQueue


@pytest.fixture
def queue(tmp_path):
    q = UplinkQueue(tmp_path / 'uplink.sqlite', budget_bytes=1000)
    yield q
    q.close()


def test_priority_then_age_order(queue):
    queue.put('telemetry', 't1', b'a' * 10, 1, 1)
    queue.put('map', 'm1', b'b' * 10, 5, 2)
    queue.put('telemetry', 't2', b'c' * 10, 1, 3)
    queue.put('event', 'e1', b'd' * 10, 5, 4)
    sent = queue.drain(lambda item: Send.STORED)
    assert [i.name for i in sent] == ['m1', 'e1', 't1', 't2']
    assert len(queue) == 0


def test_drain_stops_at_first_retry_and_keeps_the_item(queue):
    queue.put('telemetry', 't1', b'a', 1, 1)
    queue.put('telemetry', 't2', b'a', 1, 2)
    assert queue.drain(lambda item: Send.RETRY) == []
    assert len(queue) == 2
    answers = iter([Send.STORED, Send.RETRY])
    assert [i.name for i in queue.drain(lambda item: next(answers))] == ['t1']
    assert queue.peek().name == 't2'


def test_drain_of_some_kinds_leaves_the_others_queued(queue):
    queue.put('map', 'm1', b'a', 5, 1)
    queue.put('telemetry', 't1', b'a', 1, 2)
    queue.put('event', 'e1', b'a', 3, 3)
    sent = queue.drain(lambda item: Send.STORED, kinds=('telemetry', 'event'))
    assert [i.name for i in sent] == ['e1', 't1']
    assert [queue.peek().name, len(queue)] == ['m1', 1]
    assert queue.peek(('telemetry',)) is None


def test_budget_evicts_lower_priority_oldest_first(queue):
    for n in range(4):
        assert queue.put('telemetry', f't{n}', b'x' * 200, 1, n).accepted
    queue.put('telemetry', 'low0', b'x' * 100, 0, 10)
    assert queue.queued_bytes() == 900
    result = queue.put('map', 'm', b'y' * 400, 5, 11)
    # 100 free: evict the priority-0 item (100) first, then the oldest priority-1 (200).
    assert result.accepted and len(result.evicted) == 2
    names = [i.name for i in queue.drain(lambda item: Send.STORED)]
    assert names == ['m', 't1', 't2', 't3']
    assert queue.drops() == {'evicted': {'count': 2, 'bytes': 300}}


def test_equal_priority_is_never_evicted_and_too_large_is_refused(queue):
    assert queue.put('map', 'a', b'x' * 900, 5, 1).accepted
    result = queue.put('map', 'b', b'x' * 200, 5, 2)
    assert not result.accepted and result.reason == 'no_room'
    assert not queue.put('map', 'huge', b'x' * 1001, 9, 3).accepted
    assert queue.drops() == {'no_room': {'count': 1, 'bytes': 200},
                             'too_large': {'count': 1, 'bytes': 1001}}
    assert [i.name for i in queue.drain(lambda item: Send.STORED)] == ['a']


def test_refused_by_server_is_dropped_and_counted(queue):
    queue.put('telemetry', 't', b'abc', 1, 1)
    assert queue.drain(lambda item: Send.REFUSED) == []
    assert len(queue) == 0
    assert queue.drops()['refused_by_server']['count'] == 1


def test_counter_only_grows_across_reopen(tmp_path):
    q = UplinkQueue(tmp_path / 'q.sqlite', 100)
    first = q.next_counter(0)
    second = q.next_counter(0)
    q.close()
    q = UplinkQueue(tmp_path / 'q.sqlite', 100)
    assert first < second < q.next_counter(0)
    assert q.next_counter(10**9) == 10**9
    q.close()


def test_nothing_acknowledged_is_lost_across_kill9(tmp_path):
    """A child puts items and prints each acknowledgement; it is SIGKILLed mid-stream."""
    db = tmp_path / 'q.sqlite'
    child = textwrap.dedent(f"""
        import sys
        from robo_edge.sync.uplink import UplinkQueue
        q = UplinkQueue({str(db)!r}, 10**9)
        n = 0
        while True:
            q.put('telemetry', f'item{{n}}', b'x' * 2000, n % 3, n)
            print(n, flush=True)
            n += 1
    """)
    proc = subprocess.Popen([sys.executable, '-c', child], stdout=subprocess.PIPE, text=True)
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= 150:
            proc.kill()
            break
    proc.wait(timeout=10)
    q = UplinkQueue(db, 10**9)
    names = set()
    while (item := q.peek()) is not None:
        names.add(item.name)
        q.ack(item.id)
    assert {f'item{n}' for n in range(acked + 1)} <= names
    q.close()


# -- identity and uploads -----------------------------------------------------------------
@pytest.fixture
def cloud(tmp_path):
    verifier = UploadVerifier(tmp_path / 'repo' / 'robots', tmp_path / 'state.sqlite')
    robots = {}
    for robot_id in ('r1', 'r2'):
        robots[robot_id] = RobotIdentity.generate(robot_id, tmp_path / 'keys' / f'{robot_id}.pem')
        verifier.register(robot_id, robots[robot_id].public_hex())
    server = RepoServer(('127.0.0.1', 0), tmp_path / 'repo', verifier)
    start_in_thread(server)
    yield server, robots
    server.shutdown()
    server.server_close()
    verifier.close()


def post(server, area, name, body, headers) -> int:
    request = urllib.request.Request(f'{server.url}/upload/{area}/{name}', data=body,
                                     headers=headers, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def uploads(server):
    return sorted(p.relative_to(server.repo_dir / 'uploads').as_posix()
                  for p in (server.repo_dir / 'uploads').rglob('*') if p.is_file()) \
        if (server.repo_dir / 'uploads').exists() else []


def test_signed_upload_into_own_area_accepted(cloud):
    server, robots = cloud
    body = b'{"summary": 1}'
    assert post(server, 'r1', 'telemetry.json', body,
                robots['r1'].sign_upload('telemetry.json', body, 1)) == 201
    assert uploads(server) == [f'r1/{1:020d}-telemetry.json']


def test_unknown_robot_refused_and_logged(cloud, tmp_path, caplog):
    server, _ = cloud
    stranger = RobotIdentity.generate('r9', tmp_path / 'r9.pem')
    with caplog.at_level(logging.WARNING, logger='robo_edge.sync.server'):
        assert post(server, 'r9', 'x.json', b'1', stranger.sign_upload('x.json', b'1', 1)) == 403
    assert 'unknown robot' in caplog.text
    assert uploads(server) == []


def test_forged_signature_refused(cloud, tmp_path):
    server, _ = cloud
    impostor = RobotIdentity.generate('r1', tmp_path / 'impostor.pem')  # claims r1, wrong key
    assert post(server, 'r1', 'x.json', b'1', impostor.sign_upload('x.json', b'1', 1)) == 403
    assert 'signature does not verify' in server.refusals[-1]
    assert uploads(server) == []


def test_altered_body_refused(cloud):
    server, robots = cloud
    headers = robots['r1'].sign_upload('x.json', b'original', 1)
    assert post(server, 'r1', 'x.json', b'altered!', headers) == 403
    assert uploads(server) == []


def test_cross_robot_upload_refused(cloud):
    server, robots = cloud
    # r1 signs honestly for r2's area: refused (each robot writes only its own area).
    headers = robots['r1'].sign_upload('x.json', b'1', 1, area='r2')
    assert post(server, 'r2', 'x.json', b'1', headers) == 403
    assert 'only its own area' in server.refusals[-1]
    # r1's valid upload replayed into r2's area: the signature covers the area.
    headers = robots['r1'].sign_upload('x.json', b'1', 2)
    assert post(server, 'r2', 'x.json', b'1', headers) == 403
    assert uploads(server) == []


def test_replayed_upload_refused(cloud):
    server, robots = cloud
    headers = robots['r1'].sign_upload('x.json', b'1', 7)
    assert post(server, 'r1', 'x.json', b'1', headers) == 201
    assert post(server, 'r1', 'x.json', b'1', headers) == 403
    assert 'replay' in server.refusals[-1]
    older = robots['r1'].sign_upload('y.json', b'2', 3)
    assert post(server, 'r1', 'y.json', b'2', older) == 403
    assert len(uploads(server)) == 1


def test_bad_robot_ids_rejected(tmp_path):
    with pytest.raises(SyncError):
        RobotIdentity.generate('../etc', tmp_path / 'x.pem')


def test_queue_drains_by_priority_on_reconnect(cloud, tmp_path):
    server, robots = cloud
    queue = UplinkQueue(tmp_path / 'uplink.sqlite', 10_000)
    down = HttpSender(robots['r1'], 'http://127.0.0.1:9', queue, timeout_s=2)
    queue.put('telemetry', 'summary1', b'{"t": 1}', 1, 1)
    queue.put('map', 'warehouse.tar', b'MAPBYTES', 5, 2)
    queue.put('telemetry', 'summary2', b'{"t": 2}', 1, 3)
    assert queue.drain(down) == []  # no link: everything kept
    assert len(queue) == 3
    up = HttpSender(robots['r1'], server.url, queue)
    sent = queue.drain(up)
    assert [i.name for i in sent] == ['warehouse.tar', 'summary1', 'summary2']
    assert [u.split('-', 1)[1] for u in uploads(server)] == [
        'map-warehouse.tar', 'telemetry-summary1', 'telemetry-summary2']
    queue.close()


@pytest.mark.parametrize('name', ['..', '.hidden', 'a/b', '%2e%2e', 'x' * 200])
def test_upload_names_cannot_escape_the_area(cloud, name):
    server, robots = cloud
    (server.repo_dir / 'metadata').mkdir(exist_ok=True)
    headers = robots['r1'].sign_upload(name, b'1', 1)
    status = post(server, 'r1', name, b'1', headers)
    assert status in (403, 404)
    assert uploads(server) == []
    assert list((server.repo_dir / 'metadata').iterdir()) == []


def test_upload_endpoint_absent_without_verifier(tmp_path):
    server = RepoServer(('127.0.0.1', 0), tmp_path)
    start_in_thread(server)
    try:
        identity = RobotIdentity.generate('r1', tmp_path / 'r1.pem')
        assert post(server, 'r1', 'x', b'1', identity.sign_upload('x', b'1', 1)) == 404
    finally:
        server.shutdown()
        server.server_close()


def test_silent_client_is_dropped(cloud, monkeypatch):
    import socket

    from robo_edge.sync.server import RepoHandler

    server, _ = cloud
    monkeypatch.setattr(RepoHandler, 'timeout', 0.5)
    with socket.create_connection(server.server_address[:2], timeout=5) as sock:
        sock.sendall(b'POST /upload/r1/x HTTP/1.1\r\nContent-Length: 100\r\n\r\n12')
        assert sock.recv(100) == b''  # the server closed the connection: no thread held
