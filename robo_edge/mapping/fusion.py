"""Weigh a scan match against dead reckoning by their covariances (pure).

A match is a measurement of the pose, not the pose. The prediction (odometry since the last
update) carries the covariance dead reckoning has grown since; the match carries its own,
floored at what a match on a grid of this resolution can resolve. The update is the Kalman
filter's for a direct measurement of the state, per axis (x and y share the position's
variance; yaw its own):

    gain = P / (P + R),  pose = predicted + gain * (matched - predicted),  P' = P R / (P + R)

So a fresh, tight dead reckoning moves only a little toward a noisy match, and a long stretch of
dead reckoning (or a dropout) lets the match take over. A match that lies far outside what both
covariances explain (a Mahalanobis distance above `gate_sigmas`) means the prediction was wrong,
not the match (a start pose off): then the prediction counts as unknown and the match is taken
whole, with its own covariance. A prediction can also be wrong a little at every step (a wheel
slipping on the spot: each innovation within its sigma, all of them the same way): a running
mean of the innovations (`bias_weight`) beyond `bias_sigmas` of what the covariances allow
re-seeds it the same way. White match noise averages out of that mean; a bias does not. The
localiser's own acceptance tests (inliers, conditioning, jump bounds) have already run.
"""

import math
from dataclasses import dataclass

from robo_edge.robot.kinematics import Pose2D, wrap_angle

Covariance = tuple[float, float, float]  # variances of x, y, yaw (m^2, m^2, rad^2)


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Floors of a match's noise and the innovation gate."""

    match_sigma: float = 0.02  # a match never resolves the position better than this (m)
    match_sigma_yaw: float = 0.005  # ...nor the heading (rad)
    gate_sigmas: float = 3.0  # an innovation beyond this many sigmas re-seeds the prediction
    bias_weight: float = 0.5  # weight of the newest innovation in their running mean
    bias_sigmas: float = 0.75  # a running mean beyond this many sigmas re-seeds it too


@dataclass(frozen=True, slots=True)
class Fused:
    """The updated pose, its covariance and the gains used (position, yaw)."""

    pose: Pose2D
    covariance: Covariance
    gain: tuple[float, float]


class Fusion:
    """The update with the innovations' running mean, which tells a biased prediction."""

    def __init__(self, params: FusionParams) -> None:
        self.params = params
        self.bias = (0.0, 0.0, 0.0)  # running mean of matched minus predicted (x, y, yaw)

    def update(self, predicted: Pose2D, prior: Covariance, matched: Pose2D,
               measured: Covariance) -> Fused:
        """Return the update of `predicted` by `matched`, and keep the innovations' mean."""
        w = self.params.bias_weight
        step = (matched.x - predicted.x, matched.y - predicted.y,
                wrap_angle(matched.yaw - predicted.yaw))
        bias = tuple((1.0 - w) * b + w * d for b, d in zip(self.bias, step, strict=True))
        # Kept through a re-seed: the odometry is still biased while the slip lasts, so the
        # matches keep being taken whole until the mean decays.
        self.bias = bias
        return fuse(predicted, prior, matched, measured, self.params, bias)


def fuse(predicted: Pose2D, prior: Covariance, matched: Pose2D, measured: Covariance,
         params: FusionParams, bias: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Fused:
    """Return the covariance-weighted update of `predicted` by the match `matched`."""
    p_xy = max(prior[0], prior[1])
    r_xy = max(measured[0], measured[1], params.match_sigma ** 2)
    dx, dy = matched.x - predicted.x, matched.y - predicted.y
    p_xy = _gated(p_xy, r_xy, dx * dx + dy * dy, bias[0] ** 2 + bias[1] ** 2, params)
    k_xy, v_xy = _update(p_xy, r_xy)
    dyaw = wrap_angle(matched.yaw - predicted.yaw)
    r_yaw = max(measured[2], params.match_sigma_yaw ** 2)
    p_yaw = _gated(prior[2], r_yaw, dyaw * dyaw, bias[2] ** 2, params)
    k_yaw, v_yaw = _update(p_yaw, r_yaw)
    pose = Pose2D(predicted.x + k_xy * dx, predicted.y + k_xy * dy,
                  wrap_angle(predicted.yaw + k_yaw * dyaw))
    return Fused(pose, (v_xy, v_xy, v_yaw), (k_xy, k_yaw))


def _gated(prior: float, measured: float, innovation_sq: float, bias_sq: float,
           params: FusionParams) -> float:
    """Return the prior variance, unknown when the match or the innovations' mean lies outside."""
    total = prior + measured
    if (innovation_sq > params.gate_sigmas ** 2 * total
            or bias_sq > params.bias_sigmas ** 2 * total):
        return math.inf
    return prior


def _update(prior: float, measured: float) -> tuple[float, float]:
    """Return the gain and the posterior variance of one axis."""
    if math.isinf(prior):
        return 1.0, measured
    total = prior + measured
    if total <= 0.0:
        return 0.0, 0.0
    return prior / total, prior * measured / total
