"""Global planner: one /plan per /map, stamped like it, towards the current goal of a sequence.

Each `/map` stamped s waits (bounded, in wall time) for the `/odom` stamped s, as the mapper's
scans do, and with `localization` on for the mapper's correction (map -> odom) and pose
covariance stamped s, joined by stamp (`navigation/localization_join.py`); one that does not
come goes with the newest before s (a correction without its covariance: unknown, inf). With
the pose at s the goal sequence advances (reached, or `uncertain` when the position sigma stays
above xy_tolerance / k_sigma for uncertain_wait_s, or failed for lack of progress; without
localisation there is no covariance and the pose alone is judged); then the path is replanned
only when needed: no path yet, a new goal, the rest of the path blocked on the new map, or the
robot strayed from it. An unreachable goal fails and the next one is planned in the same
step; while the LiDAR does not back the scans the map was made from, an unreachable goal
waits instead, and with no source at all unknown cells are obstacles
(navigation/obstacle_source.py). The plan goes out for every map (re-stamped when unchanged;
empty only when no goal is left, and a single pose where the robot stands while a goal has no
path), and the outcomes go to `report_path` as JSON. Tolerances, inflation and replanning
settings apply live (ros/planner_params.py).
"""

import time
from collections import deque
from pathlib import Path as FilePath
from typing import Any

import rclpy.clock
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.clock import ClockType
from rclpy.node import Node
from rclpy.subscription import Subscription

from robo_edge.control.uncertainty import UNKNOWN, Variances
from robo_edge.exceptions import GridError
from robo_edge.lockstep import LATE_RELEASE, OVERDUE_CHECK_PERIOD_S
from robo_edge.mapping.localizer import base_in_map
from robo_edge.navigation.goals import (
    REASON_UNREACHABLE,
    GoalRecord,
    GoalSequence,
    goals_from_flat,
)
from robo_edge.navigation.localization_join import LocalizationJoin, Localized, variances_of
from robo_edge.navigation.obstacle_source import Backing, ObstacleSources
from robo_edge.navigation.replanning import PathKeeper, goal_unreachable, warm_up_planner
from robo_edge.planning.inflation import CostMap, inflate
from robo_edge.planning.narrow import TieredPlanner
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros import qos
from robo_edge.ros import scan_source as ss
from robo_edge.ros.diagnostics import to_array
from robo_edge.ros.nav_messages import (
    FRAME_MAP,
    ExactStampJoin,
    Joined,
    correction_from_msg,
    goal_pose,
    grid_from_msg,
    localization_subscriptions,
    odom_pose,
    pose_from_list,
    stamp_of,
)
from robo_edge.ros.params import LiveParameters, declare
from robo_edge.ros.planner_params import LIVE, PARAMS, Tuning, tuning
from robo_edge.ros.planner_status import (
    log_outcome,
    plan_msg,
    planner_status,
    write_report,
)
from robo_edge.ros.readiness import ReadinessReporter
from robo_edge.ros.run import spin_node


