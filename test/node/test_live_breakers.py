"""Node tests: sensor_guard's and mode_manager's live parameters, set on the running nodes.

sensor_guard runs on lockstep ticks played by the probe of test_breaker_nodes; mode_manager is
fed breaker arrays. Each test changes a parameter mid-run and watches the breakers, the mode
and the speed limit the nodes publish.
"""

import math

import numpy as np
import pytest
from rclpy.parameter import Parameter
from test_breaker_nodes import TICK_NS, Probe, lidar_scan, opened_breakers

from robo_edge.breakers.breaker import BreakerStatus
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.nodes.mode_manager import ModeManagerNode
from robo_edge.nodes.sensor_guard import SensorGuardNode
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros.breaker_messages import breakers_array, read_states

MS = 1_000_000


def nan_every_third(t: int) -> bool:
    """The LiDAR scans that come all NaN (invalid): one slot in three."""
    return (t // (100 * MS)) % 3 == 0


def run(probe: Probe, ticks: range) -> None:
    """Tick on, the LiDAR sending an invalid scan at every third slot."""
    for k in ticks:
        t = k * TICK_NS
        if t % (100 * MS) == 0 and nan_every_third(t):
            scan = lidar_scan(t)
            scan.ranges = [math.nan] * len(scan.ranges)
            probe.lidar.publish(scan)
            probe.tick(t, lidar=False)
        else:
            probe.tick(t)


def relayed(probe: Probe, slot_ns: int) -> bool:
    """Whether /safety/scan at the slot is the LiDAR's scan."""
    lidar = np.asarray(lidar_scan(slot_ns).ranges, dtype=np.float32)
    return np.array_equal(probe.safety[slot_ns], lidar)


def test_a_lowered_invalid_fraction_opens_the_lidar_breaker(context, tmp_path) -> None:
    guard = SensorGuardNode(context=context, parameter_overrides=[
        Parameter('use_sim_time', value=True), Parameter('input_wait_s', value=0.3),
        Parameter('sources', value=['lidar', 'odometry', 'controller']),
        Parameter('events_path', value=str(tmp_path / 'breakers.jsonl'))])
    probe = Probe(context, [guard])
    try:
        assert probe.spin_until(lambda: all(p.get_subscription_count() >= 1 for p in (
            probe.clock, probe.lidar, probe.odom, probe.raw)) and guard.readiness.ready)
        run(probe, range(1, 61))  # 3 s, past the grace: a third invalid is under 0.5
        assert opened_breakers(tmp_path) == []
        breaker = guard.guard.breakers[Source.LIDAR]
        # Out of range, or a mount that is no pose: refused with the reason, nothing changes.
        refused = guard.set_parameters([Parameter('lidar.invalid_fraction', value=1.5)])[0]
        assert not refused.successful and 'lidar.invalid_fraction' in refused.reason
        mount = guard.set_parameters([Parameter('laser_offset', value=[0.1, 0.0])])[0]
        assert not mount.successful and 'laser_offset' in mount.reason
        assert '[x, y, yaw]' in mount.reason and guard.vote_inputs.laser == Pose2D(0, 0, 0)
        assert breaker.config.invalid_fraction == 0.5
        # A rate sets the lockstep schedule: read-only.
        rate = guard.set_parameters([Parameter('lidar.nominal_rate_hz', value=15.0)])[0]
        assert not rate.successful and 'read-only' in rate.reason
        run(probe, range(61, 81))
        assert opened_breakers(tmp_path) == [], 'the old threshold is still in force'
        lowered = guard.set_parameters([Parameter('lidar.invalid_fraction', value=0.2)])[0]
        assert lowered.successful and breaker.config.invalid_fraction == 0.2
        run(probe, range(81, 85))
        [opened] = opened_breakers(tmp_path)
        assert opened['source'] == 'lidar' and opened['detail'].startswith('invalid')
        assert opened['t'] == pytest.approx(81 * TICK_NS / 1e9), 'at the next tick'
        assert read_states(probe.arrays[84 * TICK_NS])[Source.LIDAR] is BreakerState.OPEN
        assert relayed(probe, 4000 * MS) and not relayed(probe, 4100 * MS), (
            'valid LiDAR scans, no longer relayed once its breaker opened')
    finally:
        probe.close()


def array(stamp_ns: int, imu: BreakerState) -> object:
    statuses = {s: BreakerStatus(s, imu if s is Source.IMU else BreakerState.CLOSED, 0, False,
                                 None, 0) for s in Source}
    return breakers_array(statuses, Selection(Source.LIDAR, 0, None, False, False), {},
                          stamp_ns)


def test_mode_manager_judges_and_caps_by_the_mode_config_set_live(context) -> None:
    manager = ModeManagerNode(context=context, parameter_overrides=[
        Parameter('use_sim_time', value=True)])
    probe = Probe(context, [manager])
    stamp = [0]

    def send(imu: BreakerState) -> None:
        stamp[0] += TICK_NS
        updates = manager.updates
        probe.breakers_pub.publish(array(stamp[0], imu))
        assert probe.spin_until(lambda: manager.updates > updates)

    try:
        assert probe.spin_until(lambda: manager.readiness.ready)
        send(BreakerState.OPEN)
        assert probe.spin_until(lambda: probe.modes and probe.modes[-1].startswith('DEGRADED'))
        assert probe.spin_until(lambda: probe.caps and probe.caps[-1] == pytest.approx(0.3))
        # A DEGRADED cap set live goes out at once.
        assert manager.set_parameters([Parameter('degraded_speed_cap', value=0.1)])[0].successful
        assert probe.spin_until(lambda: probe.caps[-1] == pytest.approx(0.1))
        # Inconsistent (odometry both required and degrading): refused, the mode stays.
        both = manager.set_parameters([Parameter('degrading', value=['imu', 'odometry'])])[0]
        assert not both.successful and 'consistent' in both.reason
        unknown = manager.set_parameters([Parameter('required', value=['gps'])])[0]
        assert not unknown.successful and 'required' in unknown.reason
        hold = manager.set_parameters([Parameter('hold_s', value=1.0)])[0]
        assert not hold.successful and 'read-only' in hold.reason
        send(BreakerState.OPEN)
        assert probe.modes[-1].startswith('DEGRADED') and manager.manager.config.degrading == (
            Source.IMU,)
        # The IMU made required: the next breaker array stops the robot.
        assert manager.set_parameters_atomically([
            Parameter('degrading', value=['camera']),
            Parameter('required', value=['odometry', 'controller', 'imu'])]).successful
        send(BreakerState.OPEN)
        assert probe.spin_until(lambda: probe.modes[-1].startswith('SAFE_STOP'))
        assert 'imu open' in probe.modes[-1]
        assert probe.spin_until(lambda: probe.caps[-1] == 0.0)
    finally:
        probe.close()
