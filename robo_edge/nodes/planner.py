"""Global planner: one /plan per /map, stamped like it, towards the current goal of a sequence.

Each `/map` stamped s waits (bounded, in wall time) for the `/odom` stamped s, as the mapper's
scans do, and with `localization` on for the mapper's correction (map -> odom) stamped s; one
that does not come goes with the newest before s. With the pose at s the goal sequence advances
(reached, or failed for lack of progress); then the path is replanned only when needed: no path
yet, a new goal, the rest of the path blocked on the new map, or the robot strayed from it. An
unreachable goal fails and the next one is planned in the same step. The plan goes out for
every map (re-stamped when unchanged, empty when no goal is left), and the outcomes go to
`report_path` as JSON.
"""

import json
import math
import os
import time
from collections import deque
from pathlib import Path as FilePath
from typing import Any

import numpy as np
import rclpy.clock
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.clock import ClockType
from rclpy.node import Node

from robo_edge.exceptions import GridError
from robo_edge.lockstep import LATE_RELEASE, OVERDUE_CHECK_PERIOD_S
from robo_edge.mapping.localizer import base_in_map
from robo_edge.navigation.goals import (
    REASON_UNREACHABLE,
    GoalParams,
    GoalRecord,
    GoalSequence,
    Outcome,
    goals_from_flat,
    nearest_segment,
)
from robo_edge.planning.astar import GridPlanner, PlannerParams, PlanResult, PlanStatus
from robo_edge.planning.grid import Grid
from robo_edge.planning.inflation import CostMap, InflationParams, inflate
from robo_edge.planning.path_checks import distance_to_path, path_blocked
from robo_edge.ros import qos
from robo_edge.ros.diagnostics import to_array
from robo_edge.ros.nav_messages import (
    CORRECTION_TOPIC,
    FRAME_MAP,
    ExactStampJoin,
    Joined,
    correction_from_msg,
    goal_pose,
    grid_from_msg,
    odom_pose,
    path_msg,
    pose_from_list,
    stamp_of,
)
from robo_edge.ros.params import Param, declare
from robo_edge.ros.readiness import ReadinessReporter
from robo_edge.ros.run import spin_node
from robo_edge.twin.kinematics import Pose2D

STATUS_NAME = 'robo_edge/planner'
OK, WARN = 0, 1
FAILING = (PlanStatus.UNREACHABLE, PlanStatus.GOAL_BLOCKED)

PARAMS = [
    Param('goals', [0.0], 'Flat [x, y, yaw, ...] goals in map; [0.0] or empty: none'),
    Param('initial_pose', [0.0, 0.0, 0.0], 'Pose of odom in map [x, y, yaw] (the start pose)'),
    Param('robot_radius', 0.2, 'Robot radius (m)', 0.0, 5.0),
    Param('inflation_margin', 0.15, 'Blocked band beyond the radius (m)', 0.0, 5.0),
    Param('unknown_is_free', True, 'Plan through unknown cells (replan as the map fills)'),
    Param('xy_tolerance', 0.17, 'A goal is reached this close (m)', 0.001, 10.0),
    Param('yaw_tolerance', 0.3, 'and facing its yaw this closely (rad)', 0.001, 3.2),
    Param('stray_distance', 0.5, 'Replan when this far off the path (m)', 0.01, 100.0),
    Param('progress_distance_m', 0.3, 'Progress that must be made towards a goal', 0.001, 100.0),
    Param('progress_timeout_s', 30.0, 'within this much simulated time', 0.1, 1e6),
    Param('report_path', '', 'JSON file of the goal outcomes; empty: none'),
    Param('landmarks', 0, 'A* ALT landmarks (each costs a search per new map)', 0, 8),
    Param('input_wait_s', 0.3, 'Wall time a map waits for its odometry', 0.0, 10.0),
    Param('localization', True, "Use the mapper's correction at each map's stamp; false: "
          'dead reckoning from initial_pose'),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics (steady clock)', 0.05, 60.0),
]


