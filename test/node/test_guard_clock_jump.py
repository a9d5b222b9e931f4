"""A clock set back neither resets nor unlocks sensor_guard's breakers (timer mode).

The real SensorGuardNode ticks on its own timer on ROS time, as on a robot; that time comes from
a /clock the feeder publishes, so it can jump back as a system clock corrected by NTP does. The
feeder also plays the LiDAR driver (10 Hz, stamped on the same clock) and the base's odometry.
"""

import pytest
import rclpy
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_harness import Spinner
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import LaserScan
from test_breaker_nodes import lidar_scan, odom

from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.nodes.sensor_guard import SensorGuardNode
from robo_edge.ros import qos
from robo_edge.ros.stamps import to_msg

STEP_NS = 20_000_000  # 20 ms of ROS time per 20 ms of wall time
S = 1_000_000_000
BACK_S = 900.0


class Feeder(Node):
    """Publishes /clock at 50 Hz, odometry with it and a LiDAR scan every fifth tick."""

    def __init__(self, context: rclpy.Context, start_s: float) -> None:
        super().__init__('clock_and_lidar', context=context)
        self.now_ns = round(start_s * S)
        self.ticks = 0
        self.lidar_on = True
        self.clock = self.create_publisher(ClockMsg, '/clock', qos.CLOCK)
        self.scan = self.create_publisher(LaserScan, '/sensors/scan', qos.SENSOR)
        self.odom = self.create_publisher(Odometry, '/odom', qos.SENSOR_BURST)
        self.create_timer(0.02, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _tick(self) -> None:
        self.now_ns += STEP_NS
        self.ticks += 1
        self.clock.publish(ClockMsg(clock=to_msg(self.now_ns)))
        self.odom.publish(odom(self.now_ns))
        if self.lidar_on and self.ticks % 5 == 0:
            self.scan.publish(lidar_scan(self.now_ns))


@pytest.fixture
def rig(context):
    feeder = Feeder(context, 1000.0)
    guard = SensorGuardNode(context=context, parameter_overrides=[
        Parameter('use_sim_time', value=True), Parameter('tick_source', value='timer'),
        Parameter('sources', value=['lidar', 'odometry'])])
    spinner = Spinner(context, [guard, feeder], 30.0, step_s=0.005)
    yield guard, feeder, spinner
    spinner.close()


def _lidar(guard: SensorGuardNode) -> BreakerState:
    return guard.guard.breakers[Source.LIDAR].state


def _now_s(guard: SensorGuardNode) -> float:
    return guard.get_clock().now().nanoseconds / S


def test_a_lidar_that_dies_as_the_clock_goes_back_is_found_at_once(rig) -> None:
    guard, feeder, spinner = rig
    # Past the breakers' start-up grace, with the LiDAR healthy.
    assert spinner.spin_until(lambda: _now_s(guard) > 1003.0)
    assert _lidar(guard) is BreakerState.CLOSED
    # The clock goes back 900 s and the LiDAR dies in the same instant: its last scan is
    # stamped and arrived in what is now the future. That must not hide the silence (nor
    # start a new grace) for 900 s.
    feeder.lidar_on = False
    feeder.now_ns -= round(BACK_S * S)
    jumped_at = feeder.now_ns / S
    assert spinner.spin_until(lambda: _lidar(guard) is BreakerState.OPEN)
    assert _now_s(guard) - jumped_at < 1.0
    # Nothing from before the jump closes it again: it stays open while the LiDAR is silent.
    assert spinner.spin_until(lambda: _now_s(guard) > jumped_at + 5.0)
    assert _lidar(guard) is not BreakerState.CLOSED
    # A live LiDAR on the new time line closes it (probe, then healthy for close_after_s).
    feeder.lidar_on = True
    assert spinner.spin_until(lambda: _lidar(guard) is BreakerState.CLOSED)
