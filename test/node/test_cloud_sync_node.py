"""Node tests: cloud_sync against a local repository server, in one rclpy Context.

A probe node named `perception` stands in for the perception node (its model_path parameter is
what cloud_sync sets), publishes planner and perception diagnostics, and records cloud_sync's
status. Every wait spins the executor until a condition holds or a deadline passes.
"""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from perception_fixtures import threshold_model
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from sync_fixtures import constant_model, custom, map_file, now

from robo_edge.nodes.cloud_sync import STATUS_NAME, CloudSyncNode
from robo_edge.ros.diagnostics import status_values
from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.sync.client import provision
from robo_edge.sync.identity import RobotIdentity, UploadVerifier
from robo_edge.sync.repository import Expiry, Repository
from robo_edge.sync.server import RepoServer, start_in_thread

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / 'test' / 'data' / 'perception_sample.npz'
TIMEOUT_S = 60.0  # generous: a loaded CI host; every wait ends as soon as it holds
MODEL, POLICY, MAP = 'model/floor_seg.onnx', 'policy/limits.yaml', 'map/warehouse.tar'


class Cloud:
    def __init__(self, tmp_path: Path, expiry: Expiry | None = None) -> None:
        self.repo = Repository(tmp_path / 'repo', tmp_path / 'keys', expiry)
        self.repo.init(now())
        self.verifier = UploadVerifier(self.repo.dir / 'robots', tmp_path / 'state.sqlite')
        self.identity = RobotIdentity.generate('r1', tmp_path / 'r1.pem')
        self.verifier.register('r1', self.identity.public_hex())
        self.server = RepoServer(('127.0.0.1', 0), self.repo.dir, self.verifier)
        start_in_thread(self.server)

    def uploads(self) -> list[str]:
        area = self.repo.dir / 'uploads' / 'r1'
        return sorted(p.name for p in area.iterdir()) if area.exists() else []

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.verifier.close()


class Harness:
    def __init__(self, context, tmp_path: Path, cloud: Cloud, url: str | None = None,
                 **overrides) -> None:
        data = tmp_path / 'robot'
        provision(data / 'trust', cloud.repo.root_path().read_bytes())
        params = {'server_url': url or cloud.server.url, 'data_dir': str(data),
                  'channels': [f'policy:{POLICY}', f'model:{MODEL}', f'map:{MAP}'],
                  'poll_period_s': 0.3, 'timeout_s': 2.0, 'gate_sample_path': str(SAMPLE),
                  'gate_min_miou': 0.0, 'probation_s': 600.0, 'probation_window_s': 1.0,
                  'probation_min_samples': 3, 'probation_hold_s': 0.5,
                  'robot_id': 'r1', 'robot_key': str(tmp_path / 'r1.pem'),
                  'diagnostics_period_s': 0.1, **overrides}
        self.node = CloudSyncNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in params.items()])
        self.perception = Node('perception', context=context)
        self.perception.declare_parameter('model_path', '')
        self.mapper = Node('mapper', context=context)  # stands in for the mapper
        self.mapper.declare_parameter('static_map', '')
        self.diag_pub = self.perception.create_publisher(DiagnosticArray, '/diagnostics',
                                                         DIAGNOSTICS)
        self.statuses: list[DiagnosticStatus] = []
        self.perception.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag,
                                            DIAGNOSTICS)
        self.spinner = Spinner(context, [self.node, self.perception, self.mapper], TIMEOUT_S,
                               step_s=0.02)

    def _on_diag(self, msg: DiagnosticArray) -> None:
        self.statuses.extend(s for s in msg.status if s.name == STATUS_NAME)

    def value(self, key: str) -> str:
        return status_values(self.statuses[-1]).get(key, '') if self.statuses else ''

    def model_path(self) -> str:
        return self.perception.get_parameter('model_path').value

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def start(self) -> None:
        assert self.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert self.node.trigger_activate() == TransitionCallbackReturn.SUCCESS

    def send_status(self, name: str, **values: str) -> None:
        self.diag_pub.publish(DiagnosticArray(status=[DiagnosticStatus(
            name=name, values=[KeyValue(key=k, value=v) for k, v in values.items()])]))

    def close(self) -> None:
        self.node.trigger_shutdown()
        self.spinner.close()


