"""A clock that jumps back neither unlocks the safety gate nor leaves it stuck (timer mode).

The real SafetyGateNode ticks on its own timer on ROS time, as on a robot; here that time comes
from a /clock the test publishes, so it can jump back the way a system clock set by NTP or by
hand does. The driver (test_gate_fail_closed.Driver) plays controller, guard and mode manager
with stamps from the same clock.
"""

import math

import pytest
import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock as ClockMsg
from test_gate_fail_closed import LINEAR, Driver, at_speed, stopped_for

from robo_edge.nodes.safety_gate import SafetyGateNode
from robo_edge.ros import qos
from robo_edge.ros.stamps import to_msg

STEP_NS = 20_000_000  # 20 ms of ROS time per 20 ms of wall time


class ClockSource(Node):
    """Publishes /clock at 50 Hz from a steady timer; `jump_to` sets it anywhere."""

    def __init__(self, context: rclpy.Context, start_s: float) -> None:
        super().__init__('clock_source', context=context)
        self.now_ns = round(start_s * 1e9)
        self.publisher = self.create_publisher(ClockMsg, '/clock', qos.CLOCK)
        self.create_timer(0.02, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _tick(self) -> None:
        self.now_ns += STEP_NS
        self.publisher.publish(ClockMsg(clock=to_msg(self.now_ns)))

    def jump_to(self, seconds: float) -> None:
        self.now_ns = round(seconds * 1e9)


@pytest.fixture
def driver(context):
    sim = Parameter('use_sim_time', value=True)
    clock = ClockSource(context, 1000.0)
    gate = SafetyGateNode(context=context, parameter_overrides=[
        sim, Parameter('tick_source', value='timer'),
        Parameter('speed_limit_timeout_s', value=0.3)])
    driver = Driver(context, gate)
    driver.set_parameters([sim])
    driver.spinner.executor.add_node(clock)
    driver.spinner.nodes.append(clock)
    driver.clock = clock
    yield driver
    driver.spinner.close()


def test_a_clock_jumping_back_neither_unlocks_the_gate_nor_leaves_it_stuck(driver) -> None:
    gate = driver.gate
    driver.cap_value = math.inf
    driver.until(at_speed(LINEAR))
    # The clock goes back 900 s and the mode manager dies in the same instant: its last cap
    # is stamped in what is now the future. It must not count as fresh for 900 s.
    driver.cap_value = None
    driver.clock.jump_to(100.0)
    driver.until(stopped_for(5))
    assert math.isnan(gate.current_cap(gate.get_clock().now().nanoseconds))
    # Nothing from before the jump unlocks it later: it stays stopped...
    driver.until(stopped_for(20))
    # ...until a live mode manager sends a cap again, on the new time line.
    driver.cap_value = 0.25
    driver.until(at_speed(0.25))
    # A zero cap still stops after a second jump (no state from before the jump survives).
    driver.cap_value = 0.0
    driver.clock.jump_to(50.0)
    driver.until(stopped_for(10))
    assert gate.get_parameter('tick_source').value == 'timer'
