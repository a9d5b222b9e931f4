"""Controller: regulated pure pursuit along /plan, one command per lockstep tick.

Each `/clock` tick t_k is answered from exactly the inputs the schedule says exist at t_k
(docs/architecture.md, Navigation lockstep): odom at latest_due(t_k, 50 Hz), and once a scan is
due, the plan, the scan and (with `localization`) the mapper's correction (map -> odom) stamped
latest_due(t_k, 10 Hz); before the first scan the correction is `initial_pose`. A tick missing
one waits, retried on every arrival, and a steady 10 ms timer releases it after `input_wait_s`
(wall) with the newest inputs not later than t_k. The bound equals the gate's (0.3 s): an
answer that comes within it still reaches the gate in time, so the run stays exact; a later one
was late anyway. With `tick_source: timer` (a robot, no lockstep) a wall timer ticks and the
newest inputs are used at once.
"""

import math
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TransformStamped, TwistStamped
from nav_msgs.msg import Odometry, Path
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import LaserScan

from robo_edge.control.pure_pursuit import FollowStatus, PursuitConfig, RegulatedPurePursuit
from robo_edge.control.scan_geometry import (
    ScanLayout,
    nearest_distance,
    rear_clearance,
    scan_points,
)
from robo_edge.exceptions import ConfigError
from robo_edge.lockstep import (
    LATE_RELEASE,
    OVERDUE_CHECK_PERIOD_S,
    PendingTick,
    StampedBuffer,
    latest_due,
)
from robo_edge.navigation import progress
from robo_edge.navigation.progress import NavInputs, NavState, RecoveryConfig
from robo_edge.ros import qos
from robo_edge.ros.diagnostics import percentile_values
from robo_edge.ros.nav_messages import (
    CORRECTION_TOPIC,
    correction_from_msg,
    map_pose,
    odom_pose,
    path_points,
    pose_from_list,
    quaternion_yaw,
)
from robo_edge.ros.params import Param, declare
from robo_edge.ros.readiness import REQUIRED_READERS_DOC, ReadinessReporter, required_outputs
from robo_edge.ros.run import spin_node
from robo_edge.ros.stamps import from_msg, to_msg
from robo_edge.ros.ticks import TickDriven
from robo_edge.twin.kinematics import (
    BaseLimits,
    Pose2D,
    Velocity,
    accelerate,
    wheel_feasible_step,
    wrap_angle,
)

NODE_NAME = 'controller'
STATUS_NAME = 'robo_edge/controller'
# Every plan matters (each is keyed by its stamp): reliable, a short queue, volatile.
# Transient local like the planner's latched publisher: a controller that matches the planner
# late still receives the newest plan.
PLAN_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
RAW_COMMAND_QOS = qos.COMMAND
OK, WARN, ERROR = 0, 1, 2

# Parameter name -> PursuitConfig field.
PURSUIT_FIELDS = {
    'desired_speed': 'desired_linear', 'lookahead_time': 'lookahead_time',
    'min_lookahead': 'min_lookahead', 'max_lookahead': 'max_lookahead',
    'xy_tolerance': 'xy_tolerance', 'yaw_tolerance': 'yaw_tolerance',
    'approach_distance': 'approach_distance', 'robot_radius': 'robot_radius',
    'slow_clearance': 'slow_clearance', 'stop_clearance': 'stop_clearance',
    'rotate_to_heading_angle': 'rotate_to_heading_angle',
    'max_rotate_speed': 'max_rotate_speed',
}
LIMIT_FIELDS = ('max_linear', 'max_angular', 'max_linear_accel', 'max_angular_accel',
                'wheel_separation', 'max_wheel_speed')
RECOVERY_FIELDS = {
    'progress_distance_m': 'progress_distance_m', 'progress_window_s': 'progress_window_s',
    'backup_distance_m': 'backup_distance_m',
    'backup_speed': 'backup_speed', 'recovery_rotate_speed': 'rotate_speed',
}