class PlannerNode(Node):
    """Plans from the robot to the current goal on each map and reports how the goals ended.

    Parameters: goals (double[]), initial_pose (double[3]), robot_radius, inflation_margin,
    xy_tolerance, yaw_tolerance, stray_distance, progress_distance_m, progress_timeout_s,
    input_wait_s, diagnostics_period_s (double), unknown_is_free, localization (bool),
    landmarks (int), report_path (string).
    Subscriptions: /map (nav_msgs/OccupancyGrid, reliable transient local),
    /odom (nav_msgs/Odometry, best effort depth 10), with localization
    /localization/map_to_odom (geometry_msgs/TransformStamped, reliable transient local),
    /goal_pose (geometry_msgs/PoseStamped, reliable depth 1; replaces the remaining goals).
    Publishers: /plan (nav_msgs/Path, reliable transient local, frame map, stamped like its
    map), /diagnostics (diagnostic_msgs/DiagnosticArray, status robo_edge/planner).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('planner', **kwargs)
        values = declare(self, PARAMS)
        self.initial_pose = pose_from_list(values['initial_pose'], 'initial_pose')
        self.goals = GoalSequence(goals_from_flat(values['goals']), GoalParams(
            values['xy_tolerance'], values['yaw_tolerance'], values['progress_distance_m'],
            values['progress_timeout_s']))
        self.inflation = InflationParams(
            values['robot_radius'], values['inflation_margin'],
            unknown_is_free=values['unknown_is_free'])
        self.planner_params = PlannerParams(landmarks=values['landmarks'])
        self.stray_m = values['stray_distance']
        self.report_path = FilePath(values['report_path']) if values['report_path'] else None
        self.localize = bool(values['localization'])
        self.join = ExactStampJoin(values['input_wait_s'], corrections=self.localize)
        self.path: list[tuple[float, float]] = []
        self.path_goal: int | None = None
        self.along = 0
        self.new_goal: Pose2D | None = None
        self.counts = {'maps': 0, 'replans': 0, 'late_inputs': 0, 'dropped_inputs': 0}
        self.last_status, self.plan_ms = 'none', 0.0
        self.step_ms: deque[float] = deque(maxlen=200)
        self._plan_pub = self.create_publisher(Path, '/plan', qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.DIAGNOSTICS)
        inputs = [
            self.create_subscription(OccupancyGrid, '/map', self._on_map, qos.LATCHED),
            self.create_subscription(Odometry, '/odom', self._on_odom, qos.SENSOR_BURST)]
        if self.localize:
            inputs.append(self.create_subscription(
                TransformStamped, CORRECTION_TOPIC, self._on_correction, qos.CORRECTION))
        self.readiness = ReadinessReporter(self, inputs)
        self.create_subscription(PoseStamped, '/goal_pose', self._on_goal, qos.COMMAND)
        steady = rclpy.clock.Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._release, clock=steady)
        self.create_timer(values['diagnostics_period_s'], self.publish_diagnostics, clock=steady)
        self.write_report()
        warm_up_planner(self.inflation, self.planner_params)
        self.get_logger().info(f'{len(self.goals.records)} goals')

    def _on_map(self, msg: OccupancyGrid) -> None:
        if not self.join.add_item(stamp_of(msg), msg, time.monotonic()):
            self.counts['dropped_inputs'] += 1
            self.get_logger().warning(f'map stamped {stamp_of(msg)} ns is out of order: dropped')
            return
        self._release()

    def _on_odom(self, msg: Odometry) -> None:
        self.join.add_pose(stamp_of(msg), odom_pose(msg))
        self._release()

    def _on_correction(self, msg: TransformStamped) -> None:
        self.join.add_correction(stamp_of(msg), correction_from_msg(msg))
        self._release()

    def _on_goal(self, msg: PoseStamped) -> None:
        if msg.header.frame_id not in ('', FRAME_MAP):
            self.get_logger().warning(f'goal in frame {msg.header.frame_id!r} ignored: not map')
            return
        # Applied at the next map, so it takes effect at a simulated time like everything else.
        self.new_goal = goal_pose(msg)

    def _release(self) -> None:
        for joined in self.join.release(time.monotonic()):
            self._step(joined)

    def _step(self, joined: Joined) -> None:
        """Advance the goals with the pose at the map's stamp, replan if needed, publish."""
        stamp_ns = joined.stamp_ns
        if not self._check_input(joined):
            return
        # Before the first correction (or without localisation): dead reckoning.
        pose = base_in_map(joined.correction or self.initial_pose, joined.pose)
        start = time.perf_counter()
        try:
            costmap = inflate(grid_from_msg(joined.item), self.inflation)
        except GridError as e:
            self.counts['dropped_inputs'] += 1
            self.get_logger().error(f'map at {stamp_ns} ns not used: {e}')
            return
        ended = self._take_new_goal(stamp_ns) + self.goals.update(pose, stamp_ns)
        ended += self._plan(costmap, pose, stamp_ns)
        self._plan_pub.publish(self._plan_msg(pose, stamp_ns))
        self.counts['maps'] += 1
        self.step_ms.append((time.perf_counter() - start) * 1e3)
        for record in ended:
            self._log_outcome(record)
        if ended:
            self.write_report()

    def _check_input(self, joined: Joined) -> bool:
        """Count and log a map that went without its own odometry; False: unusable."""
        if joined.pose is None:
            self.counts['dropped_inputs'] += 1
            self.get_logger().warning(f'no odometry for the map at {joined.stamp_ns} ns: dropped')
            return False
        if joined.late:
            self.counts['late_inputs'] += 1
            self.get_logger().warning(
                f'{LATE_RELEASE} odometry or correction at {joined.stamp_ns} ns did not come: '
                f'map used the pose at {joined.pose_stamp_ns} ns and the correction at '
                f'{joined.correction_stamp_ns} ns', throttle_duration_sec=1.0)
        return True

    def _take_new_goal(self, stamp_ns: int) -> list[GoalRecord]:
        if self.new_goal is None:
            return []
        goal, self.new_goal = self.new_goal, None
        self.get_logger().info(f'new goal ({goal.x:.2f}, {goal.y:.2f}, {goal.yaw:.2f})')
        return self.goals.replace(goal, stamp_ns)

    def _plan(self, costmap: CostMap, pose: Pose2D, stamp_ns: int) -> list[GoalRecord]:
        """Replan where needed; fail unreachable goals and go on to the next one."""
        ended: list[GoalRecord] = []
        planner: GridPlanner | None = None
        while (record := self.goals.current) is not None:
            if not self._needs_replan(costmap, pose, record.index):
                return ended
            planner = planner or GridPlanner(costmap, self.planner_params)
            result = self._replan(planner, pose, record)
            if not self._goal_unreachable(costmap, record.goal, result):
                return ended
            self.get_logger().error(
                f'goal {record.index} ({record.goal.x:.2f}, {record.goal.y:.2f}) is '
                f'unreachable ({result.status.value}): failed')
            ended.append(self.goals.fail_current(REASON_UNREACHABLE, stamp_ns))
        self.path, self.path_goal = [], None
        return ended

    @staticmethod
    def _goal_unreachable(costmap: CostMap, goal: Pose2D, result: PlanResult) -> bool:
        if result.status in FAILING:
            return True
        grid = costmap.grid
        return result.status is PlanStatus.OUT_OF_BOUNDS and not grid.in_bounds(
            *grid.world_to_cell(goal.x, goal.y))

    def _needs_replan(self, costmap: CostMap, pose: Pose2D, index: int) -> bool:
        if not self.path or self.path_goal != index:
            return True
        robot = (pose.x, pose.y)
        self.along = nearest_segment(self.path, robot, self.along)
        if distance_to_path(self.path[self.along:], robot) > self.stray_m:
            return True
        # While the robot itself is inside the blocked band, the segment it is on cannot be
        # free: judge the rest of the path.
        grid = costmap.grid
        col, row = grid.world_to_cell(*robot)
        inside = grid.in_bounds(col, row) and bool(costmap.blocked[row, col])
        return path_blocked(costmap, self.path, self.along + int(inside)) is not None

    def _replan(self, planner: GridPlanner, pose: Pose2D, record: GoalRecord) -> PlanResult:
        start = time.perf_counter()
        result = planner.plan((pose.x, pose.y), (record.goal.x, record.goal.y))
        self.plan_ms = (time.perf_counter() - start) * 1e3
        self.counts['replans'] += 1
        self.last_status = result.status.value
        path = list(result.path)
        if path and math.dist(path[0], (pose.x, pose.y)) > 1e-6:
            path.insert(0, (pose.x, pose.y))  # the start was snapped out of the blocked band
        elif path:
            path[0] = (pose.x, pose.y)
        if not path:
            self.get_logger().warning(
                f'no path to goal {record.index} ({result.status.value})',
                throttle_duration_sec=1.0)
        self.path, self.path_goal, self.along = path, (record.index if path else None), 0
        return result

    def _plan_msg(self, pose: Pose2D, stamp_ns: int) -> Path:
        record = self.goals.current
        if record is None or not self.path:
            return path_msg([], 0.0, stamp_ns)
        points = [(pose.x, pose.y)] + self.path[self.along + 1:]
        return path_msg(points, record.goal.yaw, stamp_ns)

    def _log_outcome(self, record: GoalRecord) -> None:
        text = (f'goal {record.index} ({record.goal.x:.2f}, {record.goal.y:.2f}, '
                f'{record.goal.yaw:.2f}) {record.outcome.value} at {record.t_s:.2f} s')
        if record.outcome is Outcome.REACHED:
            self.get_logger().info(text)
        else:
            self.get_logger().error(f'{text}: {record.reason}')

    def write_report(self) -> None:
        """Write the goal outcomes to report_path atomically (temporary file, then rename)."""
        if self.report_path is None:
            return
        data = {'goals': [record.as_dict() for record in self.goals.records]}
        tmp = self.report_path.with_name(f'.{self.report_path.name}.tmp')
        try:
            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=2) + '\n', encoding='utf-8')
            os.replace(tmp, self.report_path)
        except OSError as e:
            self.get_logger().error(f'report {self.report_path} not written: {e}')

    def status(self) -> DiagnosticStatus:
        """Return the planner's DiagnosticStatus now."""
        goals = self.goals
        failed = [r for r in goals.records if r.outcome is Outcome.FAILED]
        index = goals.index
        message = 'all goals done' if index is None else f'goal {index} of {len(goals.records)}'
        level = WARN if failed or self.counts['late_inputs'] else OK
        ms = np.asarray(self.step_ms) if self.step_ms else np.zeros(1)
        values = {
            'goal_index': '' if index is None else str(index),
            'goals': str(len(goals.records)),
            'goals_reached': str(goals.count(Outcome.REACHED)),
            'goals_failed': str(len(failed)),
            'failures': '; '.join(f'{r.index}: {r.reason}' for r in failed),
            'last_plan_status': self.last_status,
            'plan_ms': f'{self.plan_ms:.2f}',
            'step_ms_p99': f'{np.percentile(ms, 99):.2f}',
            **{key: str(count) for key, count in self.counts.items()},
        }
        return DiagnosticStatus(
            level=bytes([level]), name=STATUS_NAME, message=message, hardware_id='plan',
            values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def publish_diagnostics(self) -> None:
        """Publish the planner's status on /diagnostics."""
        self._diag_pub.publish(to_array([self.status()], self.get_clock().now().nanoseconds))


WARM_UP_CELLS = 400  # the mapper's default grid (40 m at 0.1 m)


def warm_up_planner(inflation: InflationParams, params: PlannerParams) -> None:
    """Plan once on a small empty grid, so imports and first calls are paid before t = 0.

    In lockstep the first real plan must arrive within the controller's bounded wait.
    """
    size = WARM_UP_CELLS
    grid = Grid(0.1, size, size, np.zeros((size, size), dtype=np.int8))
    GridPlanner(inflate(grid, inflation), params).plan((0.5, 0.5), (size * 0.1 - 0.5, 1.0))


def main(args: list[str] | None = None) -> int:
    """Run the planner until stopped."""
    return spin_node(PlannerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
