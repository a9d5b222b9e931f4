"""Node tests: the mapper publishes one /map per scan and the planner one /plan per map.

The nodes key on message stamps, so the probe publishes synthetic /odom, /safety/scan and /map
with explicit simulated stamps (use_sim_time stays false). Everything runs in one fresh rclpy
Context with a SingleThreadedExecutor; every wait spins it until a condition holds or a wall
deadline passes.
"""

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import Spinner
from sensor_msgs.msg import LaserScan

from robo_edge.nodes import controller as controller_module
from robo_edge.nodes import mapper as mapper_module
from robo_edge.nodes import planner as planner_module
from robo_edge.nodes.mapper import MapperNode
from robo_edge.nodes.planner import PlannerNode
from robo_edge.planning.grid import Grid
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.planning.map_server import save_map
from robo_edge.planning.path_checks import path_blocked
from robo_edge.ros import scan_source
from robo_edge.ros.diagnostics import status_level, status_values
from robo_edge.ros.nav_messages import (
    correction_from_msg,
    correction_msg,
    grid_from_msg,
    grid_msg,
    path_points,
    pose_with_covariance_msg,
    quaternion_yaw,
)
from robo_edge.ros.qos import CORRECTION, DIAGNOSTICS, LATCHED, SENSOR, SENSOR_BURST
from robo_edge.ros.stamps import from_msg, to_msg
from robo_edge.twin.kinematics import Pose2D, yaw_to_quaternion

REPO = Path(__file__).resolve().parents[2]
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
        self.plans: list[PathMsg] = []
        self.corrections: list[TransformStamped] = []
        self.poses: list[PoseWithCovarianceStamped] = []
        self.statuses: dict[str, list] = {}
        self.probe.create_subscription(OccupancyGrid, '/map', self.maps.append, PROBE_QOS)
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
        self.map = self.probe.create_publisher(OccupancyGrid, '/map', LATCHED)
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


# Mapper


def test_mapper_publishes_a_map_per_scan_stamped_like_it(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        initial_pose=[1.0, -0.5, 0.0], input_wait_s=2.0, diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/diagnostics'))
        for stamp in (100 * MS, 200 * MS, 300 * MS):
            h.send_odom(stamp, 0.0)
            h.send_scan(wall_scan(stamp))
            assert h.spin_until(lambda s=stamp: h.map_stamped(s)), f'no map at {stamp}'
        # A scan before its odometry waits for it, and is not late.
        h.send_scan(wall_scan(400 * MS))
        assert h.spin_until(lambda: mapper.join.pending == 1)
        h.send_odom(400 * MS, 0.0)
        assert h.spin_until(lambda: h.map_stamped(400 * MS))
        assert [from_msg(m.header.stamp) for m in h.maps] == [100 * MS, 200 * MS, 300 * MS,
                                                              400 * MS]
        grid = grid_from_msg(h.maps[-1])
        assert h.maps[-1].header.frame_id == 'map'
        assert (grid.origin_x, grid.origin_y) == pytest.approx((1.0 - 20.0, -0.5 - 20.0))
        # The robot stands at the initial pose (1, -0.5); the wall is 2 m ahead, at x = 3.
        assert all(wall_at(grid, 3.0, -0.5 + dy) for dy in np.linspace(-0.9, 0.9, 10))
        assert all(0 <= cell(grid, 1.0 + dx, -0.5) <= 35 for dx in np.linspace(0.2, 1.8, 9))
        assert cell(grid, 3.5, -0.5) == -1, 'behind the wall stays unknown'
        assert h.spin_until(lambda: h.status('robo_edge/mapper', 'updates', lambda v: v == '4'))
        values = status_values(h.statuses['robo_edge/mapper'][-1])
        assert values['late_inputs'] == '0' and float(values['update_ms_p99']) > 0
    finally:
        h.close()


def test_mapper_releases_a_scan_whose_odometry_never_comes(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        input_wait_s=0.3, diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        h.send_odom(120 * MS, 0.5)
        h.send_scan(wall_scan(140 * MS))
        sent = time.monotonic()
        assert h.spin_until(lambda: h.map_stamped(140 * MS))
        assert time.monotonic() - sent >= 0.3, 'released before its wait was over'
        assert mapper.counts['late_inputs'] == 1
        # It went with the newest odometry before it: the robot at x = 0.5, wall at x = 2.5.
        assert wall_at(grid_from_msg(h.maps[-1]), 2.5, 0.0)
        assert h.spin_until(
            lambda: h.status('robo_edge/mapper', 'late_inputs', lambda v: v == '1'))
        assert status_level(h.statuses['robo_edge/mapper'][-1]) == 1
    finally:
        h.close()


def test_mapper_reports_a_malformed_static_map_and_keeps_mapping(context, tmp_path) -> None:
    bad = tmp_path / 'bad.yaml'
    bad.write_text('image: missing.pgm\nresolution: -1\n')
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        static_map=str(bad), diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        assert h.spin_until(lambda: h.status(
            'robo_edge/mapper', 'static_map_error', lambda v: 'resolution' in v))
        status = h.statuses['robo_edge/mapper'][-1]
        assert status_level(status) == 2 and str(bad) in status.message
        h.send_odom(100 * MS, 0.0)
        h.send_scan(wall_scan(100 * MS))
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        before = mapper.grid().data.copy()
        result = mapper.set_parameters([Parameter('static_map', value=str(bad))])[0]
        assert not result.successful and 'resolution' in result.reason
        np.testing.assert_array_equal(mapper.grid().data, before)  # the map is kept
    finally:
        h.close()


def test_mapper_seeds_the_grid_from_a_static_map(context, tmp_path) -> None:
    data = np.zeros((40, 40), dtype=np.int8)
    data[:, 30] = 100  # a wall at x in [1.0, 1.05) of a 0.05 m map from (-0.5, -1.0)
    save_map(Grid(0.05, 40, 40, data, -0.5, -1.0), tmp_path / 'static.yaml')
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        static_map=str(tmp_path / 'static.yaml'), size_m=10.0))
    try:
        grid = mapper.grid()
        assert cell(grid, 1.02, 0.0) >= 65 and 0 <= cell(grid, 0.5, 0.0) <= 35
        assert cell(grid, -3.0, 0.0) == -1 and mapper.static_map_error == ''
    finally:
        mapper.destroy_node()


