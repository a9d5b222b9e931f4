"""Node tests: the controller and the safety gate answer lockstep ticks keyed on sim stamps.

A probe node plays the twin (and, for the gate alone, the controller): it publishes the inputs
due at t_k with explicit sim stamps, then `/clock = t_k`, and waits for the answer stamped t_k,
re-sending the clock and the best-effort sensors while it waits, as the twin does. Every wait
spins one SingleThreadedExecutor (fresh Context) until a condition holds or a wall deadline.
"""

import math
import time
from collections.abc import Callable

import numpy as np
import pytest
import rclpy
from geometry_msgs.msg import (
    PoseStamped,
    PoseWithCovarianceStamped,
    TransformStamped,
    TwistStamped,
)
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import Spinner
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Float64

from robo_edge.control.navigator import Navigator, Obstacles, Plan, TickInputs
from robo_edge.control.pure_pursuit import RegulatedPurePursuit
from robo_edge.lockstep import latest_due
from robo_edge.navigation.progress import RecoveryConfig
from robo_edge.nodes.controller import PLAN_QOS, ControllerNode
from robo_edge.nodes.safety_gate import SafetyGateNode
from robo_edge.robot.kinematics import Pose2D, Velocity, integrate, yaw_to_quaternion
from robo_edge.ros import qos
from robo_edge.ros.nav_messages import (
    CORRECTION_TOPIC,
    POSE_TOPIC,
    correction_msg,
    pose_with_covariance_msg,
)
from robo_edge.ros.stamps import from_msg, to_msg

MS = 1_000_000
ORIGIN = Pose2D(0.0, 0.0, 0.0)
CERTAIN = (1e-4, 1e-4, 1e-4)  # a good scan match: sigma 1 cm, no speed cap
TICK_NS = 50 * MS
DT = TICK_NS / 1e9
BEAMS = 360
TIMEOUT_S = 5.0
RESEND_S = 0.05
KEEP_ALL = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=ReliabilityPolicy.RELIABLE
)


