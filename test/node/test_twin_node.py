"""The twin node in-process with a real executor: topics, conventions and the lockstep wait."""

import math
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan

from robo_edge.chaos.spec import FaultSpec, to_params
from robo_edge.nodes.twin import EXIT_LOCKSTEP_TIMEOUT, TwinNode
from robo_edge.ros import qos

REPO = Path(__file__).resolve().parents[2]


class Partner(Node):
    """Answers each /clock with a command stamped with it, and keeps what the twin publishes."""

    def __init__(self, context: Context, answer: bool = True) -> None:
        super().__init__('partner', context=context)
        self.answer = answer
        self.got: dict[str, list] = {k: [] for k in ('scan', 'image', 'info', 'imu', 'odom',
                                                      'truth', 'clock')}
        self.cmd = self.create_publisher(TwistStamped, '/cmd_vel', qos.COMMAND)
        self.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)
        topics = [(LaserScan, '/scan', 'scan'), (Image, '/camera/image_raw', 'image'),
                  (CameraInfo, '/camera/camera_info', 'info'), (Imu, '/imu/data', 'imu'),
                  (Odometry, '/odom', 'odom'), (Odometry, '/twin/ground_truth', 'truth')]
        for msg_type, topic, key in topics:
            self.create_subscription(msg_type, topic, self._keeper(key), qos.RECORDER)

    def _keeper(self, key: str):
        return lambda msg: self.got[key].append(msg)

    def _on_clock(self, msg: Clock) -> None:
        self.got['clock'].append(msg)
        if self.answer:
            out = TwistStamped()
            out.header.stamp = msg.clock
            out.twist.linear.x = 0.3
            self.cmd.publish(out)


def make_twin(context: Context, **overrides) -> TwinNode:
    params = {
        'world': str(REPO / 'sim' / 'worlds' / 'empty_room.yaml'),
        'urdf': str(REPO / 'sim' / 'robot' / 'diff_drive.urdf'),
        'start': [-2.5, -2.5, 0.0], 'duration_s': 2.0,
        'required_subscribers': ['/scan:1', '/camera/image_raw:1', '/imu/data:1'],
        'startup_timeout_s': 10.0, **overrides,
    }
    return TwinNode(context=context, parameter_overrides=[
        Parameter(k, value=v) for k, v in params.items()
    ])


@pytest.fixture
def context():
    ctx = Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.shutdown(context=ctx)


def run_twin(context: Context, answer: bool, **overrides) -> tuple[TwinNode, Partner, int]:
    twin = make_twin(context, **overrides)
    partner = Partner(context, answer)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(twin)
    executor.add_node(partner)
    twin.trigger_configure()
    twin.trigger_activate()
    code = twin.run(executor, {'requested': False})
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and len(partner.got['scan']) < 5:
        executor.spin_once(timeout_sec=0.05)
    twin.trigger_deactivate()
    twin.trigger_cleanup()
    return twin, partner, code


def test_publishes_every_sensor_by_the_conventions(context: Context) -> None:
    twin, partner, code = run_twin(context, answer=True)
    assert code == 0
    got = partner.got
    scan = got['scan'][-1]
    assert len(scan.ranges) == 360 and scan.header.frame_id == 'laser'
    ranges = np.asarray(scan.ranges)
    assert not np.isnan(ranges).any() and np.isfinite(ranges).any()
    assert scan.angle_min == pytest.approx(-math.pi)
    image, info = got['image'][-1], got['info'][-1]
    assert (image.width, image.height, image.encoding) == (320, 240, 'rgb8')
    assert len(image.data) == image.step * image.height
    assert image.header.frame_id == info.header.frame_id == 'camera_optical_frame'
    assert info.k[0] == pytest.approx(120 / math.tan(math.radians(29)))
    imu = got['imu'][-1]
    assert imu.linear_acceleration.z == pytest.approx(9.8, abs=0.5)
    odom, truth = got['odom'][-1], got['truth'][-1]
    assert (odom.header.frame_id, odom.child_frame_id) == ('odom', 'base_link')
    assert truth.header.frame_id == 'map'
    assert truth.pose.pose.position.x > -2.5 + 0.2  # the 0.3 m/s command moved the base
    # Rates over 2 simulated seconds, none stamped t = 0 (delivery to a consumer starved by this
    # single-threaded test executor is checked across processes in the system tests).
    assert twin.out.counts == {'ImuReading': 200, 'OdomReading': 100, 'GroundTruthReading': 100,
                               'ScanReading': 20, 'ImageReading': 30}
    assert all(len(got[k]) > 0 for k in ('imu', 'scan', 'image', 'odom', 'truth'))
    stamps = [c.clock.sec * 10**9 + c.clock.nanosec for c in got['clock']]
    assert sorted(set(stamps))[:3] == [0, 50_000_000, 100_000_000]
    assert twin.record.outcome == 'completed' and twin.record.control_periods == 40


