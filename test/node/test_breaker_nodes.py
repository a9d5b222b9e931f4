"""Node tests: sensor_guard and mode_manager on lockstep ticks, with a probe playing the twin.

The probe publishes what is due at t_k (odometry, the controller's command, the LiDAR and the
virtual scan at 10 Hz slots), then `/clock = t_k`, and waits for the guard's breaker array
stamped t_k. Every wait spins one executor until a condition holds or a wall deadline.
"""

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import Spinner
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, LaserScan
from std_msgs.msg import Float64, Header, String

from robo_edge.breakers.breaker import BreakerStatus
from robo_edge.breakers.events import read_events
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.nodes.mode_manager import ModeManagerNode
from robo_edge.nodes.sensor_guard import SensorGuardNode
from robo_edge.ros import qos
from robo_edge.ros.breaker_messages import breakers_array, read_selection, read_states
from robo_edge.ros.perception_messages import inference_msg
from robo_edge.ros.stamps import from_msg, to_msg

MS = 1_000_000
TICK_NS = 50 * MS
TIMEOUT_S = 5.0
KEEP_ALL = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                      reliability=ReliabilityPolicy.RELIABLE)
KEEP_ALL_BEST_EFFORT = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                                  reliability=ReliabilityPolicy.BEST_EFFORT)
WALL_M = 2.0  # a wall 2 m ahead, seen alike by the LiDAR and the camera


def lidar_scan(stamp_ns: int) -> LaserScan:
    msg = LaserScan()
    msg.header.stamp, msg.header.frame_id = to_msg(stamp_ns), 'laser'
    msg.angle_min, msg.angle_increment = -math.pi, 2 * math.pi / 360
    msg.angle_max = msg.angle_min + msg.angle_increment * 359
    msg.range_min, msg.range_max = 0.1, 12.0
    angles = msg.angle_min + msg.angle_increment * np.arange(360)
    ranges = np.where(np.abs(angles) < math.radians(45), WALL_M / np.cos(angles), np.inf)
    noise = np.random.default_rng(stamp_ns).normal(0.0, 0.005, 360)  # a real LiDAR's jitter
    msg.ranges = (ranges + noise).astype(np.float32).tolist()
    return msg


def virtual_scan(stamp_ns: int) -> LaserScan:
    msg = LaserScan()
    msg.header.stamp, msg.header.frame_id = to_msg(stamp_ns), 'base_link'
    msg.angle_min, msg.angle_increment = -math.radians(30), math.radians(0.5)
    msg.angle_max = math.radians(30)
    msg.range_min, msg.range_max = 0.1, 4.0
    angles = msg.angle_min + msg.angle_increment * np.arange(121)
    msg.ranges = (WALL_M / np.cos(angles)).astype(np.float32).tolist()
    return msg


def odom(stamp_ns: int) -> Odometry:
    msg = Odometry()
    msg.header.stamp, msg.header.frame_id = to_msg(stamp_ns), 'odom'
    msg.pose.pose.orientation.w = 1.0
    return msg


def imu(stamp_ns: int) -> Imu:
    msg = Imu()
    msg.header.stamp, msg.header.frame_id = to_msg(stamp_ns), 'imu_link'
    msg.orientation.w = 1.0
    msg.linear_acceleration.z = 9.81 + np.random.default_rng(stamp_ns).normal(0.0, 0.01)
    return msg


def imu_burst(t: int) -> list[Imu]:
    """The 100 Hz samples of the control period ending at t, as the twin sends them."""
    return [imu(s) for s in range(t - 40 * MS, t + 1, 10 * MS) if s > 0]


def command(stamp_ns: int) -> TwistStamped:
    msg = TwistStamped()
    msg.header.stamp = to_msg(stamp_ns)
    msg.twist.linear.x = 0.3
    return msg


