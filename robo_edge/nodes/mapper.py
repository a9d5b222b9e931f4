"""Occupancy mapper and localiser: matches every scan to the map, then folds it in.

In lockstep each `/safety/scan` stamped s waits (in wall time, bounded) for the `/odom`
stamped s, and `/map` goes out stamped s for every scan, so a run maps the same way every time
(docs/architecture.md, Navigation lockstep). A scan whose odometry does not come within
`input_wait_s` goes with the newest odometry not later than s, and is counted as late.

Containment (robo_edge/mapping/containment.py): each scan is joined by exact stamp with its
`/safety/scan_source`; only the LiDAR's own beams, with odometry trusted, are matched and
folded in. A fallback scan (the camera's), one whose source never came, or one taken while the
odometry breaker is open holds the correction, whose covariance keeps growing with the
distance dead-reckoned, and leaves the map alone; a camera scan's returns are laid over a copy
of it, `/map/navigation`, which the planner plans on (mapping/transient.py); `/map` itself
holds only what the LiDAR mapped.

With `localization` on, a trusted LiDAR scan is first matched against the map built so far
(robo_edge/mapping/localizer.py); an accepted match moves the correction (the pose of odom in
map), a rejected one keeps it. The scan is then folded in at the corrected pose, and the
correction goes out stamped s on `/localization/map_to_odom` (and the base pose on
`/localization/pose`) before the map, for every scan, so the planner and the controller can
join it by stamp. Without it the correction is `initial_pose`: dead reckoning.
"""

import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import rclpy.clock
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.clock import ClockType
from rclpy.node import Node
from sensor_msgs.msg import LaserScan

from robo_edge.lockstep import LATE_RELEASE, OVERDUE_CHECK_PERIOD_S
from robo_edge.mapping import containment as cm
from robo_edge.mapping import localizer as loc
from robo_edge.mapping.localizer import Localizer, MatchResult, ScanData
from robo_edge.mapping.mapper import (
    MapperParams,
    OccupancyMapper,
    centered_geometry,
    compose_pose,
)
from robo_edge.mapping.pose_log import PoseLog
from robo_edge.mapping.transient import TransientLayer
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros import qos
from robo_edge.ros import scan_source as ss
from robo_edge.ros.diagnostics import to_array
from robo_edge.ros.mapper_status import mapper_status
from robo_edge.ros.nav_messages import (
    CORRECTION_TOPIC,
    NAVIGATION_MAP_TOPIC,
    POSE_TOPIC,
    ExactStampJoin,
    Joined,
    correction_msg,
    grid_msg,
    odom_pose,
    pose_from_list,
    pose_with_covariance_msg,
    stamp_of,
)
from robo_edge.ros.params import LiveParameters, Param, declare, read_only
from robo_edge.ros.readiness import ReadinessReporter
from robo_edge.ros.run import spin_node
from robo_edge.ros.static_map import StaticMapSeeding

LIVE = frozenset({'static_map', 'input_wait_s'})  # ros/static_map.py; the rest sizes the cores
PARAMS = read_only([
    Param('initial_pose', [0.0, 0.0, 0.0], 'Pose of odom in map [x, y, yaw] (the start pose)'),
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link [x, y, yaw]'),
    Param('resolution', 0.1, 'Cell size in metres', 0.01, 1.0),
    Param('size_m', 40.0, 'Side of the square grid centred on initial_pose (m)', 1.0, 1000.0),
    Param('max_clear_range', 4.0, 'A no-return beam clears free space this far (m)', 0.0, 100.0),
    Param('static_map', '', 'nav2 map_server YAML seeding the grid (resampled); empty: none'),
    Param('input_wait_s', 0.3, 'Wall time a scan waits for its odometry', 0.0, 10.0),
    Param('odom_rate_hz', 50.0, 'Odometry rate: a scan at s goes with the sample due at s',
          0.1, 1000.0),
    Param('localization', True, 'Match each LiDAR scan to the map; false: dead reckoning'),
    Param('transient_ttl_s', 60.0, 'A fallback (camera) return stays over /map this long (s)',
          0.0, 600.0),
    Param('transient_range_m', 1.5, 'Fallback returns nearer than this enter the layer (m)',
          0.1, 20.0),
    Param('pose_log_path', '', 'JSON of the localised and dead-reckoned poses, 1 Hz; empty: none'),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics (steady clock)', 0.05, 60.0),
], but=LIVE)


