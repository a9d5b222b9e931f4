"""A scan match weighed against dead reckoning by their covariances (mapping/fusion.py)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.mapping.fusion import FusionParams, fuse
from robo_edge.robot.kinematics import Pose2D

PARAMS = FusionParams(match_sigma=0.02, match_sigma_yaw=0.005, gate_sigmas=3.0)
ORIGIN = Pose2D(0.0, 0.0, 0.0)


def test_equal_variances_meet_half_way_and_halve_the_variance() -> None:
    fused = fuse(ORIGIN, (0.02 ** 2, 0.02 ** 2, 0.005 ** 2), Pose2D(0.03, -0.02, 0.004),
                 (0.0, 0.0, 0.0), PARAMS)
    assert (fused.pose.x, fused.pose.y, fused.pose.yaw) == pytest.approx((0.015, -0.01, 0.002))
    assert fused.gain == pytest.approx((0.5, 0.5))
    assert fused.covariance == pytest.approx((0.02 ** 2 / 2, 0.02 ** 2 / 2, 0.005 ** 2 / 2))


def test_a_tight_dead_reckoning_barely_moves_and_a_long_one_lets_the_match_take_over() -> None:
    match = Pose2D(0.01, 0.0, 0.0)
    tight = fuse(ORIGIN, (1e-6, 1e-6, 1e-8), match, (0.0, 0.0, 0.0), PARAMS)
    assert tight.pose.x < 0.001
    loose = fuse(ORIGIN, (0.5 ** 2, 0.5 ** 2, 0.2 ** 2), match, (0.0, 0.0, 0.0), PARAMS)
    assert loose.pose.x == pytest.approx(0.01, abs=1e-4)
    unknown = fuse(ORIGIN, (math.inf, math.inf, math.inf), match, (0.0, 0.0, 0.0), PARAMS)
    assert unknown.pose.x == pytest.approx(0.01) and unknown.gain == (1.0, 1.0)


def test_a_match_far_outside_both_covariances_reseeds_the_prediction() -> None:
    # 0.2 m off a prediction that claims 0.02 m: the prediction was wrong (a slip, a bad start).
    fused = fuse(ORIGIN, (0.02 ** 2, 0.02 ** 2, 0.005 ** 2), Pose2D(0.2, 0.0, 0.0),
                 (0.0, 0.0, 0.0), PARAMS)
    assert fused.pose.x == pytest.approx(0.2, abs=0.002)
    inside = fuse(ORIGIN, (0.02 ** 2, 0.02 ** 2, 0.005 ** 2), Pose2D(0.05, 0.0, 0.0),
                  (0.0, 0.0, 0.0), PARAMS)
    assert inside.pose.x == pytest.approx(0.025)  # 1.8 sigmas: weighed


def test_the_match_covariance_is_floored_and_yaw_wraps() -> None:
    overconfident = fuse(ORIGIN, (0.02 ** 2, 0.02 ** 2, 0.0), Pose2D(0.02, 0.0, 0.0),
                         (1e-12, 1e-12, 1e-12), PARAMS)
    assert overconfident.gain[0] == pytest.approx(0.5)
    near_pi = math.pi - 0.001
    across = fuse(Pose2D(0.0, 0.0, near_pi), (0.0, 0.0, 1.0), Pose2D(0.0, 0.0, -near_pi),
                  (0.0, 0.0, 0.0), PARAMS)
    assert abs(abs(across.pose.yaw) - math.pi) < 0.001


@settings(max_examples=200, deadline=None)
@given(px=st.floats(1e-6, 1.0), py=st.floats(1e-6, 0.1), dx=st.floats(-0.5, 0.5),
       dy=st.floats(-0.5, 0.5), dyaw=st.floats(-0.3, 0.3))
def test_the_update_lies_between_prediction_and_match_and_shrinks_the_variance(
        px, py, dx, dy, dyaw) -> None:
    prior = (px ** 2, px ** 2, py ** 2)
    fused = fuse(ORIGIN, prior, Pose2D(dx, dy, dyaw), (0.0, 0.0, 0.0), PARAMS)
    assert 0.0 <= fused.gain[0] <= 1.0 and 0.0 <= fused.gain[1] <= 1.0
    assert math.hypot(fused.pose.x - dx, fused.pose.y - dy) <= math.hypot(dx, dy) + 1e-12
    assert fused.covariance[0] <= max(prior[0], dx * dx + dy * dy) + 1e-12
    assert fused.covariance[0] <= PARAMS.match_sigma ** 2 + 1e-12
