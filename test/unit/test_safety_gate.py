"""Safety gate: never above the cap or the base limits, always decelerates, stops for obstacles."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.robot.kinematics import BaseLimits, Pose2D, Velocity, integrate
from robo_edge.safety.gate import (
    GateConfig,
    GateInputs,
    GateReason,
    GateResult,
    GateState,
    ScanPoints,
    tick,
    travel_gaps,
)

LIMITS = BaseLimits()
CONFIG = GateConfig()
TICK_NS = 50_000_000  # 20 Hz
DT = TICK_NS / 1e9
EPS = 1e-9
NO_POINTS = (np.zeros(0), np.zeros(0))


def scan(points: tuple[np.ndarray, np.ndarray] = NO_POINTS, stamp_ns: int = 0) -> ScanPoints:
    return ScanPoints(np.asarray(points[0], float), np.asarray(points[1], float), stamp_ns)


def drive(
    command: Velocity, ticks: int, state: GateState | None = None, start_ns: int = 0,
    points: tuple[np.ndarray, np.ndarray] = NO_POINTS, cap: float | None = None,
) -> tuple[GateState, list[GateResult]]:
    """Tick the gate with a fresh command and a fresh scan every tick."""
    state = state or GateState()
    results = []
    for k in range(ticks):
        now = start_ns + k * TICK_NS
        result = tick(state, GateInputs(now, command, now, cap, scan(points, now)), CONFIG)
        state = result.state
        results.append(result)
    return state, results


def wheel_speed(v: Velocity) -> float:
    return abs(v.linear) + abs(v.angular) * LIMITS.wheel_separation / 2


def assert_within(v: Velocity, cap: float | None) -> None:
    linear_cap = LIMITS.max_linear if cap is None else min(max(cap, 0.0), LIMITS.max_linear)
    assert abs(v.linear) <= linear_cap + EPS
    assert abs(v.angular) <= LIMITS.max_angular * linear_cap / LIMITS.max_linear + EPS
    assert wheel_speed(v) <= LIMITS.max_wheel_speed + EPS


speeds = st.floats(-3.0, 3.0, allow_nan=False)
caps = st.one_of(st.none(), st.floats(-0.5, 1.5, allow_nan=False))
coords = st.floats(-2.0, 2.0, allow_nan=False)
point_sets = st.lists(st.tuples(coords, coords), max_size=6)
tick_inputs = st.tuples(
    st.one_of(st.none(), st.tuples(speeds, speeds)),  # command (None: nothing new arrived)
    caps,
    st.one_of(st.none(), point_sets),  # scan (None: nothing new arrived)
    st.integers(10_000_000, 120_000_000),  # time to the next tick
)


@settings(max_examples=150, deadline=None)
@given(st.lists(tick_inputs, min_size=1, max_size=40))
def test_never_above_the_cap_or_the_limits_and_steps_are_bounded(steps: list) -> None:
    state, now = GateState(), 0
    last_command, command_ns = None, None
    last_scan, previous_ns = None, None
    for command, cap, points, gap_ns in steps:
        now += gap_ns
        if command is not None:
            last_command, command_ns = Velocity(*command), now
        if points is not None:
            xy = np.asarray(points, float).reshape(-1, 2)
            last_scan = scan((xy[:, 0], xy[:, 1]), now)
        previous = state.output
        result = tick(state, GateInputs(now, last_command, command_ns, cap, last_scan), CONFIG)
        out = result.velocity
        assert_within(out, cap)
        # The first tick has no previous one: the gate credits one nominal period.
        dt = gap_ns / 1e9 if previous_ns is not None else CONFIG.tick_period_s
        previous_ns = now
        cap_dropped = cap is not None and (
            abs(previous.linear) > max(cap, 0.0) - EPS
            or abs(previous.angular) > LIMITS.max_angular * max(cap, 0.0) / LIMITS.max_linear
            - EPS)
        exempt = GateReason.HARD_STOP in result.reasons or cap_dropped
        if not exempt:
            assert abs(out.linear - previous.linear) <= LIMITS.max_linear_accel * dt + EPS
            assert abs(out.angular - previous.angular) <= LIMITS.max_angular_accel * dt + EPS
        if abs(out.linear) > abs(previous.linear) + EPS:
            assert abs(out.linear) - abs(previous.linear) <= LIMITS.max_linear_accel * dt + EPS
        state = result.state


@settings(max_examples=150, deadline=None)
@given(speeds, speeds, st.integers(1, 40), caps, st.integers(0, 20_000_000))
def test_when_commands_stop_output_ramps_to_zero(
    linear: float, angular: float, ticks: int, cap: float | None, jitter: int,
) -> None:
    state, _ = drive(Velocity(linear, angular), ticks, cap=cap)
    last_command_ns = (ticks - 1) * TICK_NS
    now = last_command_ns
    timeout_ns = int(CONFIG.command_timeout_s * 1e9)
    # Ticks keep coming; the last command ages past the timeout.
    while now - last_command_ns <= timeout_ns:
        now += TICK_NS
        state = tick(state, GateInputs(now, Velocity(linear, angular), last_command_ns, cap,
                                       scan(NO_POINTS, now)), CONFIG).state
    start = state.output
    # v / decel, plus one tick for the last partial step.
    bound_s = max(abs(start.linear) / CONFIG.decel,
                  abs(start.angular) / CONFIG.angular_decel) + (TICK_NS + jitter) / 1e9 + EPS
    elapsed, previous = 0.0, start
    while previous != Velocity():
        step_ns = TICK_NS + jitter
        now += step_ns
        elapsed += step_ns / 1e9
        result = tick(state, GateInputs(now, Velocity(linear, angular), last_command_ns, cap,
                                        scan(NO_POINTS, now)), CONFIG)
        out = result.velocity
        assert GateReason.COMMAND_TIMEOUT in result.reasons
        assert abs(out.linear) <= abs(previous.linear) + EPS
        assert abs(out.angular) <= abs(previous.angular) + EPS
        assert abs(out.linear - previous.linear) <= CONFIG.decel * step_ns / 1e9 + EPS
        assert elapsed <= bound_s
        state, previous = result.state, out


def test_no_command_at_all_stays_still() -> None:
    result = tick(GateState(), GateInputs(0, None, None, None, scan()), CONFIG)
    assert result.velocity == Velocity()
    assert GateReason.COMMAND_TIMEOUT in result.reasons


def test_the_cap_scales_and_keeps_curvature() -> None:
    _, results = drive(Velocity(0.6, 0.9), 40, cap=0.3)
    out = results[-1].velocity
    assert out.linear == pytest.approx(0.3)
    assert out.angular / out.linear == pytest.approx(0.9 / 0.6)
    assert GateReason.CAPPED in results[-1].reasons


def test_a_dropping_cap_applies_at_once() -> None:
    state, _ = drive(Velocity(0.8, 0.0), 30)
    assert state.output.linear == pytest.approx(0.8)
    state, results = drive(Velocity(0.8, 0.0), 1, state, start_ns=30 * TICK_NS, cap=0.2)
    assert results[0].velocity.linear == pytest.approx(0.2)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 0.8), st.floats(-2.0, 2.0), st.integers(1, 30))
def test_a_stop_request_ramps_to_zero_at_decel_and_holds(
    linear: float, angular: float, ticks: int,
) -> None:
    cruising, _ = drive(Velocity(linear, angular), 40)
    _, results = drive(Velocity(linear, angular), ticks + 40, cruising,
                       start_ns=40 * TICK_NS, cap=math.nan)
    speeds = [cruising.output.linear] + [r.velocity.linear for r in results]
    for a, b in zip(speeds, speeds[1:], strict=False):
        assert 0.0 <= b <= a + EPS  # never speeds up
        assert a - b <= CONFIG.decel * DT + EPS  # never faster than decel: a ramp, not a jump
    assert results[-1].velocity == Velocity()  # stopped and held
    assert all(GateReason.STOP_REQUESTED in r.reasons for r in results)


def test_obstacle_behind_does_not_stop_forward_motion() -> None:
    behind = (np.array([-0.3, -0.26]), np.array([0.0, 0.1]))
    state, results = drive(Velocity(0.5, 0.0), 30, points=behind)
    assert state.output.linear == pytest.approx(0.5)
    assert all(GateReason.OBSTACLE_SLOW not in r.reasons for r in results)


def test_obstacle_ahead_does_not_stop_reverse_motion() -> None:
    ahead = (np.array([0.3]), np.array([0.0]))
    state, _ = drive(Velocity(-0.3, 0.0), 30, points=ahead)
    assert state.output.linear == pytest.approx(-0.3)


def test_obstacle_within_the_margin_ahead_stops_at_decel() -> None:
    state, _ = drive(Velocity(0.5, 0.0), 20)
    near = (np.array([0.25 + 0.05 + CONFIG.length_margin / 2]), np.array([0.0]))
    state, results = drive(Velocity(0.5, 0.0), 20, state, 20 * TICK_NS, points=near)
    speeds_ = [r.velocity.linear for r in results]
    assert all(b <= a + EPS for a, b in zip([0.5] + speeds_, speeds_, strict=False))
    assert all(a - b <= CONFIG.decel * DT + EPS for a, b in zip([0.5] + speeds_, speeds_,
                                                                 strict=False))
    assert speeds_[-1] == 0.0
    assert GateReason.OBSTACLE_SLOW in results[0].reasons


def test_obstacle_in_the_reverse_envelope_stops_reversing() -> None:
    behind = (np.array([-0.3]), np.array([0.05]))
    state, _ = drive(Velocity(-0.4, 0.0), 30, points=behind)
    assert state.output.linear == 0.0


def test_point_inside_the_footprint_stops_at_once() -> None:
    state, _ = drive(Velocity(0.6, 0.0), 20)
    touching = (np.array([0.22]), np.array([0.0]))
    _, results = drive(Velocity(0.6, 0.0), 1, state, 20 * TICK_NS, points=touching)
    assert results[0].velocity.linear == 0.0
    assert GateReason.HARD_STOP in results[0].reasons


def test_rotation_in_place_is_allowed_next_to_an_obstacle() -> None:
    touching = (np.array([0.22]), np.array([0.0]))
    state, _ = drive(Velocity(0.0, 1.0), 20, points=touching)
    assert state.output.angular == pytest.approx(1.0)


def test_non_finite_points_are_ignored() -> None:
    junk = (np.array([np.nan, np.inf, 0.3, -np.inf]), np.array([0.0, 0.0, np.nan, 0.0]))
    state, _ = drive(Velocity(0.5, 0.0), 20, points=junk)
    assert state.output.linear == pytest.approx(0.5)


@pytest.mark.parametrize(('stop', 'expected'), [(False, 0.1), (True, 0.0)])
def test_stale_scan_crawls_or_stops(stop: bool, expected: float) -> None:
    config = GateConfig(stop_without_scan=stop, crawl_speed=0.1)
    state, old_scan = GateState(), scan(NO_POINTS, 0)
    for k in range(40):
        now = k * TICK_NS
        state = tick(state, GateInputs(now, Velocity(0.5, 0.0), now, None, old_scan),
                     config).state
    assert state.output.linear == pytest.approx(expected)


def test_drives_up_to_a_wall_and_stops_short_of_it() -> None:
    """Closed loop: the gate alone brings a 0.8 m/s base to rest in front of a wall."""
    wall_y = np.linspace(-1.0, 1.0, 41)
    pose, state, now = Pose2D(0.0, 0.0, 0.0), GateState(), 0
    last_scan = scan(NO_POINTS, 0)
    for k in range(200):
        if k % 2 == 0:  # 10 Hz scan of the wall at x = 2.5, in base_link
            last_scan = scan((2.5 - pose.x + 0 * wall_y, wall_y), now)
        result = tick(state, GateInputs(now, Velocity(0.8, 0.0), now, None, last_scan), CONFIG)
        state = result.state
        pose = integrate(pose, result.velocity, DT)
        now += TICK_NS
        assert 2.5 - pose.x > CONFIG.robot_radius  # never touches
    assert state.output.linear == 0.0
    gap = 2.5 - pose.x - CONFIG.robot_radius
    assert 0.0 < gap <= CONFIG.width_margin + CONFIG.length_margin + 0.02


def test_travel_gaps_of_a_round_footprint() -> None:
    ahead, behind = travel_gaps(np.array([1.0, -0.5, 0.4]), np.array([0.0, 0.0, 0.3]), 0.25)
    assert ahead == pytest.approx(0.75) and behind == pytest.approx(0.25)
    assert travel_gaps(np.zeros(0), np.zeros(0), 0.25) == (math.inf, math.inf)


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError):
        GateConfig(decel=5.0)
    with pytest.raises(ValueError):
        GateConfig(command_timeout_s=0.0)


def drive_blind(command: Velocity, blind: dict) -> list[GateResult]:
    """Tick the gate 30 times with a scan of no points that is blind the given way(s)."""
    state, results = GateState(), []
    for k in range(30):
        now = k * TICK_NS
        result = tick(state, GateInputs(now, command, now, None,
                                        ScanPoints(*NO_POINTS, now, **blind)), CONFIG)
        state, results = result.state, results + [result]
    return results


@pytest.mark.parametrize(('speed', 'blind', 'other'), [
    (-0.4, {'blind_behind': True}, {'blind_ahead': True}),
    (0.5, {'blind_ahead': True}, {'blind_behind': True})])
def test_a_way_the_scan_is_blind_to_is_not_free(speed: float, blind: dict, other: dict) -> None:
    # A camera's virtual scan has no points behind the robot: that is no information, not
    # a clear way. Motion that way ramps to zero at decel; turning goes on.
    results = drive_blind(Velocity(speed, 0.5), blind)
    speeds_ = [abs(r.velocity.linear) for r in results]
    assert speeds_[-1] == 0.0 and max(speeds_) <= 2 * CONFIG.decel * DT + EPS
    assert all(GateReason.NO_VIEW in r.reasons for r in results)
    assert all(GateReason.HARD_STOP not in r.reasons for r in results)
    assert results[-1].velocity.angular == pytest.approx(0.5)
    # Blind only the other way: this way is driven at full speed.
    results = drive_blind(Velocity(speed, 0.0), other)
    assert results[-1].velocity.linear == pytest.approx(speed)
    assert all(GateReason.NO_VIEW not in r.reasons for r in results)
