"""System test: telemetry over the real Mosquitto, each robot confined by the broker itself.

One broker (started beside nginx by `robo_edge.sync.fleet.up`, the function behind `robo-edge
cloud up --mqtt-port`) serves the module. The robot's uplink queue drains into it at QoS 1;
the operator's identity (the only one allowed to read robots/#) counts what arrives by item id.
The broker refuses a robot publishing on another robot's topic, and a robot with no
certificate, a revoked, an expired or a foreign one, and logs each. Needs mosquitto and nginx
(`make fleet-deps`).
"""

import os
import signal
import socket
import threading
from datetime import timedelta

import pytest
from fleet_fixtures import (
    Subscriber,
    free_port,
    log_lines,
    now,
    provision_robot,
    repository_and_ca,
    shared_work_dir,
    uid_of,
    wait_until,
)

from robo_edge.cli import main
from robo_edge.exceptions import FleetError
from robo_edge.sync import fleet, mosquitto, nginx
from robo_edge.sync.mqtt import MqttLink
from robo_edge.sync.pki import FleetCA
from robo_edge.sync.tls import TlsConfig
from robo_edge.sync.uplink import Send, UplinkQueue


@pytest.fixture(scope='module')
def broker():
    """A CA, robots, the operator, and nginx + Mosquitto up; the operator subscribed."""
    with shared_work_dir() as work:
        repo, ca = repository_and_ca(work)
        robots = {name: provision_robot(ca, work / name, name) for name in ('r1', 'r2')}
        robots['r3'] = provision_robot(ca, work / 'r3', 'r3', now() - timedelta(days=10),
                                       timedelta(days=1))  # expired nine days ago
        stranger = FleetCA(work / 'other_pki')
        stranger.init(now(), 'another CA')
        robots['r4'] = provision_robot(stranger, work / 'r4', 'r4', trust=ca)
        robots['r6'] = provision_robot(ca, work / 'r6', 'r6')
        ca.revoke('r6', now())
        ca.issue_operator(work / 'operator', now())
        options = fleet.FleetOptions(repo.dir, work / 'run', ca.dir, port=free_port(),
                                     mqtt_port=free_port())
        run = fleet.up(options, now())
        operator = Subscriber(work / 'operator', options.mqtt_port, 'robots/#', 'ops')
        try:
            assert operator.subscribed.wait(15), 'the operator could not subscribe'
            yield {'work': work, 'ca': ca, 'robots': robots, 'run': run, 'port':
                   options.mqtt_port, 'operator': operator, 'log': mosquitto.paths(
                       run.run_dir)['log']}
        finally:
            operator.close()
            assert fleet.down(run.run_dir) == ['nginx', 'mosquitto']


def link_for(broker, robot_id, tls_dir=None, tls=None):
    tls = tls or TlsConfig.from_dir(tls_dir or broker['robots'][robot_id])
    return MqttLink(robot_id, '127.0.0.1', broker['port'], tls, timeout_s=5.0).start()


def logged(broker, *needles, timeout_s=10.0):
    """Wait for a Mosquitto log line holding every needle; return it."""
    found = []

    def seen():
        found[:] = [x for x in log_lines(broker['log']) if all(n in x for n in needles)]
        return bool(found)

    assert wait_until(seen, timeout_s), f'Mosquitto logged no line with {needles}'
    return found[-1]


def queue_with(path, count, kinds=('telemetry', 'event', 'mode')):
    queue = UplinkQueue(path, 10_000_000)
    for i in range(count):
        kind = kinds[i % len(kinds)]
        assert queue.put(kind, f'{kind}-{i}.json', b'{"n": %d}' % i, 1, i).accepted
    return queue