PARAMS = [
    Param('initial_pose', [0.0, 0.0, 0.0], 'Pose [x, y, yaw] of odom in map'),
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link [x, y, yaw]'),
    Param('tick_source', 'clock', 'clock: answer each /clock tick; timer: own wall timer'),
    Param('rate_hz', 20.0, 'Tick rate with tick_source timer', 1.0, 200.0),
    Param('odom_rate_hz', 50.0, 'Rate of /odom (its schedule in lockstep)', 1.0, 1000.0),
    Param('scan_rate_hz', 10.0, 'Rate of /safety/scan and /plan', 0.1, 100.0),
    Param('input_wait_s', 0.3, 'Wall time a tick waits for its inputs', 0.0, 10.0),
    Param('required_readers', [''], REQUIRED_READERS_DOC),
    Param('localization', True, "Use the mapper's correction at the plan's stamp; false: "
          'dead reckoning from initial_pose'),
    Param('control_period_s', 0.05, 'Tick interval assumed by the controller (dt)', 0.001, 1.0),
    Param('desired_speed', 0.5, 'Cruise speed (m/s)', 0.0, 5.0),
    Param('lookahead_time', 1.5, 'Lookahead distance per m/s (s)', 0.0, 10.0),
    Param('min_lookahead', 0.3, 'Shortest lookahead (m)', 0.01, 10.0),
    Param('max_lookahead', 0.9, 'Longest lookahead (m)', 0.01, 10.0),
    Param('xy_tolerance', 0.15, 'Goal position tolerance (m)', 0.01, 5.0),
    Param('yaw_tolerance', 0.2, 'Goal heading tolerance (rad)', 0.01, 3.2),
    Param('approach_distance', 0.6, 'Distance over which the goal approach slows (m)', 0.0, 10.0),
    Param('robot_radius', 0.2, 'Radius of the base footprint (m)', 0.01, 5.0),
    Param('slow_clearance', 0.4, 'Obstacle clearance where slowing starts (m)', 0.0, 10.0),
    Param('stop_clearance', 0.05, 'Clearance where proximity slowing is floored (m)', 0.0, 10.0),
    Param('obstacle_half_angle', 1.0, 'Half-angle ahead that slows for obstacles (rad)',
          0.0, 3.1416),
    Param('rotate_to_heading_angle', 0.785, 'Heading error that turns in place (rad)', 0.0, 3.2),
    Param('max_rotate_speed', 1.5, 'Fastest in-place turn (rad/s)', 0.0, 10.0),
    Param('max_linear', 0.8, 'Base speed limit (m/s)', 0.0, 10.0),
    Param('max_angular', 2.0, 'Base yaw-rate limit (rad/s)', 0.0, 20.0),
    Param('max_linear_accel', 1.0, 'Base acceleration limit (m/s^2)', 0.01, 20.0),
    Param('max_angular_accel', 3.0, 'Base yaw acceleration limit (rad/s^2)', 0.01, 50.0),
    Param('wheel_separation', 0.32, 'Distance between the wheels (m)', 0.01, 5.0),
    Param('max_wheel_speed', 1.0, 'Wheel rim speed limit (m/s)', 0.01, 20.0),
    Param('progress_distance_m', 0.2, 'Motion that counts as progress (m)', 0.0, 10.0),
    Param('progress_window_s', 8.0, 'Time allowed for that motion (s, sim)', 0.1, 600.0),
    Param('max_recovery_attempts', 3, 'Recovery attempts per goal', 0, 100),
    Param('backup_distance_m', 0.15, 'Recovery backup distance (m)', 0.0, 5.0),
    Param('backup_speed', 0.1, 'Recovery backup speed (m/s)', 0.0, 1.0),
    Param('recovery_rotate_speed', 0.6, 'Recovery in-place turn rate (rad/s)', 0.0, 5.0),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics (s, steady)', 0.05, 60.0),
]


@dataclass(frozen=True, slots=True)
class Plan:
    """A path in map and its goal yaw (None: no final heading)."""

    points: tuple[tuple[float, float], ...]
    goal_yaw: float | None


@dataclass(frozen=True, slots=True)
class Obstacles:
    """What one scan says: the nearest point ahead and the free travel behind."""

    nearest: float | None
    rear_clearance: float


@dataclass(frozen=True, slots=True)
class TickInputs:
    """The snapshot one tick computes on: odom (pose in odom, twist), the plan and its stamp.

    `correction` is the pose of odom in map at the plan's stamp (None: initial_pose).
    """

    odom: tuple[Pose2D, Velocity] | None
    plan: Plan | None
    plan_stamp_ns: int | None
    obstacles: Obstacles | None
    correction: Pose2D | None = None


@dataclass(frozen=True, slots=True)
class NavReport:
    """What a tick did, for logs and diagnostics."""

    status: str
    phase: str
    distance_to_goal: float
    replan_requested: bool = False
    failure: str | None = None


def plan_from_msg(msg: Path) -> Plan:
    """Return the plan of a Path message (empty: no goal)."""
    yaw = quaternion_yaw(msg.poses[-1].pose.orientation) if msg.poses else None
    return Plan(tuple(path_points(msg)), yaw)