def scan_msg(stamp_ns: int, obstacle_ahead_m: float | None = None) -> LaserScan:
    """An open-space 360-beam scan, with one return straight ahead when asked."""
    msg = LaserScan()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = 'laser'
    msg.angle_min = -math.pi
    msg.angle_increment = 2 * math.pi / BEAMS
    msg.angle_max = msg.angle_min + msg.angle_increment * (BEAMS - 1)
    msg.range_min, msg.range_max = 0.12, 12.0
    ranges = np.full(BEAMS, np.inf, dtype=np.float32)
    if obstacle_ahead_m is not None:
        ranges[BEAMS // 2] = obstacle_ahead_m
    msg.ranges = ranges.tolist()
    return msg


def odom_msg(stamp_ns: int, pose: Pose2D, velocity: Velocity) -> Odometry:
    msg = Odometry()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id, msg.child_frame_id = 'odom', 'base_link'
    msg.pose.pose.position.x, msg.pose.pose.position.y = pose.x, pose.y
    qx, qy, qz, qw = yaw_to_quaternion(pose.yaw)
    o = msg.pose.pose.orientation
    o.x, o.y, o.z, o.w = qx, qy, qz, qw
    msg.twist.twist.linear.x, msg.twist.twist.angular.z = velocity.linear, velocity.angular
    return msg


def plan_msg(stamp_ns: int, goal: tuple[float, float] | None) -> Path:
    """A straight plan from the origin to `goal` (None: the empty plan, no goal)."""
    msg = Path()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = 'map'
    if goal is not None:
        for f in np.linspace(0.0, 1.0, 11):
            pose = PoseStamped()
            pose.header = msg.header
            pose.pose.position.x, pose.pose.position.y = f * goal[0], f * goal[1]
            pose.pose.orientation.w = 1.0
            msg.poses.append(pose)
    return msg


def twist(stamp_ns: int, linear: float, angular: float = 0.0) -> TwistStamped:
    msg = TwistStamped()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = 'base_link'
    msg.twist.linear.x, msg.twist.angular.z = linear, angular
    return msg


class Probe(Node):
    """Plays the twin: publishes stamped inputs and ticks, keeps every answer by stamp."""

    def __init__(self, context: rclpy.Context, nodes: list[Node]) -> None:
        super().__init__('twin_probe', context=context)
        self.spinner = Spinner(context, [*nodes, self], TIMEOUT_S, step_s=0.005)
        self.clock_pub = self.create_publisher(Clock, '/clock', qos.CLOCK)
        self.odom = self.create_publisher(Odometry, '/odom', qos.SENSOR_BURST)
        self.scan = self.create_publisher(LaserScan, '/safety/scan', qos.SENSOR)
        self.plan = self.create_publisher(Path, '/plan', PLAN_QOS)
        self.correction = self.create_publisher(TransformStamped, CORRECTION_TOPIC,
                                                qos.CORRECTION)
        self.pose = self.create_publisher(PoseWithCovarianceStamped, POSE_TOPIC, qos.CORRECTION)
        self.raw = self.create_publisher(TwistStamped, '/cmd_vel_raw', qos.COMMAND)
        self.cap = self.create_publisher(Float64, '/robo_edge/speed_limit', qos.LATCHED)
        self.answers: dict[str, dict[int, tuple[Velocity, float]]] = {'raw': {}, 'out': {}}
        self.create_subscription(TwistStamped, '/cmd_vel_raw', self._keeper('raw'), KEEP_ALL)
        self.create_subscription(TwistStamped, '/cmd_vel', self._keeper('out'), KEEP_ALL)

    def _keeper(self, key: str) -> Callable[[TwistStamped], None]:
        def keep(msg: TwistStamped) -> None:
            command = Velocity(msg.twist.linear.x, msg.twist.angular.z)
            self.answers[key][from_msg(msg.header.stamp)] = (command, time.monotonic())
        return keep

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def connect(self, subscribers: dict[object, int]) -> None:
        assert self.spin_until(lambda: all(
            pub.get_subscription_count() >= n for pub, n in subscribers.items()
        )), 'discovery did not complete'

    def tick(self, tick_ns: int, key: str, resend: list[tuple[object, object]] = (),
             timeout_s: float = TIMEOUT_S) -> tuple[Velocity, float] | None:
        """Publish /clock = t_k and wait for the answer on `key`; return (command, wall s)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            self.clock_pub.publish(Clock(clock=to_msg(tick_ns)))
            for publisher, msg in resend:
                publisher.publish(msg)
            if self.spin_until(lambda: tick_ns in self.answers[key], RESEND_S):
                return self.answers[key][tick_ns][0], self.answers[key][tick_ns][1] - start
        return None

    def spin_for(self, seconds: float) -> None:
        """Spin for a fixed wall window (to check that nothing happens in it)."""
        self.spinner.spin_for(seconds)

    def close(self) -> None:
        self.spinner.close()


def overrides(**params: object) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in params.items()]


class MiniTwin:
    """The probe's stand-in for physics: integrates the gate's output between ticks."""

    def __init__(self, probe: Probe, goal: tuple[float, float] | None) -> None:
        self.probe, self.goal = probe, goal
        self.pose, self.velocity = Pose2D(0.0, 0.0, 0.0), Velocity()

    def publish_inputs(self, tick_ns: int, plan: bool = True, correction: Pose2D | None = ORIGIN,
                       variances: tuple[float, float, float] | None = CERTAIN,
                       ) -> list[tuple[object, object]]:
        """Publish what is due at t_k; return the best-effort messages to re-send.

        The mapper's part with each scan: the pose with `variances`, then the correction (odom
        in map); None: that one is not sent.
        """
        resend = []
        odom_due = latest_due(tick_ns, 50.0)
        if odom_due is not None:
            resend.append((self.probe.odom, odom_msg(odom_due, self.pose, self.velocity)))
        if tick_ns % (100 * MS) == 0 and tick_ns > 0:
            resend.append((self.probe.scan, scan_msg(tick_ns)))
            if variances is not None:
                self.probe.pose.publish(pose_with_covariance_msg(self.pose, variances, tick_ns))
            if correction is not None:
                self.probe.correction.publish(correction_msg(correction, tick_ns))
            if plan:
                self.probe.plan.publish(plan_msg(tick_ns, self.goal))
        for publisher, msg in resend:
            publisher.publish(msg)
        return resend

    def step(self, command: Velocity) -> None:
        self.pose, self.velocity = integrate(self.pose, command, DT), command


def test_stack_answers_each_tick_and_drives_to_the_goal(context) -> None:
    # The bringup's bounded waits (nodes 1.5 s, the gate longer than the controller it waits
    # for): on a loaded host an input can take longer than the 0.3 s default to arrive.
    controller = ControllerNode(context=context, parameter_overrides=overrides(input_wait_s=1.5))
    gate = SafetyGateNode(context=context, parameter_overrides=overrides(input_wait_s=2.5))
    probe = Probe(context, [controller, gate])
    twin = MiniTwin(probe, goal=(1.0, 0.0))
    try:
        probe.connect({probe.clock_pub: 2, probe.odom: 1, probe.scan: 2, probe.plan: 1,
                       probe.correction: 1, probe.pose: 1, probe.cap: 1})
        probe.cap.publish(Float64(data=math.inf))  # the mode manager: NOMINAL, no cap
        assert probe.spin_until(lambda: gate.cap is None)
        ticks = 0
        while ticks < 120 and controller.report.status != 'goal_reached':
            t = ticks * TICK_NS
            live_cap = (probe.cap, Float64(data=math.inf))  # a mode manager refreshes it
            answer = probe.tick(t, 'out', [*twin.publish_inputs(t), live_cap])
            assert answer is not None, f'no /cmd_vel stamped {t}'
            assert t in probe.answers['raw'], 'the gate answered before the controller'
            twin.step(answer[0])
            ticks += 1
        assert controller.report.status == 'goal_reached'
        assert sorted(probe.answers['out']) == [k * TICK_NS for k in range(ticks)]
        assert max(v.linear for v, _ in probe.answers['raw'].values()) == pytest.approx(0.5)
        assert math.hypot(twin.pose.x - 1.0, twin.pose.y) <= 0.15
        assert controller.late_inputs == 0 and gate.late_ticks == 0
    finally:
        probe.close()


def test_controller_waits_for_the_plan_of_the_due_stamp(context) -> None:
    controller = ControllerNode(context=context, parameter_overrides=overrides(input_wait_s=0.4))
    probe = Probe(context, [controller])
    twin = MiniTwin(probe, goal=(2.0, 0.0))
    try:
        probe.connect({probe.clock_pub: 1, probe.odom: 1, probe.scan: 1, probe.plan: 1,
                       probe.correction: 1, probe.pose: 1})
        for k in range(2):  # t = 0, 50 ms: no scan due, nothing to wait for
            assert probe.tick(k * TICK_NS, 'raw', twin.publish_inputs(k * TICK_NS))
        # t = 100 ms: odom and scan arrive, the plan is late.
        t = 2 * TICK_NS
        resend = twin.publish_inputs(t, plan=False)
        assert probe.tick(t, 'raw', resend, timeout_s=0.15) is None
        published = time.monotonic()
        probe.plan.publish(plan_msg(t, twin.goal))
        assert probe.spin_until(lambda: t in probe.answers['raw'], 0.2)
        assert probe.answers['raw'][t][1] >= published
        assert controller.late_inputs == 0
        # t = 200 ms: its plan never comes, so the tick is released once overdue.
        t = 4 * TICK_NS
        assert probe.tick(3 * TICK_NS, 'raw', twin.publish_inputs(3 * TICK_NS))
        answer = probe.tick(t, 'raw', twin.publish_inputs(t, plan=False), timeout_s=2.0)
        # Released after the 0.4 s wait, not before; the upper bound leaves room for a loaded CI.
        assert answer is not None and 0.4 <= answer[1] < 1.2
        assert controller.late_inputs == 1
        assert answer[0].linear > 0.0  # the newest plan (100 ms) is followed
        # The waits show in the tick latency, not in the compute time.
        values = controller.diagnostic_values()
        assert values['ticks'] == '5'
        assert float(values['tick_ms_p99']) >= 100.0
        assert float(values['compute_ms_p99']) < float(values['tick_ms_p99'])
    finally:
        probe.close()


def test_controller_waits_for_the_correction_of_the_due_stamp_and_uses_it(context) -> None:
    controller = ControllerNode(context=context, parameter_overrides=overrides(input_wait_s=2.0))
    probe = Probe(context, [controller])
    twin = MiniTwin(probe, goal=(1.0, 0.0))
    try:
        probe.connect({probe.clock_pub: 1, probe.odom: 1, probe.scan: 1, probe.plan: 1,
                       probe.correction: 1, probe.pose: 1})
        for k in range(2):
            assert probe.tick(k * TICK_NS, 'raw', twin.publish_inputs(k * TICK_NS))
        t = 2 * TICK_NS
        resend = twin.publish_inputs(t, correction=None)
        assert probe.tick(t, 'raw', resend, timeout_s=0.3) is None, 'answered without it'
        # The mapper says odom is 1 m ahead in map: the robot already stands at the goal.
        probe.correction.publish(correction_msg(Pose2D(1.0, 0.0, 0.0), t))
        assert probe.spin_until(lambda: t in probe.answers['raw'], 1.0)
        assert controller.report.status == 'goal_reached'
        assert probe.answers['raw'][t][0].linear == 0.0 and controller.late_inputs == 0
    finally:
        probe.close()


def test_controller_without_localization_does_not_wait_for_a_correction(context) -> None:
    controller = ControllerNode(context=context, parameter_overrides=overrides(
        input_wait_s=2.0, localization=False))
    probe = Probe(context, [controller])
    twin = MiniTwin(probe, goal=(1.0, 0.0))
    try:
        probe.connect({probe.clock_pub: 1, probe.odom: 1, probe.scan: 1, probe.plan: 1})
        for k in range(4):
            t = k * TICK_NS
            answer = probe.tick(t, 'raw', twin.publish_inputs(t, correction=None,
                                                              variances=None), 1.0)
            assert answer is not None and answer[1] < 1.0
        assert controller.report.status not in ('goal_reached', 'no_path')
        assert controller.late_inputs == 0
    finally:
        probe.close()


def drive(probe: Probe, twin: MiniTwin, ticks: range,
          variances: tuple[float, float, float] | None) -> list[float]:
    """Answer the ticks with the mapper's pose at `variances`; return the commanded speeds."""
    speeds = []
    for k in ticks:
        t = k * TICK_NS
        answer = probe.tick(t, 'raw', twin.publish_inputs(t, variances=variances))
        assert answer is not None, f'no /cmd_vel_raw stamped {t}'
        twin.step(answer[0])
        speeds.append(answer[0].linear)
    return speeds


