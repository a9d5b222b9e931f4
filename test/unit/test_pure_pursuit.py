"""Regulated pure pursuit in a 20 Hz kinematic simulation: reaches goals within limits."""

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from robo_edge.control.pure_pursuit import (
    FollowStatus,
    PursuitConfig,
    RegulatedPurePursuit,
    arc_lengths,
    closest_arc_length,
    rotate_rate,
)
from robo_edge.robot.kinematics import (
    BaseLimits,
    Pose2D,
    Velocity,
    accelerate,
    integrate,
    saturate,
    wrap_angle,
)

LIMITS = BaseLimits()
CONFIG = PursuitConfig()
DT = 0.05  # 20 Hz
EPS = 1e-9


@dataclass
class Run:
    reached_at: float | None = None
    pose: Pose2D = Pose2D(0.0, 0.0, 0.0)
    trace: list[tuple[Pose2D, Velocity, FollowStatus]] = field(default_factory=list)


def assert_within_limits(command: Velocity, previous: Velocity) -> None:
    half = LIMITS.wheel_separation / 2
    assert abs(command.linear) <= LIMITS.max_linear + EPS
    assert abs(command.angular) <= LIMITS.max_angular + EPS
    assert abs(command.linear) + abs(command.angular) * half <= LIMITS.max_wheel_speed + EPS
    assert abs(command.linear - previous.linear) <= LIMITS.max_linear_accel * DT + EPS
    assert abs(command.angular - previous.angular) <= LIMITS.max_angular_accel * DT + EPS


def simulate(
    path: list[tuple[float, float]], start: Pose2D, goal_yaw: float | None = None,
    obstacle: float | None = None, seconds: float = 40.0,
) -> Run:
    """Close the loop: controller -> saturate/accelerate (the base) -> integrate."""
    controller, run = RegulatedPurePursuit(CONFIG, LIMITS), Run(pose=start)
    velocity = Velocity()
    for k in range(int(seconds / DT)):
        out = controller.compute(path, run.pose, velocity, DT, obstacle, goal_yaw)
        assert_within_limits(out.velocity, velocity)
        velocity = accelerate(velocity, saturate(out.velocity, LIMITS), LIMITS, DT)
        run.pose = integrate(run.pose, velocity, DT)
        run.trace.append((run.pose, velocity, out.status))
        if out.status is FollowStatus.GOAL_REACHED and velocity == Velocity():
            run.reached_at = (k + 1) * DT
            return run
    return run


def straight() -> list[tuple[float, float]]:
    return [(0.05 * i, 0.0) for i in range(61)]  # 3 m along x


def quarter_circle(radius: float = 1.5) -> list[tuple[float, float]]:
    a = np.linspace(0.0, math.pi / 2, 61)
    return list(zip(radius * np.sin(a), radius - radius * np.cos(a), strict=True))


def s_curve() -> list[tuple[float, float]]:
    x = np.linspace(0.0, 4.0, 81)
    return list(zip(x, 0.5 * np.sin(x * math.pi / 2), strict=True))


def cross_track(path: list[tuple[float, float]], run: Run) -> float:
    dense = np.asarray(path)
    fine = np.stack([np.interp(np.linspace(0, len(dense) - 1, 20 * len(dense)),
                               np.arange(len(dense)), dense[:, i]) for i in (0, 1)], axis=1)
    return max(float(np.min(np.hypot(*(fine - (p.x, p.y)).T))) for p, _, _ in run.trace)


def assert_reached(run: Run, goal: tuple[float, float], goal_yaw: float | None,
                   within_s: float) -> None:
    assert run.reached_at is not None and run.reached_at <= within_s
    assert math.hypot(run.pose.x - goal[0], run.pose.y - goal[1]) <= CONFIG.xy_tolerance
    if goal_yaw is not None:
        assert abs(wrap_angle(run.pose.yaw - goal_yaw)) <= CONFIG.yaw_tolerance


def test_straight_path_reaches_the_goal() -> None:
    path = straight()
    run = simulate(path, Pose2D(0.0, 0.0, 0.0))
    assert_reached(run, path[-1], None, within_s=10.0)
    assert cross_track(path, run) < 0.02
    assert max(v.linear for _, v, _ in run.trace) == pytest.approx(CONFIG.desired_linear)


def test_straight_path_from_an_offset_start() -> None:
    path = straight()
    run = simulate(path, Pose2D(-0.1, 0.3, -0.4), goal_yaw=0.0)
    assert_reached(run, path[-1], 0.0, within_s=12.0)


def test_quarter_circle_reaches_the_goal_and_final_yaw() -> None:
    path = quarter_circle()
    run = simulate(path, Pose2D(0.0, 0.0, 0.0), goal_yaw=math.pi / 2)
    assert_reached(run, path[-1], math.pi / 2, within_s=10.0)
    assert cross_track(path, run) < 0.1


def test_s_curve_reaches_the_goal() -> None:
    path = s_curve()
    start_yaw = math.atan(0.5 * math.pi / 2)
    run = simulate(path, Pose2D(0.0, 0.0, start_yaw), goal_yaw=0.0)
    assert_reached(run, path[-1], 0.0, within_s=16.0)
    assert cross_track(path, run) < 0.12


def test_turns_in_place_when_facing_away() -> None:
    path = straight()
    run = simulate(path, Pose2D(0.0, 0.0, math.pi))
    first_pose, first_velocity, first_status = run.trace[0]
    assert first_status is FollowStatus.ROTATING and first_velocity.linear == 0.0
    assert_reached(run, path[-1], None, within_s=14.0)


