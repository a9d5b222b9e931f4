"""The mapper and planner node tests' harness: a probe that feeds them and records."""


import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import Spinner
from sensor_msgs.msg import LaserScan

from robo_edge.planning.inflation import InflationParams
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D, yaw_to_quaternion
from robo_edge.ros import scan_source
from robo_edge.ros.diagnostics import status_values
from robo_edge.ros.nav_messages import NAVIGATION_MAP_TOPIC, grid_msg
from robo_edge.ros.qos import CORRECTION, DIAGNOSTICS, LATCHED, SENSOR, SENSOR_BURST
from robo_edge.ros.stamps import from_msg, to_msg

REPO = Path(__file__).resolve().parents[1]
ORIGIN = Pose2D(0.0, 0.0, 0.0)
TIMEOUT_S = 5.0
MS = 1_000_000
PROBE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE
)
INFLATION = InflationParams(0.2, 0.1, unknown_is_free=True)


class Harness:
    """The nodes under test and a probe that feeds them and records what they publish."""

    def __init__(self, context: rclpy.Context, *nodes: Node) -> None:
        self.nodes = nodes
        self.probe = Node('nav_probe', context=context)
        self.spinner = Spinner(context, [*nodes, self.probe], TIMEOUT_S)
        self.maps: list[OccupancyGrid] = []
        self.nav_maps: list[OccupancyGrid] = []
        self.plans: list[PathMsg] = []
        self.corrections: list[TransformStamped] = []
        self.poses: list[PoseWithCovarianceStamped] = []
        self.statuses: dict[str, list] = {}
        self.probe.create_subscription(OccupancyGrid, '/map', self.maps.append, PROBE_QOS)
        self.probe.create_subscription(OccupancyGrid, NAVIGATION_MAP_TOPIC,
                                       self.nav_maps.append, PROBE_QOS)
        self.probe.create_subscription(
            TransformStamped, '/localization/map_to_odom', self.corrections.append, CORRECTION)
        self.probe.create_subscription(
            PoseWithCovarianceStamped, '/localization/pose', self.poses.append, CORRECTION)
        self.correction = self.probe.create_publisher(
            TransformStamped, '/localization/map_to_odom', CORRECTION)
        self.pose = self.probe.create_publisher(
            PoseWithCovarianceStamped, '/localization/pose', CORRECTION)
        self.probe.create_subscription(PathMsg, '/plan', self.plans.append, PROBE_QOS)
        self.probe.create_subscription(
            DiagnosticArray, '/diagnostics', self._on_diagnostics, DIAGNOSTICS)
        self.odom = self.probe.create_publisher(Odometry, '/odom', SENSOR_BURST)
        self.scan = self.probe.create_publisher(LaserScan, '/safety/scan', SENSOR)
        self.source = self.probe.create_publisher(DiagnosticArray, scan_source.TOPIC,
                                                  CORRECTION)
        self.map = self.probe.create_publisher(OccupancyGrid, NAVIGATION_MAP_TOPIC, LATCHED)
        self.goal = self.probe.create_publisher(PoseStamped, '/goal_pose', PROBE_QOS)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.statuses.setdefault(status.name, []).append(status)

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def connect(self, *publishers, topics: tuple[str, ...] = ()) -> None:
        assert self.spin_until(lambda: (
            all(p.get_subscription_count() > 0 for p in publishers)
            and all(self.probe.count_publishers(t) > 0 for t in topics)
        )), 'discovery did not complete'

    def send_odom(self, stamp_ns: int, x: float, y: float = 0.0, yaw: float = 0.0) -> None:
        msg = Odometry()
        msg.header.stamp, msg.header.frame_id = to_msg(stamp_ns), 'odom'
        msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
        qx, qy, qz, qw = yaw_to_quaternion(yaw)
        o = msg.pose.pose.orientation
        o.x, o.y, o.z, o.w = qx, qy, qz, qw
        self.odom.publish(msg)

    def send_scan(self, msg: LaserScan, origin: str = 'lidar', fused=None,
                  odometry_trusted: bool = True) -> None:
        """Publish a /safety/scan with its /safety/scan_source (as sensor_guard does)."""
        self.source.publish(scan_source.source_msg(from_msg(msg.header.stamp), origin, fused,
                                                   odometry_trusted, True))
        self.scan.publish(msg)

    def send_map(self, grid: Grid, stamp_ns: int, origin: str = 'lidar') -> None:
        """Publish a /map with the /safety/scan_source of the scan it was made from."""
        self.source.publish(scan_source.source_msg(stamp_ns, origin, None, True, True))
        self.map.publish(grid_msg(grid, stamp_ns))

    def map_stamped(self, stamp_ns: int) -> bool:
        return any(from_msg(m.header.stamp) == stamp_ns for m in self.maps)

    def plan_stamped(self, stamp_ns: int) -> PathMsg | None:
        found = [p for p in self.plans if from_msg(p.header.stamp) == stamp_ns]
        return found[-1] if found else None

    def status(self, name: str, key: str, predicate: Callable[[str], bool]) -> bool:
        statuses = self.statuses.get(name, [])
        return bool(statuses) and predicate(status_values(statuses[-1]).get(key, ''))

    def close(self) -> None:
        self.spinner.close()


def overrides(**values) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in values.items()]


def wall_scan(stamp_ns: int, distance: float = 2.0, half_width: float = 1.0) -> LaserScan:
    """A 360-beam scan from a robot facing a wall `distance` ahead, `2 half_width` wide."""
    msg = LaserScan()
    msg.header.stamp, msg.header.frame_id = to_msg(stamp_ns), 'laser'
    msg.angle_min, msg.angle_increment = -math.pi, 2 * math.pi / 360
    msg.angle_max = msg.angle_min + msg.angle_increment * 359
    msg.range_min, msg.range_max = 0.05, 10.0
    angles = msg.angle_min + msg.angle_increment * np.arange(360)
    with np.errstate(divide='ignore'):
        ranges = np.where(np.cos(angles) > 0, distance / np.cos(angles), np.inf)
    ranges[np.abs(ranges * np.sin(angles)) > half_width] = np.inf
    msg.ranges = ranges.astype(np.float32).tolist()
    return msg


def cell(grid: Grid, x: float, y: float) -> int:
    col, row = grid.world_to_cell(x, y)
    return int(grid.data[row, col])


def wall_at(grid: Grid, x: float, y: float) -> bool:
    """Whether a return at x is occupied (float32 ranges put it on either side of a line)."""
    return max(cell(grid, x - 0.05, y), cell(grid, x + 0.05, y)) >= 65
