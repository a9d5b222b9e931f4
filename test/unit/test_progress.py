"""Progress monitor and bounded recovery: stuck detection, the recovery sequence, failure."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.navigation.progress import (
    NavDirective,
    NavInputs,
    NavPhase,
    NavState,
    RecoveryConfig,
    start_goal,
    step,
)
from robo_edge.robot.kinematics import Pose2D, Velocity, integrate

CONFIG = RecoveryConfig(progress_distance_m=0.2, progress_window_s=4.0, max_attempts=2,
                        backup_distance_m=0.15, backup_speed=0.1, rotate_angle_rad=math.pi / 2,
                        rotate_speed=0.6, action_timeout_s=5.0, replan_timeout_s=2.0)
TICK_NS = 50_000_000
DT = TICK_NS / 1e9
ORIGIN = Pose2D(0.0, 0.0, 0.0)


class Robot:
    """A base that obeys recovery commands and otherwise stands still (a blocked robot)."""

    def __init__(self) -> None:
        self.pose, self.now, self.state = ORIGIN, 0, start_goal(ORIGIN, 0)

    def tick(self, rear: float | None = 2.0, plan_ok: bool | None = None,
             navigating: Velocity | None = None) -> NavDirective:
        self.now += TICK_NS
        self.state, directive = step(self.state, NavInputs(self.now, self.pose, rear, plan_ok),
                                     CONFIG)
        command = directive.command or navigating or Velocity()
        self.pose = integrate(self.pose, command, DT)
        return directive

    def run_until(self, phase: NavPhase, limit_s: float = 30.0, **kwargs: object) -> float:
        start = self.now
        while self.state.phase is not phase:
            self.tick(**kwargs)  # type: ignore[arg-type]
            assert self.now - start < limit_s * 1e9, f'never reached {phase}'
        return (self.now - start) / 1e9


def test_steady_progress_is_never_stuck() -> None:
    robot = Robot()
    for _ in range(int(60 / DT)):
        directive = robot.tick(navigating=Velocity(0.06, 0.0))  # 0.24 m per 4 s window
        assert directive.phase is NavPhase.NAVIGATING and directive.command is None


def test_stuck_after_the_window_then_backs_up_when_the_rear_is_clear() -> None:
    robot = Robot()
    waited = robot.run_until(NavPhase.BACKING_UP)
    assert waited == CONFIG.progress_window_s
    assert robot.state.attempts == 1
    directive = robot.tick()
    assert directive.command == Velocity(-CONFIG.backup_speed, 0.0)


def test_unknown_rear_skips_the_backup() -> None:
    robot = Robot()
    while robot.state.phase is NavPhase.NAVIGATING:
        robot.tick(rear=None)
    assert robot.state.phase is NavPhase.ROTATING


def test_full_recovery_sequence_then_navigation_resumes() -> None:
    robot = Robot()
    robot.run_until(NavPhase.BACKING_UP)
    robot.run_until(NavPhase.ROTATING)
    assert math.hypot(robot.pose.x, robot.pose.y) >= CONFIG.backup_distance_m - 1e-9
    yaw_before = robot.pose.yaw
    requests = []
    while robot.state.phase is not NavPhase.REPLANNING:
        requests.append(robot.tick().request_replan)
    assert requests[-1] and not any(requests[:-1])
    turned = abs(robot.pose.yaw - yaw_before)
    assert turned >= CONFIG.rotate_angle_rad - 0.6 * DT
    assert robot.tick().phase is NavPhase.REPLANNING  # waiting for the planner
    assert robot.tick(plan_ok=True).phase is NavPhase.NAVIGATING


def test_rotation_alternates_direction_between_attempts() -> None:
    robot = Robot()
    signs = []
    for _ in range(CONFIG.max_attempts):
        robot.run_until(NavPhase.ROTATING)
        signs.append(math.copysign(1.0, robot.tick().command.angular))
        robot.run_until(NavPhase.REPLANNING)
        robot.tick(plan_ok=True)
    assert signs == [1.0, -1.0]


def test_fails_with_a_reason_after_the_last_attempt() -> None:
    robot = Robot()
    for _ in range(CONFIG.max_attempts):
        robot.run_until(NavPhase.REPLANNING)
        robot.tick(plan_ok=True)
    robot.run_until(NavPhase.FAILED)
    assert robot.state.attempts == CONFIG.max_attempts
    assert 'no progress' in (robot.state.failure or '')
    for _ in range(5):  # FAILED holds and keeps the base still
        directive = robot.tick(plan_ok=True)
        assert directive.phase is NavPhase.FAILED and directive.command == Velocity()
        assert directive.failure == robot.state.failure


def test_failed_replans_use_up_the_attempts() -> None:
    robot = Robot()
    robot.run_until(NavPhase.REPLANNING)
    robot.tick(plan_ok=False)
    assert robot.state.attempts == 2 and robot.state.phase is not NavPhase.NAVIGATING
    robot.run_until(NavPhase.REPLANNING)
    robot.tick(plan_ok=False)
    assert robot.state.phase is NavPhase.FAILED
    assert 'found no path' in (robot.state.failure or '')


def test_replan_wait_is_bounded() -> None:
    robot = Robot()  # the planner never answers
    robot.run_until(NavPhase.REPLANNING)
    first_wait = robot.run_until(NavPhase.BACKING_UP)
    assert first_wait <= CONFIG.replan_timeout_s + DT
    assert robot.state.attempts == 2
    robot.run_until(NavPhase.REPLANNING)
    last_wait = robot.run_until(NavPhase.FAILED)
    assert last_wait <= CONFIG.replan_timeout_s + DT
    assert 'timed out' in (robot.state.failure or '')


def test_a_backup_that_cannot_move_is_bounded() -> None:
    state = start_goal(ORIGIN, 0)
    now = int(CONFIG.progress_window_s * 1e9)
    state, directive = step(state, NavInputs(now, ORIGIN, 2.0), CONFIG)
    assert state.phase is NavPhase.BACKING_UP
    while state.phase is NavPhase.BACKING_UP:  # the pose never changes
        now += TICK_NS
        state, _ = step(state, NavInputs(now, ORIGIN, 2.0), CONFIG)
    assert state.phase is NavPhase.ROTATING
    assert now - int(CONFIG.progress_window_s * 1e9) <= CONFIG.action_timeout_s * 1e9 + TICK_NS


def test_backup_stops_when_the_rear_closes() -> None:
    robot = Robot()
    robot.run_until(NavPhase.BACKING_UP)
    robot.tick(rear=0.05)
    assert robot.state.phase is NavPhase.ROTATING


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.3, 0.3), st.floats(-1.0, 1.0),
                          st.one_of(st.none(), st.floats(0.0, 2.0)),
                          st.one_of(st.none(), st.booleans())), max_size=400))
def test_any_input_sequence_stays_bounded(steps: list) -> None:
    state: NavState = start_goal(ORIGIN, 0)
    pose, now = ORIGIN, 0
    for linear, angular, rear, plan_ok in steps:
        now += 200_000_000
        state, directive = step(state, NavInputs(now, pose, rear, plan_ok), CONFIG)
        assert state.attempts <= CONFIG.max_attempts
        if directive.command is not None:
            assert abs(directive.command.linear) <= CONFIG.backup_speed
            assert abs(directive.command.angular) <= CONFIG.rotate_speed
        assert (directive.failure is not None) == (state.phase is NavPhase.FAILED)
        pose = integrate(pose, Velocity(linear, angular), 0.2)