class Probe(Node):
    """Plays the twin and the controller; keeps the guard's and the manager's outputs."""

    def __init__(self, context: rclpy.Context, nodes: list[Node]) -> None:
        super().__init__('breaker_probe', context=context)
        self.spinner = Spinner(context, [*nodes, self], TIMEOUT_S, step_s=0.005)
        self.clock = self.create_publisher(Clock, '/clock', qos.CLOCK)
        self.lidar = self.create_publisher(LaserScan, '/sensors/scan', qos.SENSOR)
        self.virtual = self.create_publisher(LaserScan, '/perception/scan', qos.SENSOR)
        self.odom = self.create_publisher(Odometry, '/odom', qos.SENSOR_BURST)
        self.raw = self.create_publisher(TwistStamped, '/cmd_vel_raw', qos.COMMAND)
        self.breakers_pub = self.create_publisher(DiagnosticArray, '/robo_edge/breakers',
                                                  qos.DIAGNOSTICS)
        self.safety: dict[int, np.ndarray] = {}
        self.arrays: dict[int, DiagnosticArray] = {}
        self.modes: list[str] = []
        self.caps: list[float] = []
        self.sources: list[str] = []
        self.create_subscription(LaserScan, '/safety/scan', self._on_safety, KEEP_ALL_BEST_EFFORT)
        self.create_subscription(DiagnosticArray, '/robo_edge/breakers', self._on_array,
                                 KEEP_ALL)
        self.create_subscription(String, '/robo_edge/mode', lambda m: self.modes.append(m.data),
                                 qos.LATCHED)
        self.create_subscription(Float64, '/robo_edge/speed_limit',
                                 lambda m: self.caps.append(m.data), KEEP_ALL)
        self.create_subscription(String, '/robo_edge/obstacle_source',
                                 lambda m: self.sources.append(m.data), qos.LATCHED)

    def _on_safety(self, msg: LaserScan) -> None:
        self.safety[from_msg(msg.header.stamp)] = np.asarray(msg.ranges, dtype=np.float32)

    def _on_array(self, msg: DiagnosticArray) -> None:
        self.arrays[from_msg(msg.header.stamp)] = msg

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def tick(self, t: int, lidar: bool = True, perception: bool = True,
             odom_of: Callable[[int], Odometry] = odom,
             virtual_of: Callable[[int], LaserScan] = virtual_scan) -> DiagnosticArray:
        """Publish what is due at t, then the clock; return the guard's array stamped t."""
        self.odom.publish(odom_of(t))
        self.raw.publish(command(t))
        if t % (100 * MS) == 0 and t > 0:
            if lidar:
                self.lidar.publish(lidar_scan(t))
            if perception:
                self.virtual.publish(virtual_of(t))
        deadline = time.monotonic() + TIMEOUT_S
        while t not in self.arrays:
            assert time.monotonic() < deadline, f'no breaker array stamped {t}'
            self.clock.publish(Clock(clock=to_msg(t)))
            self.spin_until(lambda: t in self.arrays, 0.05)
        return self.arrays[t]

    def close(self) -> None:
        self.spinner.close()


def guard_and_manager(context: rclpy.Context, tmp_path: Path, sources: list[str]) -> Probe:
    sim = Parameter('use_sim_time', value=True)
    guard = SensorGuardNode(context=context, parameter_overrides=[
        sim, Parameter('sources', value=sources), Parameter('input_wait_s', value=0.3),
        Parameter('events_path', value=str(tmp_path / 'breakers.jsonl'))])
    manager = ModeManagerNode(context=context, parameter_overrides=[
        sim, Parameter('events_path', value=str(tmp_path / 'modes.jsonl'))])
    probe = Probe(context, [guard, manager])
    assert probe.spin_until(lambda: all(p.get_subscription_count() >= 1 for p in (
        probe.clock, probe.lidar, probe.odom, probe.raw)) and guard.readiness.ready
        and manager.readiness.ready), 'discovery did not complete'
    return probe


def run(probe: Probe, ticks: range, **inputs: bool) -> None:
    for k in ticks:
        probe.tick(k * TICK_NS, **inputs)