def test_the_queue_drains_under_the_robots_own_topics(broker, tmp_path):
    start = len(broker['operator'].received())
    queue = queue_with(tmp_path / 'r1_queue.sqlite', 3)
    assert queue.put('map', 'map-1.pgm', b'P5 1 1 255 x', 5, 9).accepted  # not for MQTT
    ids = [item.id for item in [queue.peek(('telemetry',)), queue.peek(('event',)),
                                queue.peek(('mode',))]]
    link = link_for(broker, 'r1')
    try:
        assert link.wait_connected(15), link.last_error
        sent = link.drain(queue)
    finally:
        link.close()
    assert sorted(item.id for item in sent) == sorted(ids)
    assert len(queue) == 1 and queue.peek().kind == 'map'
    op = broker['operator']
    assert wait_until(lambda: set(ids) <= set(op.item_ids('robots/r1/', since=start)))
    topics = {p['item-id']: t for t, _, p in op.received()[start:]
              if t.startswith('robots/r1/')}
    assert topics == {str(ids[0]): 'robots/r1/telemetry', str(ids[1]): 'robots/r1/events',
                      str(ids[2]): 'robots/r1/mode'}
    assert logged(broker, 'Received PUBLISH from r1', "'robots/r1/telemetry'")


def test_a_robot_cannot_publish_on_another_robots_topic(broker):
    link = link_for(broker, 'r1')
    op = broker['operator']
    start = len(op.received())
    try:
        assert link.wait_connected(15), link.last_error
        refused = link.publish('robots/r2/telemetry', b'forged', (('item-id', '-2'),))
        assert refused.outcome is Send.REFUSED and 'Not authorized' in refused.reason
        # A marker on its own topic, same connection: once it arrives, the forged one would have.
        marker = link.publish('robots/r1/telemetry', b'marker', (('item-id', '-1'),))
        assert marker.outcome is Send.STORED, marker
    finally:
        link.close()
    assert wait_until(lambda: -1 in op.item_ids(since=start))
    assert -2 not in op.item_ids() and not any(p == b'forged' for _, p, _ in op.received())
    assert logged(broker, 'Denied PUBLISH from r1', "'robots/r2/telemetry'")


def test_a_robot_posing_as_another_is_refused_and_counted(broker, tmp_path):
    queue = queue_with(tmp_path / 'posing_queue.sqlite', 2)
    link = link_for(broker, 'r2', tls_dir=broker['robots']['r1'])  # r1's certificate
    try:
        assert link.wait_connected(15), link.last_error
        assert link.drain(queue) == []
    finally:
        link.close()
    assert len(queue) == 0 and queue.drops()['refused_by_server']['count'] == 2
    assert wait_until(lambda: 2 <= sum(1 for x in log_lines(broker['log'])
                                       if 'Denied PUBLISH from r1 ' in x and "'robots/r2/" in x))


REFUSALS = {
    'no certificate': ('r1', False, 'peer did not return a certificate'),
    'revoked': ('r6', True, 'certificate verify failed'),
    'expired': ('r3', True, 'certificate verify failed'),
    'another CA': ('r4', True, 'certificate verify failed'),
}


def refused_at_connect(broker, robot, tls, error):
    """Connect as `robot` with `tls`: the broker logs `error`, and never a session for it."""
    start = len(log_lines(broker['log']))

    def since():
        return log_lines(broker['log'])[start:]

    link = link_for(broker, robot, tls=tls)
    try:
        assert wait_until(lambda: any(error in x for x in since()), 15), \
            f'Mosquitto did not log {error!r}: {since()}'
        assert wait_until(lambda: bool(link.last_error), 15)
        assert not link.connected, 'the broker accepted the connection'
        assert link.publish(f'robots/{robot}/telemetry', b'x').outcome is Send.RETRY
    finally:
        link.close()
    assert not any(f'as {robot} (' in x for x in since()), since()


@pytest.mark.parametrize('case', REFUSALS)
def test_the_broker_refuses_at_connect_and_logs(broker, case):
    robot, present, error = REFUSALS[case]
    tls = TlsConfig.from_dir(broker['robots'][robot])
    refused_at_connect(broker, robot, tls if present else TlsConfig(tls.ca_file), error)