def test_controller_slows_for_a_large_covariance_and_takes_the_rule_live(context) -> None:
    controller = ControllerNode(context=context, parameter_overrides=overrides(input_wait_s=2.0))
    probe = Probe(context, [controller])
    twin = MiniTwin(probe, goal=(3.0, 0.0))
    try:
        probe.connect({probe.clock_pub: 1, probe.odom: 1, probe.scan: 1, probe.plan: 1,
                       probe.correction: 1, probe.pose: 1})
        # sigma 0.3 m, between slow (0.1) and stop (0.5): the 0.5 m/s cruise is capped halfway.
        speeds = drive(probe, twin, range(0, 24), (0.09, 0.04, 0.01))
        assert max(speeds) == pytest.approx(0.325) and speeds[-1] == pytest.approx(0.325)
        values = controller.diagnostic_values()
        assert (values['position_sigma_m'], values['speed_cap']) == ('0.300', '0.325')
        # Inconsistent (the stop sigma below the slow one): refused, the rule stays.
        result = controller.set_parameters([Parameter('uncertainty_slow_m', value=0.6)])[0]
        assert not result.successful and 'uncertainty_stop_m' in result.reason
        assert controller.navigator.uncertainty.slow_m == 0.1
        # A looser rule applies at the next tick: the same sigma no longer caps.
        results = controller.set_parameters([Parameter('uncertainty_slow_m', value=0.4),
                                             Parameter('uncertainty_stop_m', value=1.0)])
        assert all(r.successful for r in results)
        speeds = drive(probe, twin, range(24, 40), (0.09, 0.04, 0.01))
        assert speeds[0] > 0.325 and max(speeds) == pytest.approx(0.5)
        assert controller.diagnostic_values()['speed_cap'] == 'inf'
        assert controller.late_inputs == 0
    finally:
        probe.close()


