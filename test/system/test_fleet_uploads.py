"""System test: uploads into the real nginx (WebDAV PUT), each robot confined to its own area.

nginx (started by `robo_edge.sync.fleet.up`) stores `PUT /uploads/<id>/<name>` only when <id>
is the CN of the client certificate; the robot's `WebDavSender` drains its queued maps there.
Another robot's area, the operator's identity, a revoked or missing certificate, a read, and
names that would leave the area are each refused by nginx, logged, and nothing is stored.
"""

import pytest
import urllib3
from fleet_fixtures import (
    free_port,
    log_lines,
    now,
    provision_robot,
    repository_and_ca,
    shared_work_dir,
    wait_until,
)

from robo_edge.sync import fleet, nginx
from robo_edge.sync.tls import TlsConfig
from robo_edge.sync.uplink import Send, UplinkQueue
from robo_edge.sync.webdav import WebDavSender


@pytest.fixture(scope='module')
def served():
    """nginx over a repository, its uploads folder, robots r1, r2, r3 (revoked), operator."""
    with shared_work_dir() as work:
        repo, ca = repository_and_ca(work)
        robots = {name: provision_robot(ca, work / name, name) for name in ('r1', 'r2', 'r3')}
        ca.revoke('r3', now())
        ca.issue_operator(work / 'operator', now())
        robots['operator'] = work / 'operator'
        options = fleet.FleetOptions(repo.dir, work / 'run', ca.dir, port=free_port(),
                                     uploads=work / 'uploads')
        run = fleet.up(options, now())
        try:
            yield {'work': work, 'robots': robots, 'run': run, 'uploads': work / 'uploads',
                   'access_log': nginx.paths(run.run_dir)['access_log']}
        finally:
            assert fleet.down(run.run_dir) == ['nginx']


def sender(served, robot_id, tls=None):
    return WebDavSender(robot_id, served['run'].url,
                        tls or TlsConfig.from_dir(served['robots'][robot_id]), timeout_s=10.0)


def stored(served):
    """Every file under the uploads folder but nginx's own temporary folder."""
    return sorted(str(p.relative_to(served['uploads'])) for p in served['uploads'].rglob('*')
                  if p.is_file() and '.incoming' not in p.parts)


def logged(served, *needles):
    assert wait_until(lambda: any(all(n in x for n in needles)
                                  for x in log_lines(served['access_log']))), needles


def test_a_robot_uploads_into_its_own_area(served):
    r1 = sender(served, 'r1')
    assert r1.put('run-a.mcap', b'first').status == 201
    assert r1.put('run-a.mcap', b'second').status == 204  # its own upload, replaced
    assert (served['uploads'] / 'r1' / 'run-a.mcap').read_bytes() == b'second'
    logged(served, '"PUT /uploads/r1/run-a.mcap HTTP/1.1" 204', 'dn="CN=r1"')


def test_the_queue_drains_its_maps_only(served, tmp_path):
    queue = UplinkQueue(tmp_path / 'q.sqlite', 10_000_000)
    grid = bytes(range(256)) * 4096  # 1 MiB
    assert queue.put('map', 'floor2.pgm', grid, 5, 1).accepted
    assert queue.put('telemetry', 't.json', b'{}', 1, 2).accepted  # for MQTT, stays
    r2 = sender(served, 'r2')
    assert [item.name for item in r2.drain(queue)] == ['floor2.pgm']
    assert (served['uploads'] / 'r2' / 'map-floor2.pgm').read_bytes() == grid
    assert len(queue) == 1 and queue.peek().kind == 'telemetry'


@pytest.mark.parametrize('who, area', [('r1', 'r2'), ('r2', 'r1'), ('operator', 'r1')])
def test_another_area_is_refused_with_nothing_stored(served, who, area):
    before = stored(served)
    robot = 'r1' if who == 'operator' else who  # the operator's CN is no robot id
    tls = TlsConfig.from_dir(served['robots'][who])
    result = sender(served, robot, tls).put(f'forged-by-{who}.bin', b'x', area=area)
    assert (result.outcome, result.status) == (Send.REFUSED, 403)
    assert stored(served) == before
    logged(served, f'"PUT /uploads/{area}/forged-by-{who}.bin HTTP/1.1" 403')


@pytest.mark.parametrize('case, tls_of, present', [
    ('revoked', 'r3', True), ('no certificate', 'r1', False)])
def test_a_refused_certificate_stores_nothing(served, case, tls_of, present):
    before = stored(served)
    tls = TlsConfig.from_dir(served['robots'][tls_of])
    result = sender(served, tls_of, tls if present else TlsConfig(tls.ca_file)).put(
        f'{case.replace(" ", "-")}.bin', b'x')
    assert (result.outcome, result.status) == (Send.RETRY, 400), result
    assert stored(served) == before


@pytest.mark.parametrize('method, path, status', [
    ('GET', '/uploads/r1/run-a.mcap', 403),  # uploads are write-only for robots
    ('DELETE', '/uploads/r1/run-a.mcap', 403),
    ('PUT', '/uploads/r1/.hidden', 404),
    ('PUT', '/uploads/r1/a/b.bin', 404),
    ('PUT', '/uploads/r1/%2e%2e/r2/x.bin', 403),  # nginx decodes and resolves it: r2's area
    ('PUT', '/uploads/r1/../r2/x.bin', 403),
    ('PUT', '/uploads/R1/x.bin', 404),
])
def test_nothing_else_is_writable(served, method, path, status):
    before = stored(served)
    tls = TlsConfig.from_dir(served['robots']['r1'])
    http = urllib3.PoolManager(ssl_context=tls.context(), retries=False)
    response = http.request(method, served['run'].url + path, body=b'x')
    assert response.status == status
    assert stored(served) == before


@pytest.mark.parametrize('name', ['../r2/x', '.hidden', 'a/b', ''])
def test_a_bad_name_is_refused_before_sending(served, name):
    result = sender(served, 'r1').put(name, b'x')  # status 0: no request was made
    assert (result.outcome, result.status) == (Send.REFUSED, 0) and 'must match' in result.reason