def test_lidar_silence_falls_back_to_the_virtual_scan_and_degrades(context, tmp_path) -> None:
    probe = guard_and_manager(context, tmp_path, ['lidar', 'perception', 'odometry',
                                                  'controller'])
    try:
        run(probe, range(1, 61))  # 3 s: past the 2 s grace, everything healthy
        slots = [k * 100 * MS for k in range(1, 31)]
        differ = [s for s in slots if not np.array_equal(
            probe.safety[s], np.asarray(lidar_scan(s).ranges, dtype=np.float32))]
        assert differ == [], 'the LiDAR is relayed unchanged on every slot'
        assert probe.spin_until(lambda: probe.modes and probe.modes[-1].startswith('NOMINAL'))
        run(probe, range(61, 81), lidar=False)  # the LiDAR falls silent after 3.0 s
        opened = [e for e in read_events([tmp_path / 'breakers.jsonl'])
                  if e['kind'] == 'breaker' and e['state'] == 'open']
        assert len(opened) == 1 and opened[0]['source'] == 'lidar'
        # 350 ms after the last scan, on the next 50 ms tick: <= 300 ms after the first missed.
        assert 0.35 < opened[0]['t'] - 3.0 <= 0.4
        states = read_states(probe.arrays[80 * TICK_NS])
        assert states[Source.LIDAR] is BreakerState.OPEN
        assert read_selection(probe.arrays[80 * TICK_NS]).name == 'perception'
        fallback = probe.safety[4000 * MS]
        ahead = fallback[180]  # beam 180 is straight ahead
        assert ahead == pytest.approx(WALL_M, abs=0.01)
        assert np.isnan(fallback[0])  # behind: the camera does not look there
        assert probe.spin_until(lambda: probe.modes[-1].startswith('DEGRADED'))
        assert probe.spin_until(lambda: probe.caps and probe.caps[-1] == pytest.approx(0.3))
        assert probe.sources[-1] == 'perception'
        [mode] = [e for e in read_events([tmp_path / 'modes.jsonl']) if e['kind'] == 'mode']
        assert mode['mode'] == 'DEGRADED' and mode['t'] == opened[0]['t']
    finally:
        probe.close()


def test_without_a_fallback_the_scan_says_nothing_and_the_robot_stops(context, tmp_path) -> None:
    probe = guard_and_manager(context, tmp_path, ['lidar', 'odometry', 'controller'])
    try:
        run(probe, range(1, 61), perception=False)
        run(probe, range(61, 81), lidar=False, perception=False)
        assert np.all(np.isnan(probe.safety[4000 * MS]))  # no information, yet published
        assert probe.spin_until(lambda: probe.modes[-1].startswith('SAFE_STOP'))
        assert probe.spin_until(lambda: probe.caps and probe.caps[-1] == 0.0)  # stop
        assert 'no obstacle source' in probe.modes[-1]
    finally:
        probe.close()


def test_mode_manager_stops_when_the_guard_falls_silent(context) -> None:
    manager = ModeManagerNode(context=context, parameter_overrides=[
        Parameter('use_sim_time', value=True), Parameter('guard_timeout_s', value=0.5)])
    probe = Probe(context, [manager])
    try:
        assert probe.spin_until(lambda: probe.clock.get_subscription_count() >= 1
                                and manager.readiness.ready)
        for k in range(1, 30):  # the clock runs on, the guard never speaks after 0.5 s
            t = k * TICK_NS
            if t <= 500 * MS:
                probe.breakers_pub.publish(healthy_array(t))
            probe.clock.publish(Clock(clock=to_msg(t)))
            probe.spin_until(lambda: False, 0.01)
        assert probe.spin_until(lambda: probe.modes and probe.modes[-1].startswith(
            'SAFE_STOP'))
        assert probe.spin_until(lambda: probe.caps and probe.caps[-1] == 0.0)  # stop
    finally:
        probe.close()