def test_controller_waits_for_the_pose_of_the_due_stamp_then_creeps_without_it(context):
    controller = ControllerNode(context=context, parameter_overrides=overrides(input_wait_s=0.5))
    probe = Probe(context, [controller])
    twin = MiniTwin(probe, goal=(3.0, 0.0))
    try:
        probe.connect({probe.clock_pub: 1, probe.odom: 1, probe.scan: 1, probe.plan: 1,
                       probe.correction: 1, probe.pose: 1})
        assert max(drive(probe, twin, range(0, 20), CERTAIN)) == pytest.approx(0.5)
        # t = 1.0 s: the correction comes, the pose (its covariance) does not yet.
        t = 20 * TICK_NS
        resend = twin.publish_inputs(t, variances=None)
        assert probe.tick(t, 'raw', resend, timeout_s=0.2) is None, 'answered with one half'
        probe.pose.publish(pose_with_covariance_msg(twin.pose, CERTAIN, t))
        assert probe.spin_until(lambda: t in probe.answers['raw'], 1.0)
        assert controller.late_inputs == 0
        assert probe.answers['raw'][t][0].linear == pytest.approx(0.5)
        twin.step(probe.answers['raw'][t][0])
        assert probe.tick(21 * TICK_NS, 'raw', twin.publish_inputs(21 * TICK_NS))
        # t = 1.1 s: its pose never comes. Released once overdue, with the covariance unknown:
        # the minimum speed, decelerating at max_linear_accel (fail closed, but no deadlock).
        t = 22 * TICK_NS
        answer = probe.tick(t, 'raw', twin.publish_inputs(t, variances=None), timeout_s=3.0)
        assert answer is not None and answer[1] >= 0.5
        assert answer[0].linear == pytest.approx(0.5 - 1.0 * DT)
        assert controller.late_inputs == 1
        assert controller.report.speed_cap == pytest.approx(0.15)
        assert math.isinf(controller.report.position_sigma)
    finally:
        probe.close()


