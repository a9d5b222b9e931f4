"""Teleop reaches the base only through the safety gate, under navigation's limits.

The real SafetyGateNode ticks on its own 20 Hz timer (`tick_source: timer`, as on a robot); a
driver node (test_gate_fail_closed.Driver, extended) plays the controller, the guard, the mode
manager and an operator on `/cmd_vel_teleop`, stamping with the same (system) clock, and keeps
every /cmd_vel the gate sends. Each phase spins until the gate's answer shows, bounded in wall
time. The last test runs the gate in lockstep: teleop is optional there, no tick waits for it.
"""

import math

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped
from rclpy.parameter import Parameter
from rclpy.time import Duration, Time
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Float64
from test_controller_gate_nodes import TICK_NS, Probe, drive_gate, twist
from test_gate_fail_closed import BEAMS, Driver, at_speed, stopped_for

from robo_edge.nodes.safety_gate import SafetyGateNode
from robo_edge.ros import qos
from robo_edge.safety.command_mux import Source

NAV = 0.4  # what navigation asks for throughout


class TeleopDriver(Driver):
    """Adds an operator (`teleop`: linear speed, None silent) and an obstacle ahead."""

    def __init__(self, context: rclpy.Context, gate: SafetyGateNode) -> None:
        super().__init__(context, gate)
        self.teleop_pub = self.create_publisher(TwistStamped, '/cmd_vel_teleop', qos.COMMAND)
        self.teleop: float | None = None
        self.teleop_age_s = 0.0  # stamp teleop this far back (negative: in the future)
        self.obstacle_m: float | None = None
        self.nav = NAV
        self.diagnostics: dict[str, str] = {}
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 qos.DIAGNOSTICS)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == 'robo_edge/safety_gate':
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def _publish(self) -> None:
        now = self.get_clock().now()
        command = TwistStamped()
        command.header.stamp, command.header.frame_id = now.to_msg(), 'base_link'
        command.twist.linear.x = self.nav
        self.raw.publish(command)
        if self.teleop is not None:
            teleop = TwistStamped()
            teleop.header.stamp = (now - Duration(nanoseconds=round(self.teleop_age_s * 1e9))
                                   ).to_msg()
            teleop.twist.linear.x = self.teleop
            self.teleop_pub.publish(teleop)
        self.scan.publish(self._scan(now))
        if self.cap_value is not None:
            self.cap.publish(Float64(data=self.cap_value))

    def _scan(self, now: Time) -> LaserScan:
        scan = LaserScan()
        scan.header.stamp, scan.header.frame_id = now.to_msg(), 'laser'
        scan.angle_min, scan.angle_increment = -math.pi, 2 * math.pi / BEAMS
        scan.angle_max = scan.angle_min + scan.angle_increment * (BEAMS - 1)
        scan.range_min, scan.range_max = 0.12, 12.0
        ranges = np.full(BEAMS, np.inf, dtype=np.float32)
        if self.obstacle_m is not None:
            ranges[BEAMS // 2] = self.obstacle_m  # straight ahead
        scan.ranges = ranges.tolist()
        return scan


@pytest.fixture
def driver(context):
    gate = SafetyGateNode(context=context, parameter_overrides=[
        Parameter('tick_source', value='timer'), Parameter('diagnostics_period_s', value=0.1)])
    driver = TeleopDriver(context, gate)
    yield driver
    driver.spinner.close()


def test_teleop_outranks_navigation_under_the_cap_and_hands_back_when_stale(driver) -> None:
    gate = driver.gate
    driver.cap_value = math.inf
    driver.until(at_speed(NAV))
    assert gate.teleop.source is Source.NAVIGATION
    driver.teleop = 0.2  # the operator takes over while navigation keeps commanding 0.4
    driver.until(at_speed(0.2))
    assert gate.teleop.source is Source.TELEOP and gate.teleop.teleop_ticks > 0
    capped = gate.reasons['capped']
    driver.cap_value = 0.1  # DEGRADED: teleop is capped like navigation
    out = driver.until(at_speed(0.1))
    assert gate.reasons['capped'] > capped and out[-1] <= 0.1 + 1e-9
    driver.cap_value = math.inf
    driver.until(at_speed(0.2))
    # The deadman released: zero twists keep priority (stopped), navigation does not drive.
    driver.teleop = 0.0
    driver.until(stopped_for(12))
    assert gate.teleop.source is Source.TELEOP
    # The operator falls silent: once the last command is 0.5 s old, navigation drives again.
    driver.teleop = None
    driver.until(at_speed(NAV))
    assert gate.teleop.source is Source.NAVIGATION and gate.teleop.drops['expired'] >= 1
    assert driver.spinner.spin_until(lambda: driver.diagnostics.get('source') == 'navigation')
    assert int(driver.diagnostics['teleop_ticks']) > 0
    assert int(driver.diagnostics['teleop_expired']) >= 1


def test_teleop_stops_for_an_obstacle_ahead(driver) -> None:
    gate = driver.gate
    driver.cap_value, driver.nav, driver.teleop = math.inf, 0.0, 0.3
    driver.until(at_speed(0.3))
    driver.obstacle_m = 0.3  # within the braking envelope
    driver.until(stopped_for(10))
    assert gate.teleop.source is Source.TELEOP
    assert gate.reasons['obstacle_slow'] + gate.reasons['hard_stop'] >= 10
    driver.obstacle_m = None
    driver.until(at_speed(0.3))


def test_teleop_without_a_speed_limit_stops(driver) -> None:
    gate = driver.gate
    driver.teleop = 0.3  # no speed limit has ever arrived (the mode manager is not up)
    driver.until(stopped_for(10))
    assert gate.teleop.source is Source.TELEOP and gate.reasons['stop_requested'] >= 10
    driver.cap_value = math.inf
    driver.until(at_speed(0.3))


def test_teleop_timeout_is_live_and_old_future_or_nan_commands_do_not_drive(driver) -> None:
    gate = driver.gate
    driver.cap_value, driver.teleop, driver.teleop_age_s = math.inf, 0.2, 0.25
    driver.until(at_speed(0.2))  # 0.25 s old: fresh under the 0.5 s default
    stale = gate.teleop.drops['stale']
    assert gate.set_parameters([Parameter('teleop_timeout_s', value=0.1)])[0].successful
    driver.until(at_speed(NAV))  # now too old: each one dropped, navigation drives
    assert gate.teleop.drops['stale'] > stale and gate.teleop.config.teleop_timeout_s == 0.1
    refused = gate.set_parameters([Parameter('teleop_timeout_s', value=0.0)])[0]  # < range
    assert not refused.successful and gate.teleop.config.teleop_timeout_s == 0.1
    assert gate.set_parameters([Parameter('teleop_timeout_s', value=0.5)])[0].successful
    driver.until(at_speed(0.2))
    driver.teleop = math.nan  # each one dropped: navigation drives
    driver.until(at_speed(NAV))
    assert gate.teleop.drops['non_finite'] >= 1
    driver.teleop, driver.teleop_age_s = 0.2, 0.0
    driver.until(at_speed(0.2))
    driver.teleop_age_s = -1.0  # stamped a second ahead of the gate's clock
    driver.until(at_speed(NAV))
    assert gate.teleop.drops['future'] >= 1


def test_in_lockstep_no_tick_waits_for_teleop_and_fresh_teleop_drives(context) -> None:
    gate = SafetyGateNode(context=context)
    probe = Probe(context, [gate])
    teleop = probe.create_publisher(TwistStamped, '/cmd_vel_teleop', qos.COMMAND)

    def ticks(ticks: range, operator: float | None) -> list[float]:
        speeds = []
        for k in ticks:
            probe.cap.publish(Float64(data=math.inf))  # a live mode manager: no cap
            if operator is not None:  # stamped with the simulated clock, like every input
                teleop.publish(twist(k * TICK_NS, operator))
            speeds += [v.linear for v, _ in drive_gate(probe, range(k, k + 1), NAV)]
        return speeds

    try:
        probe.connect({probe.clock_pub: 1, probe.scan: 1, probe.raw: 1, probe.cap: 1,
                       teleop: 1})
        assert ticks(range(0, 12), None)[-1] == pytest.approx(NAV)  # teleop matched, silent
        assert gate.late_ticks == 0
        assert ticks(range(12, 24), 0.2)[-1] == pytest.approx(0.2)
        assert gate.teleop.teleop_ticks > 0
        assert ticks(range(24, 40), None)[-1] == pytest.approx(NAV)  # silent: navigation
        assert gate.late_ticks == 0 and gate.teleop.drops['expired'] == 1
        assert sorted(probe.answers['out']) == [k * TICK_NS for k in range(40)]
    finally:
        probe.close()