class PlannerNode(Node):
    """Plans from the robot to the current goal on each map and reports how the goals ended.

    Parameters (ros/planner_params.PARAMS; LIVE apply at once, the rest read-only): goals,
    initial_pose (double[]); robot_radius, inflation_margin, narrow_margin, the GoalParams
    fields, stray_distance, input_wait_s, diagnostics_period_s (double); unknown_is_free,
    localization (bool); landmarks (int); map_topic, report_path, obstacle_source (string).
    Subscriptions: /map (nav_msgs/OccupancyGrid, reliable transient local),
    /odom (nav_msgs/Odometry, best effort depth 10), with localization
    /localization/map_to_odom (geometry_msgs/TransformStamped) and /localization/pose
    (geometry_msgs/PoseWithCovarianceStamped), both reliable transient local depth 10,
    /goal_pose (geometry_msgs/PoseStamped, reliable depth 1; replaces the remaining goals),
    obstacle_source /safety/scan_source (diagnostic_msgs/DiagnosticArray, reliable transient
    local depth 10; navigation/obstacle_source.py).
    Publishers: /plan (nav_msgs/Path, reliable transient local, frame map, stamped like its
    map), /diagnostics (diagnostic_msgs/DiagnosticArray, status robo_edge/planner).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('planner', **kwargs)
        values = declare(self, PARAMS)
        self.initial_pose = pose_from_list(values['initial_pose'], 'initial_pose')
        self.tuning = tuning(values)
        self.goals = GoalSequence(goals_from_flat(values['goals']), self.tuning.goals)
        self.sources = ObstacleSources(enabled=bool(values['obstacle_source']))
        self.holding = False
        self.keeper = PathKeeper(self.tuning.planner, self.tuning.stray_m, self.tuning.narrow)
        self.report_path = FilePath(values['report_path']) if values['report_path'] else None
        self.localize = bool(values['localization'])
        self.join = ExactStampJoin(self.tuning.wait_s, corrections=self.localize,
                                   pose_rate_hz=float(values['odom_rate_hz']))
        # A map waits for the correction and the covariance of its stamp, both or neither.
        self.localization = LocalizationJoin(keep=256)
        if self.localize:
            self.join.corrections = self.localization
        self.join.also_wait_for = self.sources.has
        self.new_goal: Pose2D | None = None
        self.counts = {'maps': 0, 'replans': 0, 'late_inputs': 0, 'dropped_inputs': 0,
                       'maps_without_lidar': 0}
        self.step_ms: deque[float] = deque(maxlen=200)
        self._plan_pub = self.create_publisher(Path, '/plan', qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.DIAGNOSTICS)
        self.readiness = ReadinessReporter(self, self._subscribe(values['map_topic'],
                                                               values['obstacle_source']))
        self.create_subscription(PoseStamped, '/goal_pose', self._on_goal, qos.COMMAND)
        steady = rclpy.clock.Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._release, clock=steady)
        self.create_timer(values['diagnostics_period_s'], self.publish_diagnostics, clock=steady)
        self.write_report()
        warm_up_planner(self.tuning.inflation, self.tuning.planner)
        self.live = LiveParameters(self, PARAMS, values, LIVE,
                                   lambda v, _changed: self.retune(tuning(v)))
        self.get_logger().info(f'{len(self.goals.records)} goals')

    def retune(self, new: Tuning) -> None:
        """Use a new tuning from the next map on (live parameters)."""
        self.tuning, self.goals.params, self.join.wait_s = new, new.goals, new.wait_s
        self.keeper.params, self.keeper.stray_m = new.planner, new.stray_m
        self.keeper.narrow_params = new.narrow

    def _subscribe(self, map_topic: str, source_topic: str) -> list[Subscription]:
        """Subscribe to the inputs; return those that must have a writer before ready."""
        inputs = [
            self.create_subscription(OccupancyGrid, map_topic, self._on_map, qos.LATCHED),
            self.create_subscription(Odometry, '/odom', self._on_odom, qos.SENSOR_BURST)]
        if self.localize:
            inputs += localization_subscriptions(self, self._on_correction, self._on_pose)
        if source_topic:
            inputs.append(self.create_subscription(
                DiagnosticArray, source_topic, self._on_source, qos.CORRECTION))
        return inputs

    def _on_source(self, msg: DiagnosticArray) -> None:
        source = ss.read_source(msg)
        if source is None:  # fail closed: a malformed origin backs nothing
            self.get_logger().warning('scan source without a status: not LiDAR-backed',
                                      throttle_duration_sec=1.0)
        self.sources.add(stamp_of(msg), None if source is None else source.origin)
        self._release()

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
        if self.localization.add_correction(stamp_of(msg), correction_from_msg(msg)):
            self._release()

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        if self.localization.add_variances(stamp_of(msg), variances_of(msg.pose.covariance)):
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
        located: Localized | None = joined.correction
        pose = base_in_map(located.correction if located else self.initial_pose, joined.pose)
        variances = self._variances(located)
        start = time.perf_counter()
        backing = self.sources.backing(stamp_ns)
        self.counts['maps_without_lidar'] += int(backing is not Backing.LIDAR)
        try:
            costmap = inflate(grid_from_msg(joined.item), self.tuning.known_only
                              if backing is Backing.NONE else self.tuning.inflation)
        except GridError as e:
            self.counts['dropped_inputs'] += 1
            self.get_logger().error(f'map at {stamp_ns} ns not used: {e}')
            return
        ended = self._take_new_goal(stamp_ns) + self.goals.update(pose, stamp_ns, variances)
        ended += self._plan(costmap, pose, stamp_ns, hold=backing is not Backing.LIDAR)
        self._plan_pub.publish(plan_msg(self.goals, self.keeper, pose, stamp_ns))
        self.counts['maps'] += 1
        self.step_ms.append((time.perf_counter() - start) * 1e3)
        for record in ended:
            log_outcome(self.get_logger(), record)
        if ended:
            self.write_report()

    def _variances(self, located: Localized | None) -> Variances | None:
        """Return the variances goals are judged with; None without localisation."""
        if not self.localize:
            return None
        return located.variances if located is not None else UNKNOWN

    def _check_input(self, joined: Joined) -> bool:
        """Count and log a map that went without its own odometry; False: unusable."""
        if joined.pose is None:
            self.counts['dropped_inputs'] += 1
            self.get_logger().warning(f'no odometry for the map at {joined.stamp_ns} ns: dropped')
            return False
        unpaired = joined.correction is not None and not joined.correction.paired
        if joined.late or unpaired:
            self.counts['late_inputs'] += 1
            self.get_logger().warning(
                f'{LATE_RELEASE} odometry, correction or covariance at {joined.stamp_ns} ns did '
                f'not come: map used the pose at {joined.pose_stamp_ns} ns and the correction '
                f'at {joined.correction_stamp_ns} ns' + (' (covariance unknown)' * unpaired),
                throttle_duration_sec=1.0)
        return True

    def _take_new_goal(self, stamp_ns: int) -> list[GoalRecord]:
        if self.new_goal is None:
            return []
        goal, self.new_goal = self.new_goal, None
        self.get_logger().info(f'new goal ({goal.x:.2f}, {goal.y:.2f}, {goal.yaw:.2f})')
        return self.goals.replace(goal, stamp_ns)

    def _plan(self, costmap: CostMap, pose: Pose2D, stamp_ns: int,
              hold: bool) -> list[GoalRecord]:
        """Replan where needed; fail unreachable goals and go on to the next one.

        With `hold` (the LiDAR does not back the map) an unreachable goal waits instead.
        """
        ended: list[GoalRecord] = []
        planner: TieredPlanner | None = None
        robot = (pose.x, pose.y)
        self.holding = False
        while (record := self.goals.current) is not None:
            if not self.keeper.needs_replan(costmap, robot, record.index):
                return ended
            planner = planner or self.keeper.planner(costmap)
            result = self.keeper.replan(planner, robot, (record.goal.x, record.goal.y),
                                        record.index)
            self.counts['replans'] += 1
            if not self.keeper.path:
                self.get_logger().warning(
                    f'no path to goal {record.index} ({result.status.value})',
                    throttle_duration_sec=1.0)
            if not goal_unreachable(costmap, record.goal, result) or hold:
                self.holding = hold and not self.keeper.path
                return ended
            self.get_logger().error(
                f'goal {record.index} ({record.goal.x:.2f}, {record.goal.y:.2f}) is '
                f'unreachable ({result.status.value}): failed')
            ended.append(self.goals.fail_current(REASON_UNREACHABLE, stamp_ns))
        self.keeper.clear()
        return ended

    def write_report(self) -> None:
        """Write the goal outcomes to report_path atomically."""
        if self.report_path is None:
            return
        try:
            write_report(self.report_path, self.goals.report())
        except OSError as e:
            self.get_logger().error(f'report {self.report_path} not written: {e}')

    def status(self) -> DiagnosticStatus:
        """Return the planner's DiagnosticStatus now."""
        return planner_status(self)

    def publish_diagnostics(self) -> None:
        """Publish the planner's status on /diagnostics."""
        self._diag_pub.publish(to_array([self.status()], self.get_clock().now().nanoseconds))


def main(args: list[str] | None = None) -> int:
    """Run the planner until stopped."""
    return spin_node(PlannerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