def healthy_array(stamp_ns: int) -> DiagnosticArray:
    statuses = {s: BreakerStatus(s, BreakerState.CLOSED, 0, False, None, 0) for s in Source}
    return breakers_array(statuses, Selection(Source.LIDAR, 0, None, False, False), {},
                          stamp_ns)


def test_a_collapsed_model_confidence_opens_the_perception_breaker(context, tmp_path) -> None:
    probe = guard_and_manager(context, tmp_path, ['lidar', 'perception', 'odometry',
                                                  'controller'])
    inference = probe.create_publisher(DiagnosticArray, '/perception/inference', qos.SENSOR)
    try:
        assert probe.spin_until(lambda: inference.get_subscription_count() >= 1)
        for k in range(1, 81):
            t = k * TICK_NS
            confidence = 0.9 if t < 3 * 1_000_000_000 else 0.05  # collapses at 3 s
            inference.publish(inference_msg(Header(stamp=to_msg(t)), 5.0, confidence, 0))
            probe.tick(t)
        opened = [e for e in read_events([tmp_path / 'breakers.jsonl'])
                  if e['kind'] == 'breaker' and e['state'] == 'open']
        assert [e['source'] for e in opened] == ['perception']
        assert opened[0]['detail'].startswith('low_confidence')
        assert 3.0 < opened[0]['t'] <= 4.1  # within the 1 s model window
        assert read_states(probe.arrays[80 * TICK_NS])[Source.LIDAR] is BreakerState.CLOSED
    finally:
        probe.close()


def test_on_a_timer_the_fallback_goes_live_within_a_tick_and_keeps_its_period(
        context, tmp_path) -> None:
    """A robot's sensor_guard (tick_source timer, 50 Hz): no lockstep, scans on their own."""
    guard = SensorGuardNode(context=context, parameter_overrides=[
        Parameter('use_sim_time', value=True), Parameter('tick_source', value='timer'),
        Parameter('sources', value=['lidar', 'perception', 'odometry', 'controller']),
        Parameter('events_path', value=str(tmp_path / 'breakers.jsonl'))])
    probe = Probe(context, [guard])
    period_ns = round(1e9 / guard.values['rate_hz'])
    try:
        assert probe.spin_until(lambda: all(p.get_subscription_count() >= 1 for p in (
            probe.clock, probe.lidar, probe.odom, probe.raw)) and guard.readiness.ready)
        for k in range(1, 201):  # 4 s of 20 ms clock steps; the LiDAR stops after 3.0 s
            t = k * period_ns
            probe.odom.publish(odom(t))
            probe.raw.publish(command(t))
            if t % (100 * MS) == 0:
                if t <= 3000 * MS:
                    probe.lidar.publish(lidar_scan(t))
                probe.virtual.publish(virtual_scan(t))
            arrays = len(probe.arrays)
            probe.clock.publish(Clock(clock=to_msg(t)))
            assert probe.spin_until(lambda n=arrays: len(probe.arrays) > n), f'no tick at {t}'
        stamps = sorted(probe.safety)
        assert stamps[0] == period_ns and np.all(np.isnan(probe.safety[period_ns])), \
            'before the first scan: no information, yet published'
        relayed = [s for s in stamps if 100 * MS <= s <= 3000 * MS]
        assert relayed == [k * 100 * MS for k in range(1, 31)], 'each LiDAR scan relayed once'
        [opened] = [e for e in read_events([tmp_path / 'breakers.jsonl'])
                    if e['kind'] == 'breaker' and e['state'] == 'open']
        assert opened['source'] == 'lidar'
        assert 0.35 < opened['t'] - 3.0 <= 0.35 + period_ns / 1e9  # the first tick past 350 ms
        fallback = [s for s in stamps if s > 3000 * MS]
        assert fallback[0] == round(opened['t'] * 1e9), 'the fallback is live at the switch'
        assert all(b - a == 100 * MS for a, b in zip(fallback, fallback[1:], strict=False))
        assert len(fallback) == 7  # 3.36 s to 3.96 s, one per LiDAR period
        assert probe.safety[fallback[-1]][180] == pytest.approx(WALL_M, abs=0.01)
    finally:
        probe.close()