def room_scan(stamp_ns: int, x: float, y: float) -> LaserScan:
    """A 360-beam scan from (x, y), yaw 0, in a 6 m x 4 m room from (-3, -2) with a 1 m box."""
    msg = wall_scan(stamp_ns)
    angles = msg.angle_min + msg.angle_increment * np.arange(360)
    segments = [(-3, -2, 3, -2), (3, -2, 3, 2), (3, 2, -3, 2), (-3, 2, -3, -2),
                (1, 0.5, 2, 0.5), (2, 0.5, 2, 1.5), (2, 1.5, 1, 1.5), (1, 1.5, 1, 0.5)]
    dx, dy = np.cos(angles), np.sin(angles)
    best = np.full(360, np.inf)
    for x0, y0, x1, y1 in segments:
        ex, ey = x1 - x0, y1 - y0
        with np.errstate(divide='ignore', invalid='ignore'):
            den = dx * ey - dy * ex
            t = ((x0 - x) * ey - (y0 - y) * ex) / den
            u = ((x0 - x) * dy - (y0 - y) * dx) / den
        hit = (np.abs(den) > 1e-12) & (t > 0) & (u >= 0) & (u <= 1)
        best = np.where(hit & (t < best), t, best)
    msg.ranges = best.astype(np.float32).tolist()
    return msg


def correction_at(h: Harness, stamp_ns: int) -> TransformStamped | None:
    found = [c for c in h.corrections if from_msg(c.header.stamp) == stamp_ns]
    return found[-1] if found else None


