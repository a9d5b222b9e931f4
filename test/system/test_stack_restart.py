"""The shipped demo bringup with real nodes: SIGKILL one, it alone is back within 2 s."""

import os
import signal
import threading
import time

from sensor_msgs.msg import LaserScan
from watchers import SpinningNode, poll_until

from robo_edge import paths
from robo_edge.ros import qos
from robo_edge.scenario.domains import lease_domain
from robo_edge.supervisor.bringup import load_bringup
from robo_edge.supervisor.supervisor import Supervisor


class ScanWatcher(SpinningNode):
    """Counts /sensors/scan messages in its own context, spun in a thread."""

    def __init__(self, domain_id: int) -> None:
        super().__init__('scan_watcher', domain_id)
        self.count = 0
        self.arrived = threading.Event()
        self.node.create_subscription(LaserScan, '/sensors/scan', self._on_scan, qos.SENSOR)
        self.start()

    def _on_scan(self, _msg: LaserScan) -> None:
        self.count += 1
        self.arrived.set()


def test_killed_ingest_node_restarts_alone_and_the_stream_resumes() -> None:
    bringup = load_bringup(paths.share_file('config', 'bringup', 'demo.yaml'))
    with lease_domain({int(os.environ.get('ROS_DOMAIN_ID', '0'))}) as lease:
        watcher = ScanWatcher(lease.domain_id)
        supervisor = Supervisor(bringup, domain_id=lease.domain_id, quiet=True)
        try:
            supervisor.start()
            assert poll_until(supervisor, watcher.arrived.is_set, 30.0), 'no validated scans'
            before = {name: supervisor.pid(name) for name in bringup.names}
            os.kill(before['lidar_ingest'], signal.SIGKILL)
            killed_at = time.monotonic()
            restarted = poll_until(
                supervisor,
                lambda: supervisor.pid('lidar_ingest') not in (None, before['lidar_ingest']),
                2.0,
            )
            assert restarted, f'not restarted within 2 s ({time.monotonic() - killed_at:.2f} s)'
            after = {name: supervisor.pid(name) for name in bringup.names}
            assert {n: p for n, p in after.items() if n != 'lidar_ingest'} == {
                n: p for n, p in before.items() if n != 'lidar_ingest'}
            assert supervisor.restart_count('lidar_ingest') == 1
            watcher.arrived.clear()
            assert poll_until(supervisor, watcher.arrived.is_set, 15.0), 'scans did not resume'
        finally:
            codes = supervisor.stop()
            watcher.close()
    assert all(code == 0 for name, code in codes.items() if name != 'lidar_ingest'), codes
