"""Recorder node in-process: discovery, QoS per topic, latched messages, sim time, valid file."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import rclpy
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TwistStamped
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Header, String

import robo_edge.nodes.recorder as recorder_module
from robo_edge.exceptions import ConfigError
from robo_edge.nodes.recorder import Recorder
from robo_edge.ros.qos import LATCHED
from robo_edge.ros.readiness import READY_QOS, READY_TOPIC

N = 10
TIMEOUT_S = 15.0
IGNORED = ['/rosout', '/parameter_events']
BEST_EFFORT = QoSProfile(depth=N, reliability=ReliabilityPolicy.BEST_EFFORT)
RELIABLE = QoSProfile(depth=N, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture
def context() -> Iterator[Context]:
    ctx = Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


@pytest.fixture
def executor(context: Context) -> Iterator[SingleThreadedExecutor]:
    executor = SingleThreadedExecutor(context=context)
    yield executor
    executor.shutdown(timeout_sec=1.0)


class Talker:
    """Publishers of the three kinds of topic a run has: sensor, command and latched state."""

    def __init__(self, context: Context) -> None:
        self.node = Node('talker', context=context)
        self.scan = self.node.create_publisher(LaserScan, '/scan', BEST_EFFORT)
        self.cmd = self.node.create_publisher(TwistStamped, '/cmd_vel', RELIABLE)
        self.latched = self.node.create_publisher(String, '/map_name', LATCHED)
        self.clock = self.node.create_publisher(Clock, '/clock', RELIABLE)

    def publish_streams(self, count: int) -> None:
        for index in range(count):
            self.scan.publish(LaserScan(header=stamp(index, 'lidar'), ranges=[float(index), 2.0]))
            cmd = TwistStamped(header=stamp(index, 'base_link'))
            cmd.twist.linear.x = index / 4
            self.cmd.publish(cmd)


def stamp(sec: int, frame: str) -> Header:
    return Header(stamp=Time(sec=sec), frame_id=frame)


def make_recorder(context: Context, path: Path, **overrides: Any) -> Recorder:
    values = {
        'output_path': str(path),
        'exclude_topics': IGNORED,
        'discovery_period_s': 0.05,
        **overrides,
    }
    params = [Parameter(name, value=value) for name, value in values.items()]
    return Recorder(context=context, parameter_overrides=params)


def spin_until(executor: SingleThreadedExecutor, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, 'condition not met before the deadline'
        executor.spin_once(timeout_sec=0.02)


def subscribed(talker: Talker) -> bool:
    return talker.scan.get_subscription_count() > 0 and talker.cmd.get_subscription_count() > 0


def read_back(path: Path) -> dict[str, list[tuple[int, Any]]]:
    by_topic: dict[str, list[tuple[int, Any]]] = {}
    with path.open('rb') as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for _, channel, message, decoded in reader.iter_decoded_messages():
            by_topic.setdefault(channel.topic, []).append((message.log_time, decoded))
    return by_topic


def test_records_discovered_topics_including_latched(
    context: Context, executor: SingleThreadedExecutor, tmp_path: Path
) -> None:
    talker = Talker(context)
    talker.latched.publish(String(data='warehouse_a'))  # before the recorder exists
    executor.add_node(talker.node)
    path = tmp_path / 'runs' / 'run.mcap'
    recorder = make_recorder(context, path, exclude_topics=[*IGNORED, '/clock'])
    executor.add_node(recorder)

    spin_until(executor, lambda: subscribed(talker))
    talker.publish_streams(N)
    expected = {'/scan': N, '/cmd_vel': N, '/map_name': 1}
    spin_until(executor, lambda: recorder.message_counts() == expected)
    assert recorder.skipped_topics() == {}
    executor.remove_node(recorder)
    recorder.destroy_node()

    recorded = read_back(path)
    assert {topic: len(messages) for topic, messages in recorded.items()} == expected
    assert [msg.header.stamp.sec for _, msg in recorded['/scan']] == list(range(N))
    assert [list(msg.ranges) for _, msg in recorded['/scan']] == [[i, 2.0] for i in range(N)]
    assert [msg.twist.linear.x for _, msg in recorded['/cmd_vel']] == [i / 4 for i in range(N)]
    assert [msg.data for _, msg in recorded['/map_name']] == ['warehouse_a']
    assert all(log_time > 0 for messages in recorded.values() for log_time, _ in messages)
    talker.node.destroy_node()


def test_log_time_is_the_node_clock_in_sim_time(
    context: Context, executor: SingleThreadedExecutor, tmp_path: Path
) -> None:
    talker = Talker(context)
    executor.add_node(talker.node)
    path = tmp_path / 'run.mcap'
    recorder = make_recorder(context, path, topics=['scan'], exclude_topics=[], use_sim_time=True)
    executor.add_node(recorder)
    sim_ns = 42_000_000_000

    def clock_reached() -> bool:
        # /clock is volatile: keep offering it until the recorder's time source has it.
        talker.clock.publish(Clock(clock=Time(sec=42)))
        return recorder.get_clock().now().nanoseconds == sim_ns

    spin_until(executor, clock_reached)
    spin_until(executor, lambda: talker.scan.get_subscription_count() > 0)
    talker.publish_streams(N)
    spin_until(executor, lambda: recorder.message_counts() == {'/scan': N})
    executor.remove_node(recorder)
    recorder.destroy_node()
    recorder.destroy_node()  # a second shutdown path must not break the file

    recorded = read_back(path)
    assert list(recorded) == ['/scan']
    assert [log_time for log_time, _ in recorded['/scan']] == [sim_ns] * N
    talker.node.destroy_node()


def test_unimportable_type_is_skipped_once(
    context: Context,
    executor: SingleThreadedExecutor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imports: list[str] = []
    real_import = recorder_module.import_message_class

    def fake_import(type_name: str) -> type | None:
        imports.append(type_name)
        return None if type_name == 'geometry_msgs/msg/TwistStamped' else real_import(type_name)

    discoveries: list[float] = []
    real_discover = Recorder._discover

    def counting_discover(self: Recorder) -> None:
        discoveries.append(time.monotonic())
        real_discover(self)

    monkeypatch.setattr(recorder_module, 'import_message_class', fake_import)
    monkeypatch.setattr(Recorder, '_discover', counting_discover)
    talker = Talker(context)
    executor.add_node(talker.node)
    path = tmp_path / 'run.mcap'
    recorder = make_recorder(context, path, topics=['/scan', '/cmd_vel'])
    executor.add_node(recorder)

    spin_until(executor, lambda: talker.scan.get_subscription_count() > 0)
    seen = len(discoveries)
    spin_until(executor, lambda: len(discoveries) >= seen + 5)
    assert list(recorder.skipped_topics()) == ['/cmd_vel']
    assert imports.count('geometry_msgs/msg/TwistStamped') == 1
    assert talker.cmd.get_subscription_count() == 0
    talker.publish_streams(N)
    spin_until(executor, lambda: recorder.message_counts() == {'/scan': N})
    executor.remove_node(recorder)
    recorder.destroy_node()
    assert {topic: len(messages) for topic, messages in read_back(path).items()} == {'/scan': N}
    talker.node.destroy_node()


@pytest.mark.parametrize(
    ('overrides', 'key'),
    [
        ({}, 'output_path'),
        ({'output_path': 'x.mcap', 'compression': 'gzip'}, 'compression'),
        ({'output_path': 'x.mcap', 'topics': 3}, 'topics'),
        ({'output_path': 'x.mcap', 'exclude_topics': [1, 2]}, 'exclude_topics'),
        ({'output_path': '/proc/robo_edge/x.mcap'}, 'output_path'),
    ],
)
def test_bad_parameters_raise_config_error(
    context: Context, overrides: dict[str, Any], key: str
) -> None:
    params = [Parameter(name, value=value) for name, value in overrides.items()]
    with pytest.raises(ConfigError, match=key):
        Recorder(context=context, parameter_overrides=params)


def test_reports_ready_only_once_every_ready_topic_is_recorded_and_matched(
    context: Context, executor: SingleThreadedExecutor, tmp_path: Path
) -> None:
    talker = Talker(context)
    executor.add_node(talker.node)
    ready: list[str] = []
    talker.node.create_subscription(String, READY_TOPIC, lambda m: ready.append(m.data),
                                    READY_QOS)
    # A slow periodic discovery: readiness must look for its topics by itself.
    recorder = make_recorder(context, tmp_path / 'run.mcap', discovery_period_s=60.0,
                             ready_topics=['/scan', '/late'])
    executor.add_node(recorder)
    spin_until(executor, lambda: talker.scan.get_subscription_count() > 0)
    for _ in range(25):
        executor.spin_once(timeout_sec=0.02)
    assert ready == [] and not recorder.readiness.ready  # /late has no writer yet
    late = talker.node.create_publisher(String, '/late', RELIABLE)
    spin_until(executor, lambda: ready == ['recorder'])
    spin_until(executor, lambda: late.get_subscription_count() > 0)
    late.publish(String(data='first'))
    spin_until(executor, lambda: recorder.message_counts().get('/late') == 1)
    executor.remove_node(recorder)
    recorder.destroy_node()
    talker.node.destroy_node()


def test_the_default_profile_keeps_one_camera_copy_and_rate_limits_images_and_grids(
    context: Context, executor: SingleThreadedExecutor, tmp_path: Path
) -> None:
    """Simulated 0.05 s apart: the driver's images at <= 5 Hz, grids at <= 0.5 Hz."""
    from nav_msgs.msg import OccupancyGrid
    from sensor_msgs.msg import Image

    talker = Talker(context)
    raw = talker.node.create_publisher(Image, '/camera/image_raw', RELIABLE)
    ingested = talker.node.create_publisher(Image, '/sensors/camera/image', RELIABLE)
    grid = talker.node.create_publisher(OccupancyGrid, '/map', RELIABLE)
    executor.add_node(talker.node)
    path = tmp_path / 'run.mcap'
    recorder = make_recorder(context, path, use_sim_time=True,
                             exclude_topics=[*IGNORED, '/clock'])
    executor.add_node(recorder)
    now = [0]

    def at(ns: int) -> bool:
        talker.clock.publish(Clock(clock=Time(sec=ns // 10**9, nanosec=ns % 10**9)))
        return recorder.get_clock().now().nanoseconds == ns

    spin_until(executor, lambda: at(1))
    spin_until(executor, lambda: raw.get_subscription_count() > 0
               and grid.get_subscription_count() > 0
               and '/sensors/camera/image' in recorder.skipped_topics())
    assert 'default profile' in recorder.skipped_topics()['/sensors/camera/image']
    for k in range(60):  # 3 s of simulated time at 20 Hz
        now[0] = 1 + k * 50_000_000
        spin_until(executor, lambda: at(now[0]))
        raw.publish(Image(header=stamp(k, 'camera')))
        ingested.publish(Image(header=stamp(k, 'camera')))
        grid.publish(OccupancyGrid(header=stamp(k, 'map')))
        spin_until(executor, lambda k=k: sum(recorder.message_counts().values())
                   + sum(recorder.dropped_by_rate().values()) >= 2 * (k + 1))
    counts = {topic: n for topic, n in recorder.message_counts().items() if n}
    dropped = recorder.dropped_by_rate()
    assert counts == {'/camera/image_raw': 15, '/map': 2}  # every 0.2 s and every 2 s
    assert dropped == {'/camera/image_raw': 45, '/map': 58}
    executor.remove_node(recorder)
    recorder.destroy_node()
    recorded = read_back(path)
    assert [msg.header.stamp.sec for _, msg in recorded['/camera/image_raw']] == list(
        range(0, 60, 4))
    talker.node.destroy_node()


def test_an_unknown_profile_is_refused(context: Context, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='profile'):
        make_recorder(context, tmp_path / 'run.mcap', profile='everything')