def test_lockstep_without_a_partner_fails_the_run(context: Context) -> None:
    twin, _, code = run_twin(context, answer=False, startup_timeout_s=0.5)
    assert code == EXIT_LOCKSTEP_TIMEOUT
    assert twin.record.outcome == 'lockstep_timeout'
    assert 'cmd_vel' in twin.record.error


def test_bad_world_fails_configure_with_the_key(context: Context) -> None:
    twin = make_twin(context, world='/nonexistent/world.yaml')
    twin.trigger_configure()
    assert twin.twin is None and twin.exit_code == 2
    twin.destroy_node()


def test_free_run_needs_no_partner_and_stops_without_commands(context: Context) -> None:
    twin, partner, code = run_twin(context, answer=False, clock_mode='free_run')
    assert code == 0 and twin.record.outcome == 'completed'
    assert twin.record.path_length_m == 0.0  # no command ever came: the base stays put
    assert twin.record.lockstep_wait_ms == []


def _stamps(messages: list) -> list[float]:
    return [m.header.stamp.sec + m.header.stamp.nanosec / 1e9 for m in messages]


def test_declared_faults_silence_the_lidar_and_camera_in_their_windows(context: Context) -> None:
    faults = to_params([FaultSpec('silence', 'lidar', 0.5, 0.5),
                        FaultSpec('silence', 'camera', 1.0, 0.5)])
    twin = make_twin(context, faults=faults, seed=4)
    partner = Partner(context, answer=True)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(twin)
    executor.add_node(partner)
    twin.trigger_configure()
    twin.trigger_activate()
    assert twin.run(executor, {'requested': False}) == 0
    got = partner.got

    def after_the_windows() -> bool:
        return (any(t >= 1.0 for t in _stamps(got['scan']))
                and all(any(t >= 1.5 for t in _stamps(got[k])) for k in ('image', 'info')))

    deadline = time.monotonic() + 5.0  # an event with a timeout: data after both windows
    while not after_the_windows() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    twin.trigger_deactivate()
    twin.trigger_cleanup()
    assert after_the_windows()
    assert not [t for t in _stamps(got['scan']) if 0.5 <= t < 1.0]
    assert any(t < 0.5 for t in _stamps(got['scan']))
    for key in ('image', 'info'):  # camera_info goes with the image
        assert not [t for t in _stamps(got[key]) if 1.0 <= t < 1.5], key
        assert any(t < 1.0 for t in _stamps(got[key])), key
    assert any(0.5 <= t < 1.0 for t in _stamps(got['imu']))  # other streams flow on
    # What was published, exactly: 5 of 20 scans and 8 of 30 frames silenced.
    assert twin.out.counts == {'ImuReading': 200, 'OdomReading': 100, 'GroundTruthReading': 100,
                               'ScanReading': 15, 'ImageReading': 22}
    lidar, camera = twin.record.faults
    assert (lidar['affected'], lidar['first_affected_s'], lidar['last_affected_s']) == (
        5, 0.5, 0.9)
    assert (camera['affected'], camera['first_affected_s']) == (8, 1.0)
    assert camera['last_affected_s'] == pytest.approx(22 / 15)
    assert twin.record.to_json()['faults'] == [lidar, camera]


def test_a_bad_faults_parameter_fails_configure(context: Context) -> None:
    twin = make_twin(context, faults='[{"type": "silence", "target": "sonar", "start_s": 1}]')
    twin.trigger_configure()
    assert twin.twin is None and twin.exit_code == 2
    twin.destroy_node()
