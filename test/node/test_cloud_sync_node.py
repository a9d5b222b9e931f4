"""Node tests: cloud_sync against a local repository server and the real stack, in one Context.

The nodes cloud_sync changes are the real ones: PerceptionNode (its model loads and its
diagnostics say so), MapperNode (static_map), PlannerNode (its status says navigating or idle)
and SafetyGateNode on its timer (a policy's crawl_speed shows in its /cmd_vel). A probe node
publishes what the rest of the robot would (raw commands, a speed limit, perception and breaker
statuses) and records cloud_sync's status. Every wait spins the executor until a condition
holds or a deadline passes.
"""

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TwistStamped
from perception_fixtures import threshold_model
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from std_msgs.msg import Float64, String
from sync_fixtures import constant_model, custom, map_file, now

from robo_edge.nodes.cloud_sync import STATUS_NAME, CloudSyncNode
from robo_edge.nodes.mapper import MapperNode
from robo_edge.nodes.perception import PerceptionNode
from robo_edge.nodes.planner import PlannerNode
from robo_edge.nodes.safety_gate import RAW_COMMAND_QOS, SafetyGateNode
from robo_edge.ros import qos
from robo_edge.ros.diagnostics import status_values
from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.sync.client import provision
from robo_edge.sync.identity import RobotIdentity, UploadVerifier
from robo_edge.sync.repository import Expiry, Repository
from robo_edge.sync.server import RepoServer, start_in_thread

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / 'test' / 'data' / 'perception_sample.npz'
TIMEOUT_S = 30.0  # generous: a loaded CI host; every wait ends as soon as it holds
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


class Probe(Node):
    """What the rest of the robot would say: raw commands, a speed limit, statuses."""

    def __init__(self, context) -> None:
        super().__init__('probe', context=context)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
        self.statuses: list[DiagnosticStatus] = []
        self.active: list[str] = []
        self.cmd: list[float] = []
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, DIAGNOSTICS)
        self.create_subscription(String, '/cloud_sync/active',
                                 lambda m: self.active.append(m.data), qos.LATCHED)
        self.create_subscription(TwistStamped, '/cmd_vel',
                                 lambda m: self.cmd.append(m.twist.linear.x), qos.COMMAND)
        self.raw = self.create_publisher(TwistStamped, '/cmd_vel_raw', RAW_COMMAND_QOS)
        self.cap = self.create_publisher(Float64, '/robo_edge/speed_limit', qos.LATCHED)
        self.create_timer(0.05, self._drive)

    def _on_diag(self, msg: DiagnosticArray) -> None:
        self.statuses.extend(s for s in msg.status if s.name == STATUS_NAME)

    def _drive(self) -> None:  # a controller asking for 0.4 m/s, a mode manager without a cap
        command = TwistStamped()
        command.header.stamp, command.header.frame_id = self.get_clock().now().to_msg(), 'b'
        command.twist.linear.x = 0.4
        self.raw.publish(command)
        self.cap.publish(Float64(data=math.inf))


