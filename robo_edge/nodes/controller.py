"""Controller: regulated pure pursuit along /plan, one command per lockstep tick.

Each `/clock` tick t_k is answered from exactly the inputs the schedule says exist at t_k
(docs/architecture.md, Navigation lockstep; `control/tick_inputs.py`): odom at
latest_due(t_k, 50 Hz), and once a scan is due the plan, the scan and (with `localization`)
the mapper's correction and pose covariance, joined by stamp, at latest_due(t_k, 10 Hz). A
tick missing one waits, retried on every arrival; a steady timer releases it after
`input_wait_s` (wall) with the newest inputs not later than t_k (a correction whose covariance
never came: unknown). The bound equals the gate's (0.3 s): an answer within it still reaches
the gate in time, so the run stays exact; a later one was late anyway. Before the first scan
the correction is `initial_pose`. With `tick_source: timer` (a robot) a wall timer ticks and
the newest inputs are used at once. With localisation the position sigma caps the cruise speed
(`control/uncertainty.py`; the three uncertainty_* parameters apply live); without, no cap.
"""

import time
from collections import deque
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped, TransformStamped, TwistStamped
from nav_msgs.msg import Odometry, Path
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from sensor_msgs.msg import LaserScan

from robo_edge.control import controller_config as config
from robo_edge.control.navigator import IDLE, NavReport, Plan, TickInputs, obstacles_of
from robo_edge.control.scan_geometry import ScanLayout
from robo_edge.control.tick_inputs import TickInputBuffers
from robo_edge.lockstep import LATE_RELEASE, OVERDUE_CHECK_PERIOD_S, PendingTick
from robo_edge.navigation.localization_join import variances_of
from robo_edge.robot.kinematics import Pose2D, Velocity
from robo_edge.ros import qos
from robo_edge.ros.diagnostics import percentile_values
from robo_edge.ros.nav_messages import (
    correction_from_msg,
    localization_subscriptions,
    odom_pose,
    path_points,
    quaternion_yaw,
)
from robo_edge.ros.params import BASE_LIMIT_PARAMS, LiveParameters, Param, declare, read_only
from robo_edge.ros.readiness import REQUIRED_READERS_DOC, ReadinessReporter, required_outputs
from robo_edge.ros.run import spin_node
from robo_edge.ros.stamps import from_msg, to_msg
from robo_edge.ros.ticks import TickDriven

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
OK, ERROR = 0, 2

# Live: the uncertainty rule (the navigator's) and what is read at each use. The rest sizes
# the schedules, the subscriptions and the cores at start: read-only.
LIVE = frozenset({*config.UNCERTAINTY_FIELDS, 'input_wait_s', 'obstacle_half_angle'})
PARAMS = read_only([
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
    *BASE_LIMIT_PARAMS,
    Param('progress_distance_m', 0.2, 'Motion that counts as progress (m)', 0.0, 10.0),
    Param('progress_window_s', 8.0, 'Time allowed for that motion (s, sim)', 0.1, 600.0),
    Param('max_recovery_attempts', 3, 'Recovery attempts per goal', 0, 100),
    Param('backup_distance_m', 0.15, 'Recovery backup distance (m)', 0.0, 5.0),
    Param('backup_speed', 0.1, 'Recovery backup speed (m/s)', 0.0, 1.0),
    Param('recovery_rotate_speed', 0.6, 'Recovery in-place turn rate (rad/s)', 0.0, 5.0),
    Param('uncertainty_slow_m', 0.10, 'Sigma above which the speed is capped (m)', 0.0, 10.0),
    Param('uncertainty_stop_m', 0.5, 'Sigma at which the cap is the min speed (m)', 0.0, 10.0),
    Param('uncertainty_min_speed', 0.15, 'Cap from stop sigma on, or unknown (m/s)', 0.0, 5.0),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics (s, steady)', 0.05, 60.0),
], but=LIVE)


def plan_from_msg(msg: Path) -> Plan:
    """Return the plan of a Path message (empty: no goal)."""
    yaw = quaternion_yaw(msg.poses[-1].pose.orientation) if msg.poses else None
    return Plan(tuple(path_points(msg)), yaw)


def odom_from_msg(msg: Odometry) -> tuple[Pose2D, Velocity]:
    """Return the pose in odom and the body twist of an Odometry message."""
    return odom_pose(msg), Velocity(msg.twist.twist.linear.x, msg.twist.twist.angular.z)