def odom_from_msg(msg: Odometry) -> tuple[Pose2D, Velocity]:
    """Return the pose in odom and the body twist of an Odometry message."""
    return odom_pose(msg), Velocity(msg.twist.twist.linear.x, msg.twist.twist.angular.z)


class Navigator:
    """Pure pursuit plus the progress/recovery state machine for one goal at a time (no ROS)."""

    def __init__(self, pursuit: RegulatedPurePursuit, recovery: RecoveryConfig, dt: float,
                 initial_pose: Pose2D) -> None:
        self.pursuit, self.recovery, self.dt = pursuit, recovery, dt
        self.initial_pose = initial_pose
        self.state: NavState | None = None
        self.goal: tuple[float, float, float | None] | None = None
        self.replan_since_ns = 0

    def reset(self) -> None:
        """Forget the goal (no plan, or the clock started over)."""
        self.state, self.goal = None, None
        self.pursuit.reset()

    def step(self, now_ns: int, inputs: TickInputs) -> tuple[Velocity, NavReport]:
        """Return the command for this tick and what was done."""
        plan = inputs.plan
        if inputs.odom is None or plan is None or not plan.points:
            self.reset()
            return Velocity(), NavReport(FollowStatus.NO_PATH.value, 'idle', math.inf)
        odom, velocity = inputs.odom
        pose = map_pose(inputs.correction or self.initial_pose, odom)
        self._track_goal(plan, pose, now_ns)
        obstacles = inputs.obstacles
        replanned = (inputs.plan_stamp_ns or 0) > self.replan_since_ns
        nav_in = NavInputs(now_ns, pose, obstacles.rear_clearance if obstacles else None,
                           True if replanned else None)
        self.state, directive = progress.step(self.state, nav_in, self.recovery)
        if directive.request_replan:
            self.replan_since_ns = now_ns
        if directive.command is not None:
            command = wheel_feasible_step(
                velocity, accelerate(velocity, directive.command, self.pursuit.limits, self.dt),
                self.pursuit.limits)
            return command, NavReport(directive.phase.value, directive.phase.value, math.nan,
                                      directive.request_replan, directive.failure)
        out = self.pursuit.compute(plan.points, pose, velocity, self.dt,
                                   obstacles.nearest if obstacles else None, plan.goal_yaw)
        if out.status is FollowStatus.GOAL_REACHED:
            # Standing at the goal is not a lack of progress.
            self.state = replace(self.state, anchor=pose, anchor_ns=now_ns)
        return out.velocity, NavReport(out.status.value, self.state.phase.value,
                                       out.distance_to_goal)

    def _track_goal(self, plan: Plan, pose: Pose2D, now_ns: int) -> None:
        """Start the progress watch over when the goal (last point and yaw) changes."""
        goal = (*plan.points[-1], plan.goal_yaw)
        if self.goal is None or not _same_goal(self.goal, goal):
            self.goal = goal
            self.state = progress.start_goal(pose, now_ns)
            self.replan_since_ns = now_ns


def _same_goal(a: tuple[float, float, float | None], b: tuple[float, float, float | None],
               tolerance_m: float = 0.05, tolerance_rad: float = 0.05) -> bool:
    if math.hypot(a[0] - b[0], a[1] - b[1]) > tolerance_m:
        return False
    if a[2] is None or b[2] is None:
        return a[2] is b[2]
    return abs(wrap_angle(a[2] - b[2])) <= tolerance_rad