@pytest.fixture
def cloud(tmp_path):
    cloud = Cloud(tmp_path)
    yield cloud
    cloud.close()


def publish_model(cloud, tmp_path, release, **kwargs):
    path = threshold_model(tmp_path / f'model{release}.onnx', version=f'fixture-{release}',
                           **kwargs)
    cloud.repo.add_target(path, MODEL, custom('model', release), now())


def test_model_and_map_arrive_map_waits_for_idle(context, tmp_path, cloud):
    publish_model(cloud, tmp_path, 1)
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    h = Harness(context, tmp_path, cloud)
    try:
        h.send_status('robo_edge/planner', goal_index='0')  # navigating to goal 0
        assert h.spin_until(lambda: h.node._navigating)
        h.start()
        assert h.spin_until(lambda: h.model_path().endswith('payload'))
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)' or h.spin_until(
            lambda: h.value(f'active/{MODEL}') == 'model-1 (release 1)')
        assert h.spin_until(lambda: 'deferred' in h.value('last_event'))
        assert h.value(f'active/{MAP}') == ''
        h.send_status('robo_edge/planner', goal_index='')  # idle
        assert h.spin_until(lambda: h.value(f'active/{MAP}') == 'map-1 (release 1)')
        # The mapper is told to reseed its grid from the activated map.
        assert h.spin_until(lambda: h.mapper.get_parameter('static_map').value.endswith(
            'map.yaml'))
        assert h.value('link') == 'ok' and h.value('stale') == 'false'
        # The activation was reported upstream through the uplink.
        assert h.spin_until(lambda: any('activated' in u for u in cloud.uploads()))
    finally:
        h.close()


def test_constant_model_fails_the_gate_and_never_activates(context, tmp_path, cloud):
    cloud.repo.add_target(constant_model(tmp_path / 'bad.onnx'), MODEL, custom('model', 1),
                          now())
    h = Harness(context, tmp_path, cloud)
    try:
        h.start()
        assert h.spin_until(lambda: h.value('refused') == '1')
        assert 'gate_failed' in h.value('last_event') and 'degenerate' in h.value('last_event')
        assert h.value(f'active/{MODEL}') == '' and h.model_path() == ''
        assert h.spin_until(lambda: any('gate_failed' in u for u in cloud.uploads()))
    finally:
        h.close()


def test_drift_in_probation_rolls_back_and_reports_upstream(context, tmp_path, cloud):
    publish_model(cloud, tmp_path, 1)
    h = Harness(context, tmp_path, cloud)
    try:
        h.start()
        assert h.spin_until(lambda: h.value(f'active/{MODEL}') == 'model-1 (release 1)')
        assert h.spin_until(lambda: h.model_path().endswith('payload'))
        first = h.model_path()
        publish_model(cloud, tmp_path, 2)
        assert h.spin_until(lambda: h.value(f'active/{MODEL}') == 'model-2 (release 2)')
        assert h.spin_until(lambda: h.model_path() != first and h.model_path() != '')
        assert h.spin_until(lambda: h.value('on_probation') == MODEL)
        # The fixture reference is floor 0.5 +- 0.1: 0.95 is a drift.
        for _ in range(200):
            h.send_status('robo_edge/perception', floor_fraction='0.95', confidence_mean='0.9')
            if h.spin_until(lambda: h.value('rolled_back') == '1', 0.1):
                break
        assert h.value('rolled_back') == '1'
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)'
        assert h.spin_until(lambda: h.model_path() == first)
        assert h.spin_until(lambda: any('rolled_back' in u for u in cloud.uploads()))
        # The rolled-back release is not installed again on later cycles.
        assert not h.spin_until(lambda: h.value(f'active/{MODEL}') != 'model-1 (release 1)',
                                1.5)
    finally:
        h.close()