def test_slows_near_obstacles() -> None:
    path = straight()
    free = simulate(path, Pose2D(0.0, 0.0, 0.0))
    near = simulate(path, Pose2D(0.0, 0.0, 0.0), obstacle=0.45, seconds=60.0)
    top_free = max(v.linear for _, v, _ in free.trace)
    top_near = max(v.linear for _, v, _ in near.trace)
    assert top_near < 0.5 * top_free
    assert near.reached_at is not None  # slow, but never stalled by proximity alone


def test_slows_on_the_approach_to_the_goal() -> None:
    path = straight()
    run = simulate(path, Pose2D(0.0, 0.0, 0.0))
    for pose, velocity, _ in run.trace:
        remaining = path[-1][0] - pose.x
        if remaining < 0.2:
            assert velocity.linear <= 0.2
    assert run.trace[-1][1] == Velocity()


def test_empty_path_is_no_path_and_decelerates() -> None:
    controller = RegulatedPurePursuit()
    out = controller.compute([], Pose2D(0, 0, 0), Velocity(0.5, 1.0), DT)
    assert out.status is FollowStatus.NO_PATH
    assert out.velocity.linear == pytest.approx(0.5 - LIMITS.max_linear_accel * DT)
    assert abs(out.velocity.angular) < 1.0


def test_goal_reached_latches_until_a_new_path() -> None:
    controller = RegulatedPurePursuit()
    path = straight()
    goal = Pose2D(path[-1][0], 0.0, 0.0)
    assert controller.compute(path, goal, Velocity(), DT).status is FollowStatus.GOAL_REACHED
    nudged = Pose2D(goal.x - 0.3, 0.0, 0.0)
    assert controller.compute(path, nudged, Velocity(), DT).status is FollowStatus.GOAL_REACHED
    longer = path + [(3.5, 0.0)]
    assert controller.compute(longer, nudged, Velocity(), DT).status is FollowStatus.FOLLOWING


def test_closest_arc_length_projects_onto_segments() -> None:
    points = np.array([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)])
    cumulative = arc_lengths(points)
    assert list(cumulative) == [0.0, 1.0, 2.0]
    assert closest_arc_length(points, cumulative, 0.4, 0.2, 0.0, 5.0) == pytest.approx(0.4)
    assert closest_arc_length(points, cumulative, 1.3, 0.5, 0.0, 5.0) == pytest.approx(1.5)


@pytest.mark.parametrize('path', [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)],
                                  [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (1.0, 1.0)]])
def test_progress_at_the_very_end_of_the_path_still_finds_the_last_segment(path) -> None:
    # A robot that overshot the end (the wall clock, a slow tick) once crashed the controller:
    # the search window from the path's length held no segment.
    points = np.array(path)
    cumulative = arc_lengths(points)
    end = float(cumulative[-1])
    assert closest_arc_length(points, cumulative, 1.0, 1.2, end, end + 1.0) == pytest.approx(end)
    assert closest_arc_length(points, cumulative, 1.0, 1.2, end + 0.5, end + 1.0) == \
        pytest.approx(end)


def turn_in_place(error0: float, latency_s: float, told_s: float) -> list[float]:
    """Yaw errors of a base turning to a goal yaw on a pose `latency_s` old (15 Hz control).

    The controller is told the pose's age is `told_s` and predicts the yaw that far ahead from
    the rate it sees; the base follows each command within its yaw acceleration limit
    (2 rad/s^2, 1.5 rad/s), 1 ms steps.
    """
    config, accel, period, step = PursuitConfig(), 2.0, 1.0 / 15.0, 0.001
    yaw, rate, command, history = 0.0, 0.0, 0.0, [(0.0, 0.0, 0.0)]
    errors = []
    for k in range(int(12.0 / step)):
        t = k * step
        if k % round(period / step) == 0:
            seen, seen_rate = next((y, r) for s, y, r in reversed(history)
                                   if s <= t - latency_s + 1e-9) if t >= latency_s else (0, 0)
            # As the pursuit does: aim from the yaw predicted for when the command acts.
            error = error0 - (seen + seen_rate * told_s)
            command = 0.0 if abs(error) <= config.yaw_tolerance else rotate_rate(
                config, error, accel, period)
            errors.append(error0 - yaw)
        rate += max(-accel * step, min(accel * step, command - rate))
        rate = max(-1.5, min(1.5, rate))
        yaw += rate * step
        history.append((t + step, yaw, rate))
    return errors


@pytest.mark.parametrize('latency_s', [0.2, 0.4])
def test_a_turn_told_its_latency_stops_on_the_goal_yaw(latency_s: float) -> None:
    tolerance = PursuitConfig().yaw_tolerance
    told = turn_in_place(1.5, latency_s, latency_s + 1.0 / 15.0)
    assert abs(told[-1]) <= tolerance and min(told) >= -tolerance, told[-10:]
    # Blind to it, the same turn passes the goal yaw by more than the tolerance.
    assert min(turn_in_place(1.5, latency_s, 0.0)) < -tolerance


def test_rotate_rate_without_latency_is_the_braking_curve() -> None:
    config = PursuitConfig()
    for error in (0.05, 0.2, 0.8, -1.2):
        expected = min(config.rotate_gain * abs(error), math.sqrt(2 * 2.0 * abs(error)))
        expected = min(max(expected, config.min_rotate_speed), config.max_rotate_speed)
        assert rotate_rate(config, error, 2.0) == pytest.approx(math.copysign(expected, error))
        assert abs(rotate_rate(config, error, 2.0, 0.5)) <= abs(rotate_rate(config, error, 2.0))
