"""Diff-drive limits: never above a cap, acceleration bounded, curvature kept."""

import math

from hypothesis import given
from hypothesis import strategies as st

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
speeds = st.floats(-20, 20, allow_nan=False)


@given(speeds, speeds)
def test_saturate_respects_every_cap(linear: float, angular: float) -> None:
    out = saturate(Velocity(linear, angular), LIMITS)
    half = LIMITS.wheel_separation / 2
    assert abs(out.linear) <= LIMITS.max_linear + 1e-9
    assert abs(out.angular) <= LIMITS.max_angular + 1e-9
    assert abs(out.linear - out.angular * half) <= LIMITS.max_wheel_speed + 1e-9
    assert abs(out.linear + out.angular * half) <= LIMITS.max_wheel_speed + 1e-9


def test_wheel_saturation_keeps_curvature() -> None:
    out = saturate(Velocity(0.8, 2.0), LIMITS)
    assert out.linear < 0.8
    assert out.angular / out.linear == __import__('pytest').approx(2.0 / 0.8)


@given(speeds, speeds, speeds, speeds)
def test_accelerate_is_bounded(v0: float, w0: float, v1: float, w1: float) -> None:
    dt = 0.01
    out = accelerate(Velocity(v0, w0), Velocity(v1, w1), LIMITS, dt)
    assert abs(out.linear - v0) <= LIMITS.max_linear_accel * dt + 1e-9
    assert abs(out.angular - w0) <= LIMITS.max_angular_accel * dt + 1e-9


def test_integrate_straight_and_turn() -> None:
    assert integrate(Pose2D(0, 0, 0), Velocity(1.0, 0.0), 2.0) == Pose2D(2.0, 0.0, 0.0)
    turned = integrate(Pose2D(0, 0, 0), Velocity(0.0, math.pi / 2), 1.0)
    assert turned.yaw == __import__('pytest').approx(math.pi / 2)
    assert (turned.x, turned.y) == (0.0, 0.0)


@given(st.floats(-100, 100, allow_nan=False))
def test_wrap_angle_range(angle: float) -> None:
    wrapped = wrap_angle(angle)
    assert -math.pi <= wrapped < math.pi
    assert math.isclose(math.cos(wrapped), math.cos(angle), abs_tol=1e-9)
