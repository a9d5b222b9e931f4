"""Node test: cloud_sync's read-only tls_dir, against the real nginx over mutual TLS.

The same node and repository as test_cloud_sync_node.py (its Cloud and Harness), served by the
nginx that `robo-edge cloud up` starts: with the robot's TLS folder the node syncs, without it
the same https URL is offline, and a folder that is not provisioned fails configure. Needs nginx
(`make fleet-deps`).
"""

import pytest
from fleet_fixtures import free_port, log_lines, now, provision_robot, shared_work_dir
from rclpy.lifecycle import TransitionCallbackReturn
from test_cloud_sync_node import Cloud, Harness

from robo_edge.sync import fleet, nginx
from robo_edge.sync.pki import FleetCA


@pytest.fixture
def fleet_cloud():
    """A repository served by the embedded server (unused here) and by nginx over mTLS."""
    with shared_work_dir() as work:
        cloud = Cloud(work)
        ca = FleetCA(work / 'pki')
        ca.init(now())
        tls_dir = provision_robot(ca, work / 'r1', 'r1')
        run = fleet.up(fleet.FleetOptions(cloud.repo.dir, work / 'run', ca.dir,
                                          port=free_port()), now())
        try:
            yield cloud, run, tls_dir
        finally:
            fleet.down(run.run_dir)
            cloud.close()


def test_tls_dir_syncs_with_the_robots_certificate(context, tmp_path, fleet_cloud):
    cloud, run, tls_dir = fleet_cloud
    h = Harness(context, tmp_path, cloud, url=run.url, robot_id='', tls_dir=str(tls_dir))
    try:
        h.start()
        assert h.spin_until(lambda: h.value('link') == 'ok' and int(h.value('refreshes_ok')
                                                                     or 0) >= 1)
        access = nginx.paths(run.run_dir)['access_log']
        assert any('/metadata/' in x and ' 200 ' in x and 'dn="CN=r1"' in x
                   for x in log_lines(access))
    finally:
        h.close()


def test_without_tls_dir_the_fleet_server_is_offline(context, tmp_path, fleet_cloud):
    cloud, run, _ = fleet_cloud
    h = Harness(context, tmp_path, cloud, url=run.url, robot_id='')
    try:
        h.start()
        assert h.spin_until(lambda: h.value('link') == 'offline')
        assert h.value('refreshes_ok') == '0'
    finally:
        h.close()


def test_an_unprovisioned_tls_dir_fails_configure(context, tmp_path, fleet_cloud):
    cloud, run, _ = fleet_cloud
    h = Harness(context, tmp_path, cloud, url=run.url, robot_id='',
                tls_dir=str(tmp_path / 'no_tls'))
    try:
        assert h.node.trigger_configure() == TransitionCallbackReturn.FAILURE
    finally:
        h.close()