class Harness:
    def __init__(self, context, tmp_path: Path, cloud: Cloud, url: str | None = None,
                 **overrides) -> None:
        self.context, self.tmp_path = context, tmp_path
        data = tmp_path / 'robot'
        provision(data / 'trust', cloud.repo.root_path().read_bytes())
        params = {'server_url': url or cloud.server.url, 'data_dir': str(data),
                  'channels': [f'policy:{POLICY}', f'model:{MODEL}', f'map:{MAP}'],
                  'poll_period_s': 0.3, 'timeout_s': 2.0, 'gate_sample_path': str(SAMPLE),
                  'gate_min_miou': 0.0, 'probation_s': 600.0, 'probation_window_s': 1.0,
                  'probation_min_samples': 3, 'probation_hold_s': 0.5,
                  'robot_id': 'r1', 'robot_key': str(tmp_path / 'r1.pem'),
                  'diagnostics_period_s': 0.1, 'planner_stale_s': 1.0,
                  'model_answer_s': 10.0, **overrides}
        self.node = CloudSyncNode(context=context, parameter_overrides=[
            Parameter(k, value=v) for k, v in params.items()])
        self.probe = Probe(context)
        self.spinner = Spinner(context, [self.node, self.probe], TIMEOUT_S, step_s=0.02)
        self.perception: PerceptionNode | None = None

    def add(self, node: Node) -> Node:
        self.spinner.executor.add_node(node)
        self.spinner.nodes.append(node)
        return node

    def remove(self, node: Node) -> None:
        self.spinner.executor.remove_node(node)
        self.spinner.nodes.remove(node)
        node.destroy_node()

    def start_perception(self) -> PerceptionNode:
        initial = threshold_model(self.tmp_path / 'initial.onnx', version='initial')
        self.perception = self.add(PerceptionNode(context=self.context, parameter_overrides=[
            Parameter('model_path', value=str(initial)),
            Parameter('providers', value=['CPUExecutionProvider']),
            Parameter('diagnostics_period_s', value=0.1)]))
        assert self.perception.trigger_configure() == TransitionCallbackReturn.SUCCESS
        return self.perception

    def model_version(self) -> str:
        model = self.perception.model if self.perception else None
        return model.spec.version if model else ''

    def value(self, key: str) -> str:
        statuses = self.probe.statuses
        return status_values(statuses[-1]).get(key, '') if statuses else ''

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def start(self) -> None:
        assert self.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert self.node.trigger_activate() == TransitionCallbackReturn.SUCCESS

    def statuses_level(self) -> int:
        return self.probe.statuses[-1].level[0] if self.probe.statuses else -1

    def send_status(self, name: str, **values: str) -> None:
        self.probe.diag_pub.publish(DiagnosticArray(status=[DiagnosticStatus(
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


def publish_policy(cloud, tmp_path, release, values: dict) -> None:
    path = tmp_path / f'policy{release}.yaml'
    path.write_text(yaml.safe_dump(values, sort_keys=False), encoding='utf-8')
    cloud.repo.add_target(path, POLICY, custom('policy', release), now())


def gate_node(context) -> SafetyGateNode:
    """The real gate on its timer, told to crawl (not stop) without a scan."""
    return SafetyGateNode(context=context, parameter_overrides=[
        Parameter('tick_source', value='timer'), Parameter('stop_without_scan', value=False),
        Parameter('crawl_speed', value=0.1)])


def planner_node(context, goals: list[float]) -> PlannerNode:
    return PlannerNode(context=context, parameter_overrides=[
        Parameter('goals', value=goals), Parameter('diagnostics_period_s', value=0.1)])


def commanded(h: Harness, speed: float) -> bool:
    return bool(h.probe.cmd) and h.probe.cmd[-1] == pytest.approx(speed)


def test_map_swaps_only_once_the_planner_says_idle(context, tmp_path, cloud):
    cloud.repo.add_target(map_file(tmp_path / 'map'), MAP, custom('map', 1), now())
    h = Harness(context, tmp_path, cloud)
    mapper = h.add(MapperNode(context=context))
    try:
        # No planner status at all: busy, the map waits (counted).
        h.start()
        assert h.spin_until(lambda: int(h.value('map_deferred') or 0) >= 2)
        planner = h.add(planner_node(context, [1.0, 0.0, 0.0]))  # navigating to goal 0
        assert h.spin_until(lambda: h.node._idle.navigating)
        deferred = int(h.value('map_deferred'))
        assert h.spin_until(lambda: int(h.value('map_deferred')) >= deferred + 2)
        assert h.value(f'active/{MAP}') == '' and mapper.get_parameter('static_map').value == ''
        # The planner goes away: its last word (navigating) goes stale; still busy.
        h.remove(planner)
        deferred = int(h.value('map_deferred'))
        assert h.spin_until(lambda: int(h.value('map_deferred')) >= deferred + 4)
        assert mapper.get_parameter('static_map').value == ''
        h.add(planner_node(context, [0.0]))  # back, with no goal ([0.0]): idle
        assert h.spin_until(lambda: mapper.get_parameter('static_map').value.endswith(
            'map.yaml'))
        assert h.spin_until(lambda: h.value(f'active/{MAP}') == 'map-1 (release 1)')
        assert h.spin_until(lambda: h.value(f'state/{MAP}') == 'active')
        assert h.spin_until(lambda: any('"map"' in a for a in h.probe.active))
        assert h.spin_until(lambda: any('activated' in u for u in cloud.uploads()))
    finally:
        h.close()


def test_model_is_active_once_perception_loaded_it(context, tmp_path, cloud):
    publish_model(cloud, tmp_path, 1)
    h = Harness(context, tmp_path, cloud)
    try:
        perception = h.start_perception()
        h.start()
        assert h.spin_until(lambda: h.value(f'state/{MODEL}') == 'active')
        # Active only after perception loaded it and said so in its diagnostics.
        assert h.model_version() == 'fixture-1'
        assert perception.swapper.swaps == 1
        assert any('"model"' in a for a in h.probe.active)
        assert h.value('link') == 'ok' and h.value('stale') == 'false'
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
        assert h.value(f'active/{MODEL}') == '' and h.probe.active == []
        assert h.spin_until(lambda: any('gate_failed' in u for u in cloud.uploads()))
    finally:
        h.close()


def test_drift_in_probation_rolls_back_and_reports_upstream(context, tmp_path, cloud):
    publish_model(cloud, tmp_path, 1)
    h = Harness(context, tmp_path, cloud)
    try:
        h.start_perception()
        h.start()
        assert h.spin_until(lambda: h.model_version() == 'fixture-1')
        publish_model(cloud, tmp_path, 2)
        assert h.spin_until(lambda: h.model_version() == 'fixture-2')
        assert h.spin_until(lambda: h.value('on_probation') == MODEL)
        # The fixture reference is floor 0.5 +- 0.1: 0.95 is a drift.
        for _ in range(200):
            h.send_status('robo_edge/perception', floor_fraction='0.95', confidence_mean='0.9')
            if h.spin_until(lambda: h.value('rolled_back') == '1', 0.1):
                break
        assert h.value('rolled_back') == '1'
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)'
        assert h.spin_until(lambda: h.model_version() == 'fixture-1')
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
    # No network at all now: the node starts, hands perception the verified model, offline.
    h = Harness(context, tmp_path, cloud, url='http://127.0.0.1:9', robot_id='')
    try:
        h.start_perception()
        h.start()
        assert h.spin_until(lambda: h.model_version() == 'fixture-1')
        assert h.spin_until(lambda: h.value('link') == 'offline')
        assert h.value(f'active/{MODEL}') == 'model-1 (release 1)'
        # Once the timestamp (3 s) expires, the robot says stale, still running release 1.
        assert h.spin_until(lambda: h.value('stale') == 'true', 10.0)
        assert 'stale' in h.probe.statuses[-1].message
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
        pub = h.probe.create_publisher(OccupancyGrid, '/map', LATCHED)
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


def test_policy_takes_effect_on_the_gate_or_rolls_back_whole(context, tmp_path, cloud):
    publish_policy(cloud, tmp_path, 1, {'safety_gate.crawl_speed': 0.35})
    h = Harness(context, tmp_path, cloud)
    gate = h.add(gate_node(context))
    mapper = h.add(MapperNode(context=context))
    wait_before = mapper.get_parameter('input_wait_s').value
    try:
        assert h.spin_until(lambda: commanded(h, 0.1))  # crawling without a scan
        h.start()
        # The policy shows in what the gate commands.
        assert h.spin_until(lambda: commanded(h, 0.35))
        assert h.spin_until(lambda: h.value(f'state/{POLICY}') == 'active')
        assert h.value(f'active/{POLICY}') == 'policy-1 (release 1)'
        assert any('"policy"' in a for a in h.probe.active)
        # One value the gate refuses (decel above max_linear_accel): nothing of it stays.
        publish_policy(cloud, tmp_path, 2, {'mapper.input_wait_s': wait_before + 0.2,
                                            'safety_gate.crawl_speed': 0.25,
                                            'safety_gate.decel': 5.0})
        assert h.spin_until(lambda: h.value(f'state/{POLICY}').startswith('refused'))
        refusal = h.value('last_refusal')
        assert 'safety_gate.decel' in refusal and 'decel' in refusal.split(':', 2)[-1]
        assert 'restored' in refusal and 'safety_gate.crawl_speed' in refusal
        assert gate.get_parameter('crawl_speed').value == 0.35
        assert gate.get_parameter('decel').value == 1.0
        assert mapper.get_parameter('input_wait_s').value == wait_before
        assert h.spin_until(lambda: commanded(h, 0.35))
        assert h.statuses_level() == 1 and 'refused by the stack' in h.probe.statuses[-1].message
        assert h.value(f'active/{POLICY}') == 'policy-1 (release 1)'
        assert h.spin_until(lambda: any('apply_refused' in u for u in cloud.uploads()))
        upload = next(u for u in cloud.uploads() if 'apply_refused' in u)
        text = (cloud.repo.dir / 'uploads' / 'r1' / upload).read_text()
        assert 'safety_gate.decel' in text
        # Refused releases are not tried again.
        assert not h.spin_until(lambda: h.value(f'state/{POLICY}') == 'active', 1.0)
    finally:
        h.close()


def test_policy_for_a_node_not_up_is_pending_until_it_appears(context, tmp_path, cloud):
    publish_policy(cloud, tmp_path, 1, {'safety_gate.crawl_speed': 0.3})
    h = Harness(context, tmp_path, cloud)
    try:
        h.start()
        assert h.spin_until(lambda: h.value(f'state/{POLICY}').startswith('pending'))
        assert 'safety_gate' in h.value(f'state/{POLICY}')
        assert not any('"policy"' in a for a in h.probe.active)
        gate = h.add(gate_node(context))
        assert h.spin_until(lambda: h.value(f'state/{POLICY}') == 'active')
        assert gate.get_parameter('crawl_speed').value == 0.3
        assert h.spin_until(lambda: commanded(h, 0.3))
        assert any('"policy"' in a for a in h.probe.active)
    finally:
        h.close()


def test_breaker_trips_in_probation_roll_back(context, tmp_path, cloud):
    publish_model(cloud, tmp_path, 1)
    h = Harness(context, tmp_path, cloud, probation_max_trips=1)
    try:
        h.start_perception()
        h.send_status('robo_edge/breaker/perception', trips='4')  # trips before: not counted
        h.send_status('robo_edge/breaker/lidar', trips='9')  # another source: not counted
        assert h.spin_until(lambda: h.node._trips == 4)
        h.start()
        assert h.spin_until(lambda: h.model_version() == 'fixture-1')
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
        assert h.spin_until(lambda: h.model_version() == 'fixture-1')
    finally:
        h.close()