def test_mapper_corrects_drifting_odometry_and_publishes_it_before_the_map(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        initial_pose=[-1.0, -0.5, 0.0], input_wait_s=2.0, diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/localization/map_to_odom'))
        # The robot stands still at (-1, -0.5) in the room; its odometry creeps 2 cm a scan.
        stamps = [k * 100 * MS for k in range(1, 9)]
        for k, stamp in enumerate(stamps):
            h.send_odom(stamp, 0.02 * k)
            h.send_scan(room_scan(stamp, -1.0, -0.5))
            assert h.spin_until(lambda s=stamp: h.map_stamped(s)), f'no map at {stamp}'
        assert h.spin_until(lambda: len(h.poses) == len(stamps))
        # One correction per map, stamped like it (the order two readers see is DDS's).
        assert h.spin_until(lambda: all(correction_at(h, s) is not None for s in stamps))
        last = correction_from_msg(correction_at(h, stamps[-1]))
        # odom x = 0.14 with the base still at -1.0: odom sits at -1.14 in map.
        assert (last.x, last.y, last.yaw) == pytest.approx((-1.14, -0.5, 0.0), abs=0.02)
        pose = h.poses[-1].pose.pose
        assert (pose.position.x, pose.position.y) == pytest.approx((-1.0, -0.5), abs=0.02)
        assert h.poses[-1].pose.covariance[0] < 1e-3
        assert mapper.counts['matched'] >= len(stamps) - 1
        assert h.spin_until(lambda: h.status(
            'robo_edge/mapper', 'matched', lambda v: v == str(mapper.counts['matched'])))
        values = status_values(h.statuses['robo_edge/mapper'][-1])
        assert float(values['match_ms_p99']) > 0 and values['localization'] == 'true'
    finally:
        h.close()


def test_mapper_without_localization_keeps_the_initial_pose(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        initial_pose=[-1.0, -0.5, 0.0], input_wait_s=2.0, localization=False))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/localization/map_to_odom'))
        for k in range(1, 5):
            h.send_odom(k * 100 * MS, 0.02 * k)
            h.send_scan(room_scan(k * 100 * MS, -1.0, -0.5))
            assert h.spin_until(lambda s=k * 100 * MS: correction_at(h, s) is not None)
        assert {(c.transform.translation.x, c.transform.translation.y)
                for c in h.corrections} == {(-1.0, -0.5)}
        assert mapper.counts['matched'] == 0 and mapper.last_match is None
    finally:
        h.close()


def test_mapper_holds_the_correction_for_a_scan_not_from_the_lidar(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(input_wait_s=2.0))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        h.send_scan(room_scan(100 * MS, 0.0, 0.0))
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        before = grid_from_msg(h.maps[-1]).data.copy()
        # The camera's fallback, in the LiDAR's layout and frame: only its source tells.
        h.send_odom(200 * MS, 0.1)  # odometry says 0.1 m, the scan says 0: not matched
        h.send_scan(room_scan(200 * MS, 0.5, 0.3), origin='perception')
        assert h.spin_until(lambda: correction_at(h, 200 * MS) is not None)
        held = correction_from_msg(correction_at(h, 200 * MS))
        assert (held.x, held.y, held.yaw) == (0.0, 0.0, 0.0)
        assert mapper.counts['held_fallback'] == 1 and mapper.counts['updates'] == 1
        assert h.spin_until(lambda: h.map_stamped(200 * MS))
        assert np.array_equal(grid_from_msg(h.maps[-1]).data, before), 'the map was written'
        assert h.spin_until(lambda: len(h.poses) == 2)
        variances = {from_msg(p.header.stamp): p.pose.covariance[0] for p in h.poses}
        assert variances[200 * MS] > variances[100 * MS], 'dead reckoning grows uncertainty'
        assert math.isfinite(variances[200 * MS])
    finally:
        h.close()


def test_mapper_treats_a_scan_without_source_as_untrusted(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(input_wait_s=0.3))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        h.scan.publish(room_scan(100 * MS, 0.0, 0.0))  # no /safety/scan_source for it
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        assert mapper.counts['held_no_source'] == 1 and mapper.counts['updates'] == 0
        assert int(np.count_nonzero(grid_from_msg(h.maps[-1]).data >= 0)) == 0
    finally:
        h.close()


def test_mapper_leaves_out_the_beams_the_camera_set(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(localization=False))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        scan = wall_scan(100 * MS, distance=2.0, half_width=1.0)
        fused = np.zeros(360, dtype=bool)
        fused[175:186] = True  # the camera's near returns straight ahead
        ranges = np.array(scan.ranges)
        ranges[fused] = 0.8
        scan.ranges = ranges.astype(np.float32).tolist()
        h.send_scan(scan, origin='lidar+perception', fused=fused)
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        grid = grid_from_msg(h.maps[-1])
        assert cell(grid, 0.8, 0.0) < 65, 'a camera return entered the map'
        assert wall_at(grid, 2.0, 0.6), 'the LiDAR beams beside it were mapped'
        assert mapper.counts['camera_beams_left_out'] == 11
    finally:
        h.close()


# Planner


CERTAIN = (1e-4, 1e-4, 1e-4)  # sigma 1 cm
VAGUE = (0.04, 0.01, 0.001)  # sigma 0.2 m: more than xy_tolerance / k_sigma (0.085 m)


