"""The controller's uncertainty rule, its tick core and its input snapshot (no ROS)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.control import controller_config
from robo_edge.control.navigator import Navigator, Obstacles, Plan, TickInputs
from robo_edge.control.pure_pursuit import PursuitConfig, RegulatedPurePursuit
from robo_edge.control.tick_inputs import TickInputBuffers
from robo_edge.control.uncertainty import (
    UNKNOWN,
    UncertaintyLimits,
    position_sigma,
    speed_cap,
)
from robo_edge.exceptions import ConfigError
from robo_edge.navigation.progress import RecoveryConfig
from robo_edge.robot.kinematics import Pose2D, Velocity

MS = 1_000_000
LIMITS = UncertaintyLimits(slow_m=0.1, stop_m=0.5, min_speed=0.15)
ORIGIN = Pose2D(0.0, 0.0, 0.0)
STRAIGHT = Plan(((0.0, 0.0), (5.0, 0.0)), 0.0)


def test_position_sigma_is_the_larger_axis_and_unknown_when_invalid() -> None:
    assert position_sigma((0.01, 0.04, 9.0)) == pytest.approx(0.2)
    assert position_sigma((0.0, 0.0, 0.0)) == 0.0
    assert position_sigma(UNKNOWN) == math.inf
    assert position_sigma((math.nan, 0.01, 0.0)) == math.inf
    assert position_sigma((-0.01, 0.01, 0.0)) == math.inf


def test_speed_cap_from_no_cap_down_to_the_minimum() -> None:
    assert speed_cap(0.05, LIMITS, 0.5) == math.inf
    assert speed_cap(0.10, LIMITS, 0.5) == math.inf
    assert speed_cap(0.30, LIMITS, 0.5) == pytest.approx(0.325)  # half way: 0.5 -> 0.15
    assert speed_cap(0.5, LIMITS, 0.5) == pytest.approx(0.15)
    assert speed_cap(3.0, LIMITS, 0.5) == pytest.approx(0.15)
    assert speed_cap(math.inf, LIMITS, 0.5) == 0.15, 'unknown: the minimum, not a stop'
    assert speed_cap(math.nan, LIMITS, 0.5) == 0.15
    assert speed_cap(0.3, LIMITS, 0.1) == 0.15, 'a slow cruise is not raised, nor capped'


@given(st.floats(0.0, 5.0), st.floats(0.0, 5.0), st.floats(0.05, 2.0))
def test_speed_cap_never_grows_with_sigma_and_stays_in_range(a: float, b: float,
                                                             cruise: float) -> None:
    low, high = sorted((a, b))
    assert speed_cap(high, LIMITS, cruise) <= speed_cap(low, LIMITS, cruise)
    cap = speed_cap(high, LIMITS, cruise)
    assert cap == math.inf or LIMITS.min_speed <= cap <= max(cruise, LIMITS.min_speed)


def test_uncertainty_limits_are_validated() -> None:
    with pytest.raises(ValueError, match='stop_m'):
        UncertaintyLimits(slow_m=0.5, stop_m=0.5)
    with pytest.raises(ValueError, match='min_speed'):
        UncertaintyLimits(min_speed=-0.1)
    values = {'uncertainty_slow_m': 0.6, 'uncertainty_stop_m': 0.5,
              'uncertainty_min_speed': 0.15}
    with pytest.raises(ConfigError, match='uncertainty_stop_m'):
        controller_config.uncertainty(values)


def navigator(limits: UncertaintyLimits = LIMITS) -> Navigator:
    pursuit = RegulatedPurePursuit(PursuitConfig(desired_linear=0.5))
    return Navigator(pursuit, RecoveryConfig(), 0.05, ORIGIN, limits)


def cruise(nav: Navigator, variances: tuple[float, float, float] | None,
           ticks: int = 40) -> list[float]:
    """Drive the straight plan from rest, the base at the commanded speed each tick."""
    speeds, velocity, x = [], Velocity(), 0.0
    for k in range(ticks):
        inputs = TickInputs((Pose2D(x, 0.0, 0.0), velocity), STRAIGHT, 0,
                            Obstacles(None, 5.0), ORIGIN, variances)
        velocity, report = nav.step(k * 50 * MS, inputs)
        x += velocity.linear * 0.05
        speeds.append(velocity.linear)
    return speeds


def test_navigator_cruises_at_full_speed_when_certain_or_without_localisation() -> None:
    assert max(cruise(navigator(), (0.0001, 0.0001, 0.0))) == pytest.approx(0.5)
    assert max(cruise(navigator(), None)) == pytest.approx(0.5)


def test_navigator_slows_with_the_sigma_and_reports_it() -> None:
    nav = navigator()
    assert max(cruise(nav, (0.09, 0.01, 0.0))) == pytest.approx(0.325)  # sigma 0.3
    inputs = TickInputs((ORIGIN, Velocity()), STRAIGHT, 0, Obstacles(None, 5.0), ORIGIN,
                        (0.09, 0.01, 0.0))
    _, report = nav.step(0, inputs)
    assert (report.position_sigma, report.speed_cap) == pytest.approx((0.3, 0.325))
    assert report.values()['speed_cap'] == '0.325'


def test_navigator_creeps_at_the_minimum_when_the_covariance_is_unknown() -> None:
    speeds = cruise(navigator(), UNKNOWN)
    assert max(speeds) == pytest.approx(0.15) and speeds[-1] > 0.0, 'slow, not stopped'


def test_navigator_slows_down_within_the_acceleration_limit() -> None:
    nav = navigator()
    assert cruise(nav, None, 20)[-1] == pytest.approx(0.5)
    inputs = TickInputs((Pose2D(1.0, 0.0, 0.0), Velocity(0.5, 0.0)), STRAIGHT, 0,
                        Obstacles(None, 5.0), ORIGIN, UNKNOWN)
    command, _ = nav.step(21 * 50 * MS, inputs)
    assert command.linear == pytest.approx(0.5 - 1.0 * 0.05), 'at max_linear_accel, not at once'


def test_the_uncertainty_rule_can_change_between_ticks() -> None:
    nav = navigator()
    variances = (0.09, 0.0, 0.0)
    assert max(cruise(nav, variances)) == pytest.approx(0.325)
    nav.uncertainty = UncertaintyLimits(slow_m=0.4, stop_m=1.0, min_speed=0.15)
    nav.reset()
    assert max(cruise(nav, variances)) == pytest.approx(0.5)


# -- the tick's input snapshot ------------------------------------------------------------------
def buffers(localize: bool = True) -> TickInputBuffers:
    held = TickInputBuffers(localize)
    held.add_odom(100 * MS, (ORIGIN, Velocity()))
    held.add_plan(100 * MS, STRAIGHT)
    held.add_scan(100 * MS, Obstacles(None, 5.0))
    return held


def test_a_tick_takes_its_correction_only_with_the_covariance_of_the_same_stamp() -> None:
    held = buffers()
    assert held.exact(100 * MS) is None, 'neither half yet'
    held.add_correction(100 * MS, Pose2D(1.0, 0.0, 0.0))
    assert held.exact(100 * MS) is None, 'the correction alone does not do'
    assert held.missing(100 * MS) == ['pose@0.100']
    held.add_variances(100 * MS, (0.01, 0.01, 0.0))
    inputs = held.exact(100 * MS)
    assert inputs.correction == Pose2D(1.0, 0.0, 0.0) and inputs.variances == (0.01, 0.01, 0.0)


def test_an_overdue_tick_takes_a_lone_correction_as_unknown() -> None:
    held = buffers()
    held.add_correction(100 * MS, Pose2D(1.0, 0.0, 0.0))
    inputs = held.newest(110 * MS)
    assert inputs.correction == Pose2D(1.0, 0.0, 0.0) and inputs.variances == UNKNOWN
    held = buffers()
    assert held.newest(110 * MS).variances == UNKNOWN, 'no correction at all: unknown'
    assert held.missing(110 * MS) == ['correction@0.100', 'pose@0.100']


def test_without_localisation_a_tick_needs_no_correction_and_has_no_covariance() -> None:
    held = buffers(localize=False)
    inputs = held.exact(100 * MS)
    assert inputs is not None and inputs.correction is None and inputs.variances is None
    assert held.newest(100 * MS).variances is None and held.missing(100 * MS) == []