class MapperNode(StaticMapSeeding, Node):
    """Builds the occupancy map from the laser and odometry, one /map per scan.

    Parameters: initial_pose (double[3]), laser_offset (double[3]), resolution (double),
    size_m (double), max_clear_range (double), static_map (string; setting it at run time
    reseeds the grid, a file that fails to load is refused and the map kept),
    input_wait_s (double), localization (bool), transient_ttl_s and transient_range_m
    (double), pose_log_path (string), diagnostics_period_s (double); LIVE apply at once
    (ros/static_map.py), the rest is read-only.
    Subscriptions: /safety/scan (sensor_msgs/LaserScan, best effort), /safety/scan_source
    (diagnostic_msgs/DiagnosticArray, reliable: each scan's origin, joined by stamp),
    /odom (nav_msgs/Odometry, best effort depth 10).
    Publishers, each stamped like its scan: /localization/map_to_odom
    (geometry_msgs/TransformStamped, map -> odom, reliable transient local depth 10; /tf is not
    used: tf2_msgs is not installable here), /localization/pose
    (geometry_msgs/PoseWithCovarianceStamped, base in map, same QoS), /map and
    /map/navigation (nav_msgs/OccupancyGrid, reliable transient local, frame map),
    /diagnostics (diagnostic_msgs/DiagnosticArray, status robo_edge/mapper).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('mapper', **kwargs)
        values = declare(self, PARAMS)
        self.initial_pose = pose_from_list(values['initial_pose'], 'initial_pose')
        self.laser_offset = pose_from_list(values['laser_offset'], 'laser_offset')
        geometry = self._on_static_lattice(centered_geometry(
            self.initial_pose.x, self.initial_pose.y, values['size_m'], values['resolution']),
            values['static_map'])
        self.mapper = OccupancyMapper(
            geometry, MapperParams(max_clear_range=values['max_clear_range']))
        self.join = ExactStampJoin(values['input_wait_s'],
                                   pose_rate_hz=float(values['odom_rate_hz']))
        self.sources = cm.SourceJoin(values['input_wait_s'])
        self.localize = bool(values['localization'])
        self.localizer = Localizer(self.initial_pose, self.laser_offset)
        self.pose_log = PoseLog(Path(values['pose_log_path']) if values['pose_log_path']
                                else None, self.localize)
        self.transient = TransientLayer(geometry, values['transient_ttl_s'],
                                        values['transient_range_m'])
        self.counts = {'updates': 0, 'late_inputs': 0, 'dropped_inputs': 0, 'matched': 0,
                       'partial': 0, 'held_fallback': 0, 'held_no_source': 0,
                       'held_odometry_untrusted': 0, 'camera_beams_left_out': 0}
        self.rejected: dict[str, int] = {}
        self.last_match: MatchResult | None = None
        self.update_ms: deque[float] = deque(maxlen=200)
        self.match_ms: deque[float] = deque(maxlen=200)
        self._load_static(values['static_map'])
        self.live = LiveParameters(self, PARAMS, values, LIVE, self._retune)
        self._correction_pub = self.create_publisher(
            TransformStamped, CORRECTION_TOPIC, qos.CORRECTION)
        self._pose_pub = self.create_publisher(
            PoseWithCovarianceStamped, POSE_TOPIC, qos.CORRECTION)
        self._map_pub = self.create_publisher(OccupancyGrid, '/map', qos.LATCHED)
        self._nav_map_pub = self.create_publisher(OccupancyGrid, NAVIGATION_MAP_TOPIC,
                                                  qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.DIAGNOSTICS)
        self.readiness = ReadinessReporter(self, [
            self.create_subscription(LaserScan, '/safety/scan', self._on_scan, qos.SENSOR),
            self.create_subscription(DiagnosticArray, ss.TOPIC, self._on_source, qos.CORRECTION),
            self.create_subscription(Odometry, '/odom', self._on_odom, qos.SENSOR_BURST)])
        steady = rclpy.clock.Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._release, clock=steady)
        self.create_timer(values['diagnostics_period_s'], self.publish_diagnostics, clock=steady)
        self.get_logger().info(
            f'{geometry.width}x{geometry.height} cells of {geometry.resolution} m, origin '
            f'({geometry.origin_x:.2f}, {geometry.origin_y:.2f})')

    def _on_scan(self, msg: LaserScan) -> None:
        stamp_ns = stamp_of(msg)
        if not self.join.add_item(stamp_ns, msg, time.monotonic()):
            self.counts['dropped_inputs'] += 1
            self.get_logger().warning(f'scan stamped {stamp_ns} ns is out of order: dropped')
            return
        self._release()

    def _on_odom(self, msg: Odometry) -> None:
        self.join.add_pose(stamp_of(msg), odom_pose(msg))
        self._release()

    def _on_source(self, msg: DiagnosticArray) -> None:
        source = ss.read_source(msg)
        if source is None:
            self.get_logger().warning(f'{ss.TOPIC} without a source status: ignored',
                                      throttle_duration_sec=5.0)
            return
        self.sources.add_source(source.stamp_ns, source)
        self._release()

    def _release(self) -> None:
        now = time.monotonic()
        for joined in self.join.release(now):
            self.sources.add(joined.stamp_ns, joined, now)
        for sourced in self.sources.release(now):
            self._process(sourced.joined, sourced)

    def _process(self, joined: Joined, sourced: cm.Sourced) -> None:
        """Localise one scan, fold it into the grid, publish correction, pose and map at s.

        Only the LiDAR's own beams, with odometry trusted, are matched and folded in; any
        other scan holds the correction (its covariance growing) and leaves the map alone.
        """
        scan: LaserScan = joined.item
        if joined.pose is None:
            self.counts['dropped_inputs'] += 1
            self.get_logger().warning(f'no odometry for the scan at {joined.stamp_ns} ns: dropped')
            return
        if joined.late:
            self.counts['late_inputs'] += 1
            self.get_logger().warning(
                f'{LATE_RELEASE} odometry at {joined.stamp_ns} ns did not come: scan used the '
                f'pose at {joined.pose_stamp_ns} ns', throttle_duration_sec=1.0)
        if sourced.action != cm.USE:
            self.counts[f'held_{sourced.action}'] += 1
            match = self.localizer.hold(sourced.action, joined.pose)
            self.last_match = match
            if sourced.action == cm.HOLD_FALLBACK:  # over /map for a while, never in it
                self.transient.mark(joined.stamp_ns, scan.ranges, scan.angle_min,
                                    scan.angle_increment, scan.range_min, scan.range_max,
                                    compose_pose(match.pose, self.laser_offset))
        else:
            ranges = sourced.source.lidar_only(scan.ranges)
            self.counts['camera_beams_left_out'] += len(sourced.source.fused)
            match = self._localise(scan, ranges, joined.pose)
            if not self._fold(joined.stamp_ns, scan, ranges, match):
                return
            self.transient.clear()
        # Pose (with its covariance), then correction, then map: a planner or controller
        # holding the map at s finds the others (they still join them by stamp).
        self._pose_pub.publish(
            pose_with_covariance_msg(match.pose, match.covariance, joined.stamp_ns))
        self._correction_pub.publish(correction_msg(match.correction, joined.stamp_ns))
        grid = self.grid()
        self._map_pub.publish(grid_msg(grid, joined.stamp_ns))
        self._nav_map_pub.publish(grid_msg(self.transient.over(grid, joined.stamp_ns),
                                           joined.stamp_ns))
        self._log_pose(joined.stamp_ns, match.pose, joined.pose)

    def _fold(self, stamp_ns: int, scan: LaserScan, ranges: np.ndarray,
              match: MatchResult) -> bool:
        """Fold a LiDAR scan into the grid at the matched pose; False when it cannot be used."""
        laser = compose_pose(match.pose, self.laser_offset)
        start = time.perf_counter()
        try:
            self.mapper.update(ranges, scan.angle_min, scan.angle_increment, scan.range_min,
                               scan.range_max, laser)
        except ValueError as e:
            self.counts['dropped_inputs'] += 1
            self.get_logger().warning(f'scan at {stamp_ns} ns not used: {e}')
            return False
        self.counts['updates'] += 1
        self.update_ms.append((time.perf_counter() - start) * 1e3)
        return True

    def _localise(self, scan: LaserScan, ranges: np.ndarray, odom: Pose2D) -> MatchResult:
        """Match the scan against the map before it is folded in (holds on a poor match)."""
        if not self.localize:
            return self.localizer.hold(loc.DISABLED, odom)
        data = ScanData(ranges, scan.angle_min, scan.angle_increment, scan.range_min,
                        scan.range_max, scan.header.frame_id)
        start = time.perf_counter()
        try:
            match = self.localizer.update(data, odom, self.mapper)
        except (ValueError, np.linalg.LinAlgError) as e:
            self.get_logger().warning(f'scan match failed, correction kept: {e}',
                                      throttle_duration_sec=1.0)
            match = self.localizer.hold('error', odom)
        self.match_ms.append((time.perf_counter() - start) * 1e3)
        self.last_match = match
        if match.accepted:
            self.counts['matched'] += 1
            self.counts['partial'] += match.reason == loc.PARTIAL
        else:
            self.rejected[match.reason] = self.rejected.get(match.reason, 0) + 1
        return match

    def _log_pose(self, stamp_ns: int, pose: Pose2D, odom: Pose2D) -> None:
        """Keep the localised and dead-reckoned poses once a second (mapping/pose_log.py)."""
        try:
            self.pose_log.add(stamp_ns, pose, compose_pose(self.initial_pose, odom))
        except OSError as e:
            self.get_logger().error(f'pose log {self.pose_log.path} not written: {e}',
                                    throttle_duration_sec=5.0)

    def grid(self) -> Grid:
        """Return the current map as a Grid."""
        g = self.mapper.geometry
        return Grid(g.resolution, g.width, g.height, self.mapper.occupancy(), g.origin_x,
                    g.origin_y)

    def status(self) -> DiagnosticStatus:
        """Return the mapper's DiagnosticStatus now."""
        return mapper_status(self)

    def publish_diagnostics(self) -> None:
        """Publish the mapper's status on /diagnostics."""
        self._diag_pub.publish(to_array([self.status()], self.get_clock().now().nanoseconds))


def main(args: list[str] | None = None) -> int:
    """Run the mapper until stopped."""
    return spin_node(MapperNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