def test_planner_uses_the_correction_stamped_like_its_map(context) -> None:
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[-4.0, 0.0, 0.0], input_wait_s=5.0))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.correction, h.pose, topics=('/plan',))
        h.send_odom(100 * MS, 0.0)
        h.map.publish(grid_msg(box_map(), 100 * MS))
        assert not h.spin_until(lambda: h.plan_stamped(100 * MS) is not None, 0.5), (
            'planned before its correction came')
        h.correction.publish(correction_msg(Pose2D(0.3, -0.2, 0.0), 100 * MS))
        assert not h.spin_until(lambda: h.plan_stamped(100 * MS) is not None, 0.5), (
            'planned with the correction but without the covariance of its stamp')
        h.pose.publish(pose_with_covariance_msg(Pose2D(0.3, -0.2, 0.0), CERTAIN, 100 * MS))
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        assert points[0] == pytest.approx((0.3, -0.2)), 'the robot at the corrected pose'
        assert planner.counts['late_inputs'] == 0
    finally:
        h.close()


def test_planner_plans_around_the_mapped_wall_on_every_map(context, tmp_path) -> None:
    report = tmp_path / 'report.json'
    mapper = MapperNode(context=context)
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[4.0, 0.0, 0.5], report_path=str(report)))
    h = Harness(context, mapper, planner)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/plan'))
        stamps = [100 * MS, 200 * MS, 300 * MS]
        for stamp in stamps:
            h.send_odom(stamp, 0.0)
            h.send_scan(wall_scan(stamp))
            assert h.spin_until(lambda s=stamp: h.plan_stamped(s) is not None)
        assert [from_msg(p.header.stamp) for p in h.plans] == stamps, 'one plan per map'
        plan = h.plans[-1]
        points = path_points(plan)
        assert points[0] == pytest.approx((0.0, 0.0)) and points[-1] == pytest.approx((4.0, 0.0))
        assert quaternion_yaw(plan.poses[-1].pose.orientation) == pytest.approx(0.5)
        assert all(from_msg(p.header.stamp) == stamps[-1] for p in plan.poses)
        assert max(abs(y) for _, y in points) > 1.0, 'the path goes round the wall'
        costmap = inflate(grid_from_msg(h.maps[-1]), INFLATION)
        assert costmap.blocked.any() and path_blocked(costmap, points) is None
        assert planner.counts['late_inputs'] == 0
        goals = json.loads(report.read_text())['goals']
        assert [(g['index'], g['outcome']) for g in goals] == [(0, 'pending')]
    finally:
        h.close()


def test_planner_reports_a_goal_it_cannot_trust_as_uncertain(context, tmp_path) -> None:
    report = tmp_path / 'report.json'
    # Both goals 0.1 m ahead of the start; the second waits for the pose to become certain.
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[0.1, 0.0, 0.0, 0.1, 0.0, 0.0], input_wait_s=5.0, uncertain_wait_s=1.0,
        report_path=str(report), diagnostics_period_s=0.1))
    h = Harness(context, planner)

    def step(stamp_ns: int, variances: tuple[float, float, float]) -> list[dict]:
        h.send_odom(stamp_ns, 0.0)
        # The pose first, then the correction (the mapper's order; the join takes either).
        h.pose.publish(pose_with_covariance_msg(ORIGIN, variances, stamp_ns))
        h.correction.publish(correction_msg(ORIGIN, stamp_ns))
        h.map.publish(grid_msg(box_map(), stamp_ns))
        assert h.spin_until(lambda: h.plan_stamped(stamp_ns) is not None)
        return json.loads(report.read_text())['goals']

    try:
        h.connect(h.odom, h.map, h.correction, h.pose, topics=('/plan',))
        assert step(100 * MS, VAGUE)[0]['outcome'] == 'pending', 'within tolerance, too vague'
        assert step(1000 * MS, VAGUE)[0]['outcome'] == 'pending', 'still inside the 1 s wait'
        goals = step(1100 * MS, VAGUE)
        assert (goals[0]['outcome'], goals[0]['t']) == ('uncertain', 1.1)
        assert goals[0]['covariance'] == pytest.approx(list(VAGUE))
        assert goals[1]['outcome'] == 'pending', 'the next goal now waits in turn'
        assert path_points(h.plan_stamped(1100 * MS)), 'and is planned for'
        goals = step(1200 * MS, CERTAIN)  # the LiDAR is back within the second goal's wait
        assert (goals[1]['outcome'], goals[1]['t']) == ('reached', 1.2)
        assert json.loads(report.read_text())['goals_uncertain'] == 1
        assert h.spin_until(lambda: h.status(
            'robo_edge/planner', 'goals_reached', lambda v: v == '1'))
        values = status_values(h.statuses['robo_edge/planner'][-1])
        assert (values['goals_uncertain'], values['goals_failed']) == ('1', '0')
        assert status_level(h.statuses['robo_edge/planner'][-1]) == 1
        assert planner.counts['late_inputs'] == 0
    finally:
        h.close()