class ControllerNode(TickDriven, Node):
    """Answers each tick with a TwistStamped from pure pursuit and the recovery state machine.

    Parameters: see PARAMS (initial_pose, laser_offset, tick_source, rate_hz, odom_rate_hz,
    scan_rate_hz, input_wait_s, localization, control_period_s, pursuit tuning, base limits,
    recovery, diagnostics_period_s).
    Subscriptions: /clock (rosgraph_msgs/Clock), /odom (nav_msgs/Odometry, best effort),
    /safety/scan (sensor_msgs/LaserScan, best effort), /plan (nav_msgs/Path, reliable depth 10),
    with localization /localization/map_to_odom (geometry_msgs/TransformStamped, reliable
    transient local depth 10).
    Publishers: /cmd_vel_raw (geometry_msgs/TwistStamped, reliable depth 1, stamped t_k),
    /diagnostics (diagnostic_msgs/DiagnosticArray, status robo_edge/controller).
    """

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        v = self.values = declare(self, PARAMS)
        self._exact = _tick_source(v) == 'clock'
        self._laser = _pose_param(v, 'laser_offset')
        self.navigator = Navigator(_pursuit(v), _recovery(v), float(v['control_period_s']),
                                   _pose_param(v, 'initial_pose'))
        self._odom, self._scans, self._plans = (StampedBuffer(64), StampedBuffer(16),
                                                StampedBuffer(16))
        self._localize = bool(v['localization'])
        self._corrections = StampedBuffer(16)
        self.late_inputs, self.ticks = 0, 0
        # Wall ms from a tick's arrival to its command (input waits included), and the
        # compute alone (pure pursuit, recovery and publishing): the last 400 ticks each.
        self._latency_ms: deque[float] = deque(maxlen=400)
        self._compute_ms: deque[float] = deque(maxlen=400)
        self._report = NavReport(FollowStatus.NO_PATH.value, 'idle', math.inf)
        self._publisher = self.create_publisher(TwistStamped, '/cmd_vel_raw', RAW_COMMAND_QOS)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                  qos.DIAGNOSTICS)
        inputs = [
            self.create_subscription(Odometry, '/odom', self._on_odom, qos.SENSOR_BURST),
            self.create_subscription(LaserScan, '/safety/scan', self._on_scan, qos.SENSOR),
            self.create_subscription(Path, '/plan', self._on_plan, PLAN_QOS)]
        if self._localize:
            inputs.append(self.create_subscription(
                TransformStamped, CORRECTION_TOPIC, self._on_correction, qos.CORRECTION))
        self.readiness = ReadinessReporter(self, inputs, required_outputs(
            v['required_readers'], [self._publisher], 'controller parameters'))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._service, clock=steady)
        self.create_timer(float(v['diagnostics_period_s']), self.publish_diagnostics,
                          clock=steady)
        self.create_tick_source(self._exact, float(v['rate_hz']))

    @property
    def report(self) -> NavReport:
        """Return what the last tick did."""
        return self._report

    # -- inputs -----------------------------------------------------------------------------
    def _on_odom(self, msg: Odometry) -> None:
        self._odom.add(from_msg(msg.header.stamp), odom_from_msg(msg))
        self._service()

    def _on_scan(self, msg: LaserScan) -> None:
        layout = ScanLayout(msg.angle_min, msg.angle_increment, msg.range_min, msg.range_max)
        x, y = scan_points(msg.ranges, layout, self._laser)
        obstacles = Obstacles(
            nearest_distance(x, y, float(self.values['obstacle_half_angle'])),
            rear_clearance(x, y, float(self.values['robot_radius']), msg.range_max))
        self._scans.add(from_msg(msg.header.stamp), obstacles)
        self._service()

    def _on_plan(self, msg: Path) -> None:
        self._plans.add(from_msg(msg.header.stamp), plan_from_msg(msg))
        self._service()

    def _on_correction(self, msg: TransformStamped) -> None:
        self._corrections.add(from_msg(msg.header.stamp), correction_from_msg(msg))
        self._service()

    # -- ticks ------------------------------------------------------------------------------
    def _start_over(self, tick_ns: int) -> None:
        self.navigator.reset()
        for buffer in (self._odom, self._scans, self._plans, self._corrections):
            buffer.items = {s: item for s, item in buffer.items.items() if s <= tick_ns}

    def _service(self) -> None:
        """Answer pending ticks in order: each when its inputs are held, or once overdue."""
        now = time.monotonic()
        wait_s = float(self.values['input_wait_s'])
        while self._ticks.pending:
            head = self._ticks.pending[0]
            inputs = self._exact_inputs(head.tick_ns) if self._exact else None
            if inputs is None:
                if self._exact and not head.overdue(now, wait_s) and not self._ticks.behind():
                    return
                inputs = self._newest_inputs(head.tick_ns)
            self._ticks.pending.pop(0)
            self._answer(head, inputs)

    def _exact_inputs(self, tick_ns: int) -> TickInputs | None:
        odom_due = latest_due(tick_ns, float(self.values['odom_rate_hz']))
        odom = self._odom.at(odom_due)
        if odom_due is not None and odom is None:
            return None
        scan_due = latest_due(tick_ns, float(self.values['scan_rate_hz']))
        if scan_due is None:
            return TickInputs(odom, None, None, None)
        plan, obstacles = self._plans.at(scan_due), self._scans.at(scan_due)
        correction = self._corrections.at(scan_due) if self._localize else None
        if plan is None or obstacles is None or (self._localize and correction is None):
            return None
        return TickInputs(odom, plan, scan_due, obstacles, correction)

    def _newest_inputs(self, tick_ns: int) -> TickInputs:
        odom, plan, scan, correction = (
            buffer.latest_not_after(tick_ns)
            for buffer in (self._odom, self._plans, self._scans, self._corrections))
        if self._exact:
            self.late_inputs += 1
            held = {'odom': odom, 'plan': plan, 'scan': scan}
            if self._localize:
                held['correction'] = correction
            missing = self._missing(tick_ns, held)
            self.get_logger().warning(
                f'{LATE_RELEASE} tick {tick_ns / 1e9:.3f} s released after '
                f'{self.values["input_wait_s"]} s without {", ".join(missing)}: the run is no '
                'longer repeatable',
                throttle_duration_sec=1.0)
        return TickInputs(odom[1] if odom else None, plan[1] if plan else None,
                          plan[0] if plan else None, scan[1] if scan else None,
                          correction[1] if correction and self._localize else None)

    def _missing(self, tick_ns: int, held: dict[str, tuple[int, object] | None]) -> list[str]:
        due = {'odom': latest_due(tick_ns, float(self.values['odom_rate_hz']))}
        due['plan'] = due['scan'] = latest_due(tick_ns, float(self.values['scan_rate_hz']))
        due['correction'] = due['plan']
        return [f'{name}@{due[name] / 1e9:.3f}' for name in held
                if due[name] is not None and (held[name] is None or held[name][0] != due[name])]

    def _answer(self, tick: PendingTick, inputs: TickInputs) -> None:
        start = time.perf_counter()
        command, report = self.navigator.step(tick.tick_ns, inputs)
        if report.replan_requested:
            self.get_logger().info('stuck: recovery asks for a replan (the planner replans)')
        if report.failure and report.failure != self._report.failure:
            self.get_logger().error(f'goal failed: {report.failure}')
        self._report = report
        out = TwistStamped()
        out.header.stamp = to_msg(tick.tick_ns)
        out.header.frame_id = 'base_link'
        out.twist.linear.x, out.twist.angular.z = command.linear, command.angular
        self._publisher.publish(out)
        self.ticks += 1
        self._compute_ms.append((time.perf_counter() - start) * 1e3)
        self._latency_ms.append((time.monotonic() - tick.since_wall_s) * 1e3)

    # -- diagnostics ------------------------------------------------------------------------
    def diagnostic_values(self) -> dict[str, str]:
        """Return the key/values of the controller's DiagnosticStatus."""
        report = self._report
        return {
            'status': report.status, 'phase': report.phase,
            'distance_to_goal': f'{report.distance_to_goal:.3f}',
            'late_inputs': str(self.late_inputs), 'ticks': str(self.ticks),
            'pending': str(len(self._ticks.pending)),
            **percentile_values('tick_ms', self._latency_ms),
            **percentile_values('compute_ms', self._compute_ms),
        }

    def publish_diagnostics(self) -> None:
        """Publish the controller's DiagnosticStatus."""
        report = self._report
        status = DiagnosticStatus(
            level=bytes([ERROR if report.failure else OK]), name=STATUS_NAME,
            hardware_id=self.get_name(), message=report.failure or report.status,
            values=[KeyValue(key=k, value=v) for k, v in self.diagnostic_values().items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(array)


def _tick_source(values: dict[str, Any]) -> str:
    source = str(values['tick_source'])
    if source not in ('clock', 'timer'):
        raise ConfigError(f'{NODE_NAME} parameters', 'tick_source', 'clock or timer', source)
    return source


def _pose_param(values: dict[str, Any], name: str) -> Pose2D:
    try:
        return pose_from_list(values[name], name)
    except ValueError as e:
        raise ConfigError(f'{NODE_NAME} parameters', name, '[x, y, yaw] (finite)',
                          list(values[name])) from e


def _pursuit(values: dict[str, Any]) -> RegulatedPurePursuit:
    limits = BaseLimits(**{name: float(values[name]) for name in LIMIT_FIELDS})
    config = PursuitConfig(**{f: float(values[p]) for p, f in PURSUIT_FIELDS.items()})
    return RegulatedPurePursuit(config, limits)


def _recovery(values: dict[str, Any]) -> RecoveryConfig:
    fields = {f: float(values[p]) for p, f in RECOVERY_FIELDS.items()}
    return RecoveryConfig(max_attempts=int(values['max_recovery_attempts']), **fields)


def main(args: list[str] | None = None) -> int:
    """Run the controller until stopped."""
    return spin_node(ControllerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
