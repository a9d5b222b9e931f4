"""Node tests: with the LiDAR out, sensor_guard judges the camera on odometry alone.

The probe of test_breaker_nodes plays the twin in lockstep, here with a robot driving straight
at 0.4 m/s. The LiDAR falls silent after 3 s and the virtual scan becomes the only obstacle
source. A camera whose obstacles stay put in the world keeps its breaker closed; one showing a
strip that rides along with the robot (a phantom painted in the image) is blamed: its breaker
opens on the odometry vote alone, and with no obstacle source left the robot stops.
"""

import math

import numpy as np
from nav_msgs.msg import Odometry
from sensor_msgs.msg import LaserScan
from test_breaker_nodes import (
    TICK_NS,
    Probe,
    guard_and_manager,
)

from robo_edge.breakers.events import read_events
from robo_edge.ros.stamps import to_msg

SPEED = 0.4  # m/s along x
WALL_X = 5.0  # a wall across the way, in the odometry frame
STRIP = (1.3, math.radians(8.0))  # the phantom: 1.3 m ahead, +-8 degrees, on the robot
SOURCES = ['lidar', 'perception', 'odometry', 'controller']


def x_at(t: int) -> float:
    return SPEED * t / 1e9


def moving_odom(t: int) -> Odometry:
    msg = Odometry()
    msg.header.stamp, msg.header.frame_id = to_msg(t), 'odom'
    msg.pose.pose.position.x = x_at(t)
    msg.pose.pose.orientation.w = 1.0
    msg.twist.twist.linear.x = SPEED
    return msg


def camera_scan(t: int, phantom: bool) -> LaserScan:
    """The wall across the way as the camera sees it from x(t), with or without the strip."""
    msg = LaserScan()
    msg.header.stamp, msg.header.frame_id = to_msg(t), 'base_link'
    msg.angle_min, msg.angle_increment = -math.radians(30), math.radians(0.5)
    msg.angle_max = math.radians(30)
    msg.range_min, msg.range_max = 0.1, 4.0
    angles = msg.angle_min + msg.angle_increment * np.arange(121)
    ranges = (WALL_X - x_at(t)) / np.cos(angles)
    ranges = np.where(ranges <= msg.range_max, ranges, np.inf)
    if phantom:
        ranges = np.where(np.abs(angles) <= STRIP[1], STRIP[0] / np.cos(angles), ranges)
    msg.ranges = ranges.astype(np.float32).tolist()
    return msg


def drive(probe: Probe, ticks: range, lidar: bool, phantom: bool) -> None:
    """Play each tick with the robot driving (moving odometry) and the camera's scan."""
    for k in ticks:
        probe.tick(k * TICK_NS, lidar=lidar, odom_of=moving_odom,
                   virtual_of=lambda t: camera_scan(t, phantom))


def opened(tmp_path) -> list[dict]:
    return [e for e in read_events([tmp_path / 'breakers.jsonl'])
            if e['kind'] == 'breaker' and e['state'] == 'open']


def test_with_the_lidar_out_a_camera_keeping_to_the_world_stays_trusted(context,
                                                                         tmp_path) -> None:
    probe = guard_and_manager(context, tmp_path, SOURCES)
    try:
        drive(probe, range(1, 61), lidar=True, phantom=False)
        drive(probe, range(61, 181), lidar=False, phantom=False)  # 6 s on the camera alone
        assert [e['source'] for e in opened(tmp_path)] == ['lidar']
        assert probe.sources[-1] == 'perception'
        assert probe.spin_until(lambda: probe.modes[-1].startswith('DEGRADED'))
    finally:
        probe.close()


def test_with_the_lidar_out_a_phantom_riding_along_is_blamed_and_the_robot_stops(
        context, tmp_path) -> None:
    probe = guard_and_manager(context, tmp_path, SOURCES)
    try:
        drive(probe, range(1, 61), lidar=True, phantom=False)
        drive(probe, range(61, 141), lidar=False, phantom=True)
        events = opened(tmp_path)
        assert [e['source'] for e in events] == ['lidar', 'perception']
        assert 'no LiDAR to compare' in events[1]['detail']
        # Votes need 0.6 s and 0.3 m of travel behind them, then ten within 2 s.
        assert events[1]['t'] - events[0]['t'] < 3.0
        assert probe.spin_until(lambda: probe.sources[-1] == 'none')
        assert probe.spin_until(lambda: probe.modes[-1].startswith('SAFE_STOP'))
    finally:
        probe.close()