def guard_with_imu(context: rclpy.Context, tmp_path: Path) -> tuple[Probe, SensorGuardNode]:
    guard = SensorGuardNode(context=context, parameter_overrides=[
        Parameter('use_sim_time', value=True), Parameter('input_wait_s', value=0.3),
        Parameter('sources', value=['lidar', 'imu', 'odometry', 'controller']),
        Parameter('events_path', value=str(tmp_path / 'breakers.jsonl'))])
    probe = Probe(context, [guard])
    probe.imu = probe.create_publisher(Imu, '/sensors/imu', qos.SENSOR_BURST)
    assert probe.spin_until(lambda: probe.imu.get_subscription_count() >= 1
                            and guard.readiness.ready), 'discovery did not complete'
    return probe, guard


def publish_imu(probe: Probe, t: int) -> None:
    for sample in imu_burst(t):
        probe.imu.publish(sample)


def opened_breakers(tmp_path: Path) -> list[dict]:
    return [e for e in read_events([tmp_path / 'breakers.jsonl'])
            if e['kind'] == 'breaker' and e['state'] == 'open']


def test_in_lockstep_a_stalled_imu_ingest_is_waited_for_not_taken_for_silence(
        context, tmp_path) -> None:
    """The IMU comes 4 ticks late, as from a descheduled ingest: ticks wait, nothing trips.

    Timed by the node's clock on arrival, the stall would read as 200 ms of silence (the limit
    is 100 ms) and open the IMU breaker; held for the tick it belongs to, it is on time.
    """
    probe, guard = guard_with_imu(context, tmp_path)
    try:
        for k in range(1, 51):  # 2.5 s, healthy and on time: past the 2 s grace
            publish_imu(probe, k * TICK_NS)
            probe.tick(k * TICK_NS)
        stalled = [k * TICK_NS for k in range(51, 55)]
        for t in stalled:  # the twin goes on; the IMU ingest is stalled
            probe.odom.publish(odom(t))
            probe.raw.publish(command(t))
            if t % (100 * MS) == 0:
                probe.lidar.publish(lidar_scan(t))
            probe.clock.publish(Clock(clock=to_msg(t)))
        probe.spin_until(lambda: False, 0.1)  # a stall shorter than the 0.3 s wait
        assert not any(t in probe.arrays for t in stalled), 'no tick answered without its IMU'
        for t in stalled:
            publish_imu(probe, t)
        # /clock keeps only the newest tick (depth 1): the guard may skip the ones between.
        assert probe.spin_until(lambda: stalled[-1] in probe.arrays)
        for k in range(55, 71):
            publish_imu(probe, k * TICK_NS)
            probe.tick(k * TICK_NS)
        assert opened_breakers(tmp_path) == []
        assert read_states(probe.arrays[70 * TICK_NS])[Source.IMU] is BreakerState.CLOSED
        assert guard.counts['late_ticks'] == 0
    finally:
        probe.close()


def test_in_lockstep_imu_silence_opens_its_breaker_at_the_same_tick_every_run(
        context, tmp_path) -> None:
    """Silent after 3.0 s: 100 ms after the last sample's tick, on the next tick (3.15 s).

    Each tick waits (bounded) for the samples that never come while the breaker is closed,
    and counts as late; once it is open nothing waits for the IMU.
    """
    probe, guard = guard_with_imu(context, tmp_path)
    try:
        for k in range(1, 61):
            publish_imu(probe, k * TICK_NS)
            probe.tick(k * TICK_NS)
        run(probe, range(61, 71))
        [opened] = opened_breakers(tmp_path)
        assert opened['source'] == 'imu' and opened['t'] == pytest.approx(3.15)
        assert read_states(probe.arrays[70 * TICK_NS])[Source.IMU] is BreakerState.OPEN
        assert guard.counts['late_ticks'] == 3  # 3.05, 3.10 and 3.15 s waited in vain
    finally:
        probe.close()