def test_planner_takes_a_correction_without_its_covariance_as_unknown(context) -> None:
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[0.1, 0.0, 0.0], input_wait_s=0.3, uncertain_wait_s=0.0))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.correction, h.pose, topics=('/plan',))
        h.send_odom(100 * MS, 0.0)
        h.correction.publish(correction_msg(ORIGIN, 100 * MS))
        h.map.publish(grid_msg(box_map(), 100 * MS))
        sent = time.monotonic()
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        assert time.monotonic() - sent >= 0.3, 'released before its wait was over'
        # At the goal, but the covariance is unknown: not reached (uncertain, no wait).
        record = planner.goals.records[0]
        assert record.outcome.value == 'uncertain' and math.isinf(record.covariance[0])
        assert planner.counts['late_inputs'] == 1
    finally:
        h.close()


def box_map() -> Grid:
    """10 m x 10 m of free space from (-5, -5) with a closed 1.2 m box around (3, 3)."""
    grid = Grid.filled(100, 100, 0.1, 0, origin_x=-5.0, origin_y=-5.0)
    c0, r0 = grid.world_to_cell(2.4, 2.4)
    c1, r1 = grid.world_to_cell(3.6, 3.6)
    grid.data[r0:r1 + 1, [c0, c1]] = 100
    grid.data[[r0, r1], c0:c1 + 1] = 100
    return grid


def test_planner_fails_an_unreachable_goal_and_ends_with_an_empty_plan(context, tmp_path):
    report = tmp_path / 'out' / 'report.json'
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[3.0, 3.0, 0.0, 1.0, 0.0, 0.0], initial_pose=[0.5, 0.0, 0.0],
        report_path=str(report), diagnostics_period_s=0.1, localization=False))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, topics=('/plan',))
        h.send_odom(100 * MS, -0.5)  # odom -0.5 from the initial pose 0.5: the map origin
        h.map.publish(grid_msg(box_map(), 100 * MS))
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        assert points[0] == pytest.approx((0.0, 0.0)) and points[-1] == pytest.approx((1.0, 0.0))
        goals = json.loads(report.read_text())['goals']
        assert (goals[0]['outcome'], goals[0]['reason'], goals[0]['t']) == (
            'failed', 'unreachable', 0.1)
        assert goals[1]['outcome'] == 'pending'
        # The robot arrives at the second goal: it is reached and the plan is empty.
        h.send_odom(200 * MS, 0.45)
        h.map.publish(grid_msg(box_map(), 200 * MS))
        assert h.spin_until(lambda: h.plan_stamped(200 * MS) is not None)
        assert h.plan_stamped(200 * MS).poses == []
        goals = json.loads(report.read_text())['goals']
        assert (goals[1]['outcome'], goals[1]['t']) == ('reached', 0.2)
        # A status published before the second map was handled may still arrive: wait for one
        # that has seen the arrival, then check the rest of it.
        assert h.spin_until(lambda: h.status(
            'robo_edge/planner', 'goals_reached', lambda v: v == '1'))
        values = status_values(h.statuses['robo_edge/planner'][-1])
        assert values['goals_failed'] == '1' and values['failures'] == '0: unreachable'
        assert values['goal_index'] == ''
    finally:
        h.close()


def test_goal_pose_replaces_the_goals_at_the_next_map(context) -> None:
    planner = PlannerNode(context=context, parameter_overrides=overrides(localization=False))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.goal, topics=('/plan',))
        goal = PoseStamped()
        goal.header.frame_id = 'map'
        goal.pose.position.x, goal.pose.position.y = -2.0, 1.0
        goal.pose.orientation.w = 1.0
        h.goal.publish(goal)
        assert h.spin_until(lambda: planner.new_goal is not None)
        h.send_odom(100 * MS, 0.0)
        h.map.publish(grid_msg(box_map(), 100 * MS))
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        assert points[-1] == pytest.approx((-2.0, 1.0)) and planner.goals.index == 0
    finally:
        h.close()


def test_navigation_yaml_matches_the_node_defaults() -> None:
    config = yaml.safe_load((REPO / 'config' / 'navigation.yaml').read_text())
    for name, module in (('mapper', mapper_module), ('planner', planner_module),
                         ('controller', controller_module)):
        # required_readers: set per run by the bringup that knows the graph.
        defaults = {p.name: p.default for p in module.PARAMS if p.name != 'required_readers'}
        values = config[name]['ros__parameters']
        assert set(values) == set(defaults), name
        for key, value in values.items():
            assert value == defaults[key], f'{name}.{key}'