def test_offline_start_runs_last_verified_then_reports_stale(context, tmp_path):
    cloud = Cloud(tmp_path, Expiry(timestamp=timedelta(seconds=3)))
    try:
        publish_model(cloud, tmp_path, 1)
        h = Harness(context, tmp_path, cloud)
        h.start()
        assert h.spin_until(lambda: h.value(f'active/{MODEL}') == 'model-1 (release 1)')
        h.close()
    finally:
        cloud.close()
    # No network at all now: the node starts, announces the verified model, reports offline.
    h = Harness(context, tmp_path, cloud, url='http://127.0.0.1:9', robot_id='')
    try:
        h.start()
        assert h.spin_until(lambda: h.model_path().endswith('payload'))
        assert h.spin_until(lambda: h.value('link') == 'offline')
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)'
        # Once the timestamp (3 s) expires, the robot says stale, still running release 1.
        assert h.spin_until(lambda: h.value('stale') == 'true', 10.0)
        assert 'stale' in h.statuses[-1].message
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)'
    finally:
        h.close()


def test_unprovisioned_robot_fails_configure(context, tmp_path, cloud):
    h = Harness(context, tmp_path, cloud)
    try:
        (tmp_path / 'robot' / 'trust' / 'root.json').unlink()
        assert h.node.trigger_configure() == TransitionCallbackReturn.FAILURE
    finally:
        h.close()


def test_built_map_and_telemetry_are_stored_and_forwarded(context, tmp_path, cloud):
    import tarfile

    import numpy as np
    from nav_msgs.msg import OccupancyGrid

    from robo_edge.robot.grid import Grid
    from robo_edge.ros.nav_messages import grid_msg
    from robo_edge.ros.qos import LATCHED

    h = Harness(context, tmp_path, cloud, map_upload_period_s=0.3, telemetry_period_s=0.3)
    try:
        cells = np.zeros((20, 30), np.int8)
        cells[5, :] = 100
        pub = h.perception.create_publisher(OccupancyGrid, '/map', LATCHED)
        pub.publish(grid_msg(Grid(0.05, 30, 20, cells), 1))
        assert h.spin_until(lambda: h.node._map is not None)
        h.start()
        assert h.spin_until(lambda: any('-map-map-' in u for u in cloud.uploads()))
        assert h.spin_until(lambda: any('-telemetry-sync-' in u for u in cloud.uploads()))
        tar = next(u for u in cloud.uploads() if '-map-map-' in u)
        with tarfile.open(cloud.repo.dir / 'uploads' / 'r1' / tar) as archive:
            assert sorted(archive.getnames()) == ['map.pgm', 'map.yaml']
    finally:
        h.close()


def test_active_policy_sets_the_parameters_of_running_nodes(context, tmp_path, cloud):
    from sync_fixtures import policy_file

    cloud.repo.add_target(policy_file(tmp_path / 'p.yaml', 0.35), POLICY, custom('policy', 1),
                          now())
    h = Harness(context, tmp_path, cloud)
    gate = Node('safety_gate', context=context)
    gate.declare_parameter('crawl_speed', 0.1)
    h.spinner.executor.add_node(gate)
    try:
        h.start()
        assert h.spin_until(lambda: gate.get_parameter('crawl_speed').value == 0.35)
        assert h.spin_until(lambda: h.value(f'active/{POLICY}') == 'policy-1 (release 1)')
    finally:
        h.spinner.executor.remove_node(gate)
        gate.destroy_node()
        h.close()


def test_breaker_trips_in_probation_roll_back(context, tmp_path, cloud):
    publish_model(cloud, tmp_path, 1)
    h = Harness(context, tmp_path, cloud, probation_max_trips=1)
    try:
        h.send_status('robo_edge/breaker/perception', trips='4')  # trips before: not counted
        h.send_status('robo_edge/breaker/lidar', trips='9')  # another source: not counted
        assert h.spin_until(lambda: h.node._trips == 4)
        h.start()
        assert h.spin_until(lambda: h.value(f'active/{MODEL}') == 'model-1 (release 1)')
        publish_model(cloud, tmp_path, 2)
        assert h.spin_until(lambda: h.value('on_probation') == MODEL)
        healthy = {'floor_fraction': '0.5', 'confidence_mean': '0.95'}
        h.send_status('robo_edge/perception', **healthy)
        assert not h.spin_until(lambda: h.value('rolled_back') == '1', 0.5)
        h.send_status('robo_edge/breaker/perception', trips='6')  # two trips in probation
        for _ in range(100):
            h.send_status('robo_edge/perception', **healthy)
            if h.spin_until(lambda: h.value('rolled_back') == '1', 0.1):
                break
        assert h.value('rolled_back') == '1'
        assert 'breaker trips' in h.value('last_event')
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)'
    finally:
        h.close()