def test_navigator_places_the_odometry_with_the_correction() -> None:
    nav = navigator()
    at_goal = TickInputs((ORIGIN, Velocity()), STRAIGHT, 0, Obstacles(None, 5.0),
                         Pose2D(2.0, 0.0, 0.0))
    command, report = nav.step(0, at_goal)
    assert report.status == 'goal_reached' and command.linear == 0.0
    command, report = navigator().step(0, inputs(STRAIGHT))  # None: initial_pose, 2 m short
    assert report.status != 'goal_reached' and command.linear > 0.0


def drive_gate(probe: Probe, ticks: range, linear: float | None,
               obstacle_m: float | None = None) -> list[tuple[Velocity, float]]:
    """Play twin and controller for the gate: scan when due, the raw command, then the tick."""
    answers = []
    for k in ticks:
        t = k * TICK_NS
        resend = []
        if t % (100 * MS) == 0 and t > 0:
            resend.append((probe.scan, scan_msg(t, obstacle_m)))
            probe.scan.publish(resend[0][1])
        if linear is not None:
            probe.raw.publish(twist(t, linear))
        answer = probe.tick(t, 'out', resend)
        assert answer is not None, f'no /cmd_vel stamped {t}'
        answers.append(answer)
    return answers


@pytest.fixture
def gate_probe(context):
    gate = SafetyGateNode(context=context)
    probe = Probe(context, [gate])
    probe.connect({probe.clock_pub: 1, probe.scan: 1, probe.raw: 1, probe.cap: 1})
    probe.cap.publish(Float64(data=math.inf))  # the mode manager: NOMINAL, no cap
    assert probe.spin_until(lambda: gate.cap is None)
    yield gate, probe
    probe.close()


