"""The safety gate fails closed on a wall clock (tick_source: timer, as on a robot).

The real SafetyGateNode ticks on its own 20 Hz timer; a driver node plays the controller, the
guard and the mode manager, stamping its messages with the same (system) clock, and keeps every
/cmd_vel the gate sends. Each phase drives until the gate's answer shows, bounded in wall time.
"""

import math
from collections.abc import Callable

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Float64

from robo_edge.nodes.safety_gate import RAW_COMMAND_QOS, SafetyGateNode
from robo_edge.ros import qos

BEAMS = 360
PHASE_S = 5.0  # the longest a phase may take to show its effect (wall)
LINEAR = 0.4


class Driver(Node):
    """Publishes a fresh command (and scan, and cap when asked) every 50 ms; keeps outputs."""

    def __init__(self, context: rclpy.Context, gate: SafetyGateNode) -> None:
        super().__init__('gate_driver', context=context)
        self.gate = gate
        self.raw = self.create_publisher(TwistStamped, '/cmd_vel_raw', RAW_COMMAND_QOS)
        self.scan = self.create_publisher(LaserScan, '/safety/scan', qos.SENSOR)
        self.cap = self.create_publisher(Float64, '/robo_edge/speed_limit', qos.LATCHED)
        self.out: list[float] = []
        self.create_subscription(TwistStamped, '/cmd_vel',
                                 lambda m: self.out.append(m.twist.linear.x), qos.COMMAND)
        self.send_scans, self.cap_value = True, None
        self.create_timer(0.05, self._publish)
        self.spinner = Spinner(context, [gate, self], PHASE_S)

    def _publish(self) -> None:
        stamp = self.get_clock().now().to_msg()
        command = TwistStamped()
        command.header.stamp, command.header.frame_id = stamp, 'base_link'
        command.twist.linear.x = LINEAR
        self.raw.publish(command)
        if self.send_scans:
            scan = LaserScan()
            scan.header.stamp, scan.header.frame_id = stamp, 'laser'
            scan.angle_min, scan.angle_increment = -math.pi, 2 * math.pi / BEAMS
            scan.angle_max = scan.angle_min + scan.angle_increment * (BEAMS - 1)
            scan.range_min, scan.range_max = 0.12, 12.0
            scan.ranges = np.full(BEAMS, np.inf, dtype=np.float32).tolist()  # open space
            self.scan.publish(scan)
        if self.cap_value is not None:  # a live mode manager refreshes its cap
            self.cap.publish(Float64(data=self.cap_value))

    def until(self, condition: Callable[[list[float]], bool]) -> list[float]:
        """Spin until the outputs since now satisfy `condition`; return them."""
        start = len(self.out)
        assert self.spinner.spin_until(lambda: condition(self.out[start:])), \
            f'the gate did not get there: {self.out[start:][-10:]}'
        return self.out[start:]


def stopped_for(n: int) -> Callable[[list[float]], bool]:
    return lambda out: len(out) >= n and all(v == 0.0 for v in out[-n:])


def at_speed(speed: float) -> Callable[[list[float]], bool]:
    return lambda out: bool(out) and out[-1] == pytest.approx(speed)


@pytest.fixture
def driver(context):
    gate = SafetyGateNode(context=context, parameter_overrides=[
        Parameter('tick_source', value='timer'), Parameter('speed_limit_timeout_s', value=0.3)])
    driver = Driver(context, gate)
    yield driver
    driver.spinner.close()


def test_no_limit_yet_a_zero_limit_and_a_silent_limit_each_stop_the_base(driver) -> None:
    gate = driver.gate
    # Commands and clear scans flow, but no speed limit has ever arrived: stopped.
    out = driver.until(stopped_for(10))
    assert all(v == 0.0 for v in out) and gate.reasons['stop_requested'] >= 10
    driver.cap_value = math.inf  # NOMINAL: no cap
    driver.until(at_speed(LINEAR))
    driver.cap_value = 0.0  # a zero limit is a stop, never "no cap"
    out = driver.until(stopped_for(5))
    assert all(b <= a for a, b in zip(out, out[1:], strict=False))  # ramped down
    driver.cap_value = 0.25
    driver.until(at_speed(0.25))
    driver.cap_value = None  # the mode manager died: the last cap expires after 0.3 s
    driver.until(stopped_for(5))
    assert math.isnan(gate.current_cap(gate.get_clock().now().nanoseconds))  # stop


def test_without_a_fresh_scan_it_stops_unless_the_crawl_option_is_set_live(driver) -> None:
    gate = driver.gate
    driver.cap_value = math.inf
    driver.until(at_speed(LINEAR))
    driver.send_scans = False  # no obstacle information after scan_timeout_s
    driver.until(stopped_for(5))
    assert gate.reasons['no_scan_stop'] >= 5
    # The crawl is an explicit choice, applied at once.
    result = gate.set_parameters([Parameter('stop_without_scan', value=False),
                                  Parameter('crawl_speed', value=0.15)])
    assert all(r.successful for r in result)
    driver.until(at_speed(0.15))
    assert gate.set_parameters([Parameter('crawl_speed', value=0.05)])[0].successful
    driver.until(at_speed(0.05))
    # A change that leaves the gate inconsistent is refused, with the reason, and not applied.
    refused = gate.set_parameters([Parameter('decel', value=5.0)])[0]  # > max_linear_accel
    assert not refused.successful and 'decel' in refused.reason
    assert gate.config.decel == 1.0 and gate.get_parameter('decel').value == 1.0
    # The node's timers are set up once: their parameters are read-only.
    assert not gate.set_parameters([Parameter('rate_hz', value=50.0)])[0].successful