class ControllerNode(TickDriven, Node):
    """Answers each tick with a TwistStamped from pure pursuit and the recovery state machine.

    Parameters: see PARAMS (initial_pose, laser_offset, tick_source, rate_hz, odom_rate_hz,
    scan_rate_hz, input_wait_s, localization, control_period_s, pursuit tuning, base limits,
    recovery, uncertainty_slow_m, uncertainty_stop_m, uncertainty_min_speed,
    diagnostics_period_s); LIVE apply at once, the rest is read-only.
    Subscriptions: /clock (rosgraph_msgs/Clock), /odom (nav_msgs/Odometry, best effort),
    /safety/scan (sensor_msgs/LaserScan, best effort), /plan (nav_msgs/Path, reliable depth 10),
    with localization /localization/map_to_odom (geometry_msgs/TransformStamped) and
    /localization/pose (geometry_msgs/PoseWithCovarianceStamped), reliable transient local
    depth 10.
    Publishers: /cmd_vel_raw (geometry_msgs/TwistStamped, reliable depth 1, stamped t_k),
    /diagnostics (diagnostic_msgs/DiagnosticArray, status robo_edge/controller).
    """

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        v = self.values = declare(self, PARAMS)
        self._exact = config.tick_source(v) == 'clock'
        self._laser = config.pose_param(v, 'laser_offset')
        self.navigator = config.navigator(v)
        self._localize = bool(v['localization'])
        # Inputs by stamp; the correction and the pose covariance of a stamp go together.
        self.inputs = TickInputBuffers(self._localize, float(v['odom_rate_hz']),
                                       float(v['scan_rate_hz']))
        self.live = LiveParameters(self, PARAMS, v, LIVE, self._retune)
        self.late_inputs, self.ticks = 0, 0
        # Wall ms from a tick's arrival to its command (input waits included), and the
        # compute alone (pure pursuit, recovery and publishing): the last 400 ticks each.
        self._latency_ms: deque[float] = deque(maxlen=400)
        self._compute_ms: deque[float] = deque(maxlen=400)
        self._report = IDLE
        self._publisher = self.create_publisher(TwistStamped, '/cmd_vel_raw', RAW_COMMAND_QOS)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                  qos.DIAGNOSTICS)
        self.readiness = ReadinessReporter(self, self._subscribe(), required_outputs(
            v['required_readers'], [self._publisher], 'controller parameters'))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._service, clock=steady)
        self.create_timer(float(v['diagnostics_period_s']), self.publish_diagnostics,
                          clock=steady)
        self.create_tick_source(self._exact, float(v['rate_hz']))

    def _subscribe(self) -> list[Subscription]:
        """Subscribe to the inputs; return those that must have a writer before ready."""
        inputs = [
            self.create_subscription(Odometry, '/odom', self._on_odom, qos.SENSOR_BURST),
            self.create_subscription(LaserScan, '/safety/scan', self._on_scan, qos.SENSOR),
            self.create_subscription(Path, '/plan', self._on_plan, PLAN_QOS)]
        if self._localize:
            inputs += localization_subscriptions(self, self._on_correction, self._on_pose)
        return inputs

    @property
    def report(self) -> NavReport:
        """Return what the last tick did."""
        return self._report

    # -- inputs -----------------------------------------------------------------------------
    def _on_odom(self, msg: Odometry) -> None:
        self.inputs.add_odom(from_msg(msg.header.stamp), odom_from_msg(msg))
        self._service()

    def _on_scan(self, msg: LaserScan) -> None:
        layout = ScanLayout(msg.angle_min, msg.angle_increment, msg.range_min, msg.range_max)
        self.inputs.add_scan(from_msg(msg.header.stamp), obstacles_of(
            msg.ranges, layout, self._laser, float(self.values['obstacle_half_angle']),
            float(self.values['robot_radius'])))
        self._service()

    def _on_plan(self, msg: Path) -> None:
        self.inputs.add_plan(from_msg(msg.header.stamp), plan_from_msg(msg))
        self._service()

    def _on_correction(self, msg: TransformStamped) -> None:
        if self.inputs.add_correction(from_msg(msg.header.stamp), correction_from_msg(msg)):
            self._service()

    def _on_pose(self, msg: PoseWithCovarianceStamped) -> None:
        if self.inputs.add_variances(from_msg(msg.header.stamp),
                                     variances_of(msg.pose.covariance)):
            self._service()

    def _retune(self, values: dict[str, Any], _changed: dict[str, Any]) -> None:
        """Apply the uncertainty rule live (ConfigError: inconsistent, refused)."""
        self.navigator.uncertainty = config.uncertainty(values)

    # -- ticks ------------------------------------------------------------------------------
    def _start_over(self, tick_ns: int) -> None:
        self.navigator.reset()
        self.inputs.start_over(tick_ns)

    def _service(self) -> None:
        """Answer pending ticks in order: each when its inputs are held, or once overdue."""
        now = time.monotonic()
        wait_s = float(self.values['input_wait_s'])
        while self._ticks.pending:
            head = self._ticks.pending[0]
            inputs = self.inputs.exact(head.tick_ns) if self._exact else None
            if inputs is None:
                if self._exact and not head.overdue(now, wait_s) and not self._ticks.behind():
                    return
                inputs = self._newest_inputs(head.tick_ns)
            self._ticks.pending.pop(0)
            self._answer(head, inputs)

    def _newest_inputs(self, tick_ns: int) -> TickInputs:
        if self._exact:
            self.late_inputs += 1
            self.get_logger().warning(
                f'{LATE_RELEASE} tick {tick_ns / 1e9:.3f} s released after '
                f'{self.values["input_wait_s"]} s without '
                f'{", ".join(self.inputs.missing(tick_ns))}: the run is no longer repeatable',
                throttle_duration_sec=1.0)
        return self.inputs.newest(tick_ns)

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
        return {
            **self._report.values(),
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


def main(args: list[str] | None = None) -> int:
    """Run the controller until stopped."""
    return spin_node(ControllerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