def test_gate_answers_each_tick_and_clamps_to_the_speed_limit(gate_probe) -> None:
    gate, probe = gate_probe
    answers = drive_gate(probe, range(0, 20), 0.6)
    assert answers[-1][0].linear == pytest.approx(0.6)
    probe.cap.publish(Float64(data=0.2))
    assert probe.spin_until(lambda: gate.cap == 0.2)
    answers = drive_gate(probe, range(20, 30), 0.6)
    assert all(v.linear <= 0.2 + 1e-9 for v, _ in answers)
    assert answers[-1][0].linear == pytest.approx(0.2)
    probe.cap.publish(Float64(data=math.inf))  # +inf: no cap beyond the base limits
    assert probe.spin_until(lambda: gate.cap is None)
    assert sorted(probe.answers['out']) == [k * TICK_NS for k in range(30)]
    assert gate.late_ticks == 0 and gate.reasons['capped'] >= 10


def test_gate_stops_for_a_point_just_ahead(gate_probe) -> None:
    gate, probe = gate_probe
    answers = drive_gate(probe, range(0, 10), 0.5, obstacle_m=0.3)
    speeds = [v.linear for v, _ in answers]
    assert speeds[:2] == [0.0, 0.0]  # no scan yet (the first is due at 100 ms): stopped
    # From the first scan the braking envelope holds the point: stopped.
    assert all(speed == 0.0 for speed in speeds[2:])
    assert gate.reasons['obstacle_slow'] == 8 and gate.reasons['no_scan_stop'] == 2
    answers = drive_gate(probe, range(10, 20), 0.5)
    assert answers[-1][0].linear > 0.0  # the way is clear again


def test_gate_without_controller_still_answers_and_ramps_to_zero(gate_probe) -> None:
    gate, probe = gate_probe
    answers = drive_gate(probe, range(0, 8), 0.3)
    assert answers[-1][0].linear == pytest.approx(0.3)
    answers = drive_gate(probe, range(8, 22), None)  # the controller is dead
    assert all(wall_s < 0.5 for _, wall_s in answers)
    speeds = [v.linear for v, _ in answers]
    assert all(b <= a + 1e-12 for a, b in zip(speeds, speeds[1:], strict=False))
    assert speeds[-1] == 0.0
    # It waits (bounded) while the command could still come, then counts the controller lost
    # and stops waiting: 150 ms of command timeout at 20 Hz is 3 late ticks, the rest prompt.
    assert gate.late_ticks == 3 and gate.lost_controller_ticks == 11
    assert gate.reasons['command_timeout'] >= 1
    drive_gate(probe, range(22, 24), 0.3)  # the controller is back: waited for again
    assert gate.lost_controller_ticks == 11


def test_gate_stops_when_the_speed_limit_falls_silent(context) -> None:
    gate = SafetyGateNode(context=context, parameter_overrides=overrides(
        use_sim_time=True, speed_limit_timeout_s=0.3))
    probe = Probe(context, [gate])
    try:
        probe.connect({probe.clock_pub: 2, probe.scan: 1, probe.raw: 1, probe.cap: 1})
        for k in range(0, 12):  # a live mode manager: no cap, refreshed every tick
            probe.cap.publish(Float64(data=math.inf))
            assert probe.spin_until(lambda: gate.cap is None)
            drive_gate(probe, range(k, k + 1), 0.4)
        answers = drive_gate(probe, range(12, 34), 0.4)  # the mode manager died at 0.55 s
        speeds = [v.linear for v, _ in answers]
        assert speeds[0] == pytest.approx(0.4)
        assert all(b <= a + 1e-12 for a, b in zip(speeds, speeds[1:], strict=False))
        assert speeds[-1] == 0.0 and gate.reasons['stop_requested'] >= 10
    finally:
        probe.close()