def test_a_revocation_reaches_the_running_broker(broker, tmp_path):
    tls_dir = provision_robot(broker['ca'], tmp_path, 'r8')  # its own, revoked below
    link = link_for(broker, 'r8', tls_dir=tls_dir)
    try:
        assert link.wait_connected(15), link.last_error
    finally:
        link.close()
    serials, reloaded = fleet.revoke(broker['ca'].dir, 'r8', now(), broker['run'].run_dir)
    assert reloaded and len(serials) == 1
    refused_at_connect(broker, 'r8', TlsConfig.from_dir(tls_dir), 'certificate verify failed')


def drain_while_the_fleet_listens(link, queue, op, stop):
    """The robot's drain loop, run while the operator is subscribed (its ingest is up)."""
    while not stop.is_set() and len(queue):
        if op.subscribed.wait(0.5) and link.wait_connected(0.5):
            link.drain(queue)


def test_nothing_queued_is_lost_when_the_broker_is_killed_mid_drain(broker, tmp_path):
    count, kill_at = 300, 100
    queue = queue_with(tmp_path / 'r2_queue.sqlite', count)
    queued = set(range(1, count + 1))  # a new queue numbers its items from 1
    op, run_dir = broker['operator'], broker['run'].run_dir
    pid, start = mosquitto.running_pid(run_dir), len(broker['operator'].received())

    def arrived():
        return op.item_ids('robots/r2/', since=start)

    def kill_the_broker(props):  # while item kill_at is in flight: forwarded, maybe not acked
        if props.get('item-id') == str(kill_at) and mosquitto.running_pid(run_dir) == pid:
            os.kill(pid, signal.SIGKILL)

    op.hook = kill_the_broker
    link = link_for(broker, 'r2')
    stop = threading.Event()
    worker = threading.Thread(target=drain_while_the_fleet_listens,
                              args=(link, queue, op, stop), daemon=True)
    try:
        worker.start()
        assert wait_until(lambda: mosquitto.running_pid(run_dir) is None, 30)
        held = len(queue)
        assert 0 < held <= count - kill_at + 1, f'{held} of {count} held at the kill'
        mosquitto.start(mosquitto.Broker(run_dir, port=broker['port']), broker['ca'])
        assert wait_until(lambda: len(queue) == 0, 60), f'{len(queue)} still queued'
        assert wait_until(lambda: queued <= set(arrived()), 15), \
            f'lost: {sorted(queued - set(arrived()))[:20]}'
    finally:
        op.hook = None
        stop.set()
        worker.join(10)
        link.close()
    ids = arrived()
    assert set(ids) == queued
    print(f'broker killed with {held} of {count} queued; all {count} arrived, '
          f'{len(ids) - len(set(ids))} twice (QoS 1: at least once)')


def test_the_broker_runs_unprivileged(broker):
    pid = mosquitto.running_pid(broker['run'].run_dir)
    assert pid is not None and uid_of(pid) != 0


def test_cloud_up_with_mqtt_and_down(broker, capsys):
    work, run_dir = broker['work'], broker['work'] / 'run_cli'
    mqtt_port = str(free_port())
    assert main(['cloud', 'up', '--repo', str(work / 'repo'), '--run-dir', str(run_dir),
                 '--pki', str(broker['ca'].dir), '--port', str(free_port()),
                 '--mqtt-port', mqtt_port]) == 0
    out = capsys.readouterr().out
    assert f'mqtts://127.0.0.1:{mqtt_port}' in out and 'mosquitto: pid' in out
    assert mosquitto.running_pid(run_dir) is not None
    assert main(['cloud', 'down', '--run-dir', str(run_dir)]) == 0
    assert 'stopped nginx, mosquitto' in capsys.readouterr().out
    assert mosquitto.running_pid(run_dir) is None


def test_a_failed_broker_start_stops_nginx_and_reports_mosquittos_words(broker):
    run_dir = broker['work'] / 'run_taken'
    with socket.create_server(('127.0.0.1', 0)) as taken:
        options = fleet.FleetOptions(broker['work'] / 'repo', run_dir, broker['ca'].dir,
                                     port=free_port(), mqtt_port=taken.getsockname()[1])
        with pytest.raises(FleetError, match='did not start on .*Address already in use'):
            fleet.up(options, now())
    assert mosquitto.running_pid(run_dir) is None and nginx.running_pid(run_dir) is None