def test_gate_keeps_the_last_informative_scan_over_a_nan_one(gate_probe) -> None:
    gate, probe = gate_probe
    drive_gate(probe, range(0, 4), 0.5, obstacle_m=0.3)  # a point just ahead: stopped
    for k in range(4, 8):
        t = k * TICK_NS
        blind = scan_msg(t)
        blind.ranges = [math.nan] * BEAMS  # sensor_guard: no information at this slot
        if t % (100 * MS) == 0:
            probe.scan.publish(blind)
        probe.raw.publish(twist(t, 0.5))
        answer = probe.tick(t, 'out', [(probe.scan, blind)] if t % (100 * MS) == 0 else [])
        assert answer is not None and answer[0].linear == 0.0  # the old point still holds
    assert gate.uninformative_scans >= 1 and gate.late_ticks == 0


# -- the controller's Navigator, without a graph ------------------------------------------------
def navigator(**recovery: float) -> Navigator:
    config = RecoveryConfig(progress_window_s=1.0, action_timeout_s=0.5, **recovery)
    return Navigator(RegulatedPurePursuit(), config, DT, Pose2D(0.0, 0.0, 0.0))


STRAIGHT = Plan(((0.0, 0.0), (2.0, 0.0)), 0.0)


def inputs(plan: Plan | None, stamp_ns: int = 0, rear_m: float = 5.0) -> TickInputs:
    """The base stands at the origin (it never moves: stuck)."""
    return TickInputs((ORIGIN, Velocity()), plan, stamp_ns, Obstacles(None, rear_m))


def test_navigator_without_a_plan_commands_zero_and_forgets_the_goal() -> None:
    nav = navigator()
    command, _ = nav.step(0, inputs(STRAIGHT))
    assert command.linear > 0.0 and nav.goal is not None
    command, report = nav.step(TICK_NS, inputs(Plan((), None)))
    assert command == Velocity() and report.status == 'no_path' and nav.goal is None


def run_stuck(nav: Navigator, ticks: range, rear_m: float = 5.0,
              plan_stamp_ns: int = 0) -> list[tuple[Velocity, str]]:
    out = []
    for k in ticks:
        command, report = nav.step(k * TICK_NS, inputs(STRAIGHT, plan_stamp_ns, rear_m))
        out.append((command, report.phase))
    return out


def test_navigator_recovers_when_stuck_and_resumes_on_a_newer_plan() -> None:
    nav = navigator()
    steps = run_stuck(nav, range(0, 60))
    phases = [phase for _, phase in steps]
    assert phases[:20] == ['navigating'] * 20  # one progress window (1 s)
    assert phases[20] == 'backing_up' and steps[20][0].linear < 0.0  # overrides the pursuit
    assert 'rotating' in phases and phases[-1] == 'replanning'
    # The planner replans on its own: a plan stamped after the request resumes the goal.
    steps = run_stuck(nav, range(60, 61), plan_stamp_ns=60 * TICK_NS)
    assert steps[0][1] == 'navigating'


def test_navigator_turns_instead_of_backing_into_a_blocked_rear() -> None:
    nav = navigator()
    steps = run_stuck(nav, range(0, 30), rear_m=0.05)
    assert 'backing_up' not in {phase for _, phase in steps}
    turning = [command for command, phase in steps if phase == 'rotating']
    assert turning and all(c.linear == 0.0 and c.angular != 0.0 for c in turning)


def test_navigator_restarts_the_progress_watch_on_a_new_goal() -> None:
    nav = navigator()
    nav.step(0, inputs(STRAIGHT))
    nav.step(TICK_NS, inputs(Plan(((0.0, 0.0), (2.0, 0.01)), 0.0), TICK_NS))
    assert nav.state.anchor_ns == 0  # a replanned path to the same goal keeps the watch
    nav.step(2 * TICK_NS, inputs(Plan(((0.0, 0.0), (0.0, 2.0)), 1.5), 2 * TICK_NS))
    assert nav.goal == (0.0, 2.0, 1.5) and nav.state.anchor_ns == 2 * TICK_NS
