"""Regulated pure pursuit for a differential-drive base (pure).

Follows a path of (x, y) points forward. The lookahead grows with speed; the speed is lowered on
tight curvature, near obstacles (distance passed in) and on the approach to the goal, and kept
low enough to stop at the goal within the acceleration limit. A large heading error to the
lookahead point turns the base in place; at the goal it turns in place to the final yaw when one
is given. Every command is saturated to the base limits and follows them at bounded
acceleration from the current velocity.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from robo_edge.robot.kinematics import (
    BaseLimits,
    Pose2D,
    Velocity,
    accelerate,
    clamp,
    saturate,
    wheel_feasible_step,
    wrap_angle,
)


class FollowStatus(Enum):
    """What the controller is doing."""

    FOLLOWING = 'following'
    ROTATING = 'rotating'
    GOAL_REACHED = 'goal_reached'
    NO_PATH = 'no_path'


@dataclass(frozen=True, slots=True)
class PursuitConfig:
    """Tuning of the controller; distances in metres, speeds in m/s and rad/s."""

    desired_linear: float = 0.5
    lookahead_time: float = 1.5
    min_lookahead: float = 0.3
    max_lookahead: float = 0.9
    regulated_min_radius: float = 0.9  # below this turning radius the speed scales down
    min_regulated_speed: float = 0.1
    robot_radius: float = 0.2
    slow_clearance: float = 0.6  # obstacle clearance (from the body) where slowing starts
    stop_clearance: float = 0.1  # clearance where proximity slowing reaches its floor
    approach_distance: float = 0.6
    min_approach_speed: float = 0.05
    rotate_to_heading_angle: float = 0.785
    rotate_gain: float = 2.0
    min_rotate_speed: float = 0.2
    max_rotate_speed: float = 1.5
    xy_tolerance: float = 0.1
    yaw_tolerance: float = 0.15
    search_window: float = 2.0  # path length ahead of the last progress searched each tick


@dataclass(frozen=True, slots=True)
class PursuitOutput:
    """One tick's result: the command, the status, and what it was based on."""

    velocity: Velocity
    status: FollowStatus
    distance_to_goal: float
    lookahead_point: tuple[float, float] | None = None


def arc_lengths(points: np.ndarray) -> np.ndarray:
    """Return the cumulative path length at each point (first is 0)."""
    steps = np.hypot(*np.diff(points, axis=0).T) if len(points) > 1 else np.zeros(0)
    return np.concatenate(([0.0], np.cumsum(steps)))


def closest_arc_length(
    points: np.ndarray, cumulative: np.ndarray, x: float, y: float, s_from: float, s_to: float,
) -> float:
    """Return the path length of the point closest to (x, y) on segments within [s_from, s_to]."""
    if len(points) < 2:
        return 0.0
    # At least one segment: progress at the path's very end (s_from = its length) must still
    # find the last one, not an empty window.
    first = min(max(int(np.searchsorted(cumulative, s_from, side='right')) - 1, 0),
                len(points) - 2)
    last = max(min(int(np.searchsorted(cumulative, s_to, side='right')), len(points) - 1),
               first + 1)
    a, b = points[first:last], points[first + 1:last + 1]
    ab = b - a
    length2 = np.maximum(np.einsum('ij,ij->i', ab, ab), 1e-12)
    u = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / length2, 0.0, 1.0)
    distance2 = (a[:, 0] + u * ab[:, 0] - x) ** 2 + (a[:, 1] + u * ab[:, 1] - y) ** 2
    best = int(np.argmin(distance2))
    seg = cumulative[first + best + 1] - cumulative[first + best]
    return float(cumulative[first + best] + u[best] * seg)


def point_at(points: np.ndarray, cumulative: np.ndarray, s: float) -> tuple[float, float]:
    """Return the path point at path length s (clamped to the ends)."""
    s = clamp(s, 0.0, float(cumulative[-1]))
    return (float(np.interp(s, cumulative, points[:, 0])),
            float(np.interp(s, cumulative, points[:, 1])))


def to_robot_frame(px: float, py: float, pose: Pose2D) -> tuple[float, float]:
    """Return (px, py) expressed in the robot frame."""
    dx, dy = px - pose.x, py - pose.y
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    return (c * dx + s * dy, -s * dx + c * dy)


def regulated_speed(
    config: PursuitConfig, curvature: float, obstacle_distance: float | None, remaining: float,
    max_decel: float,
) -> float:
    """Return the forward speed after curvature, proximity and approach regulation."""
    speed = config.desired_linear
    radius = 1.0 / abs(curvature) if curvature else math.inf
    if radius < config.regulated_min_radius:
        speed *= radius / config.regulated_min_radius
    if obstacle_distance is not None:
        clearance = obstacle_distance - config.robot_radius
        span = max(config.slow_clearance - config.stop_clearance, 1e-6)
        speed *= clamp((clearance - config.stop_clearance) / span, 0.0, 1.0)
    speed = max(speed, min(config.min_regulated_speed, config.desired_linear))
    approach = config.desired_linear * remaining / max(config.approach_distance, 1e-6)
    speed = min(speed, approach, math.sqrt(2.0 * max_decel * remaining))
    return max(speed, config.min_approach_speed)


def rotate_rate(config: PursuitConfig, error: float, max_accel: float,
                latency_s: float = 0.0) -> float:
    """Return a yaw rate that turns through `error` and can stop on it.

    The rate is held for `latency_s` (until the next command acts) before braking can start,
    so the rate that stops on the error is a (sqrt(L^2 + 2 |e| / a) - L), and never more than
    |e| / L, or the turn would pass the error within that time alone.
    """
    reach = abs(error)
    latency = max(latency_s, 0.0)
    stopping = max_accel * (math.sqrt(latency ** 2 + 2.0 * reach / max_accel) - latency)
    magnitude = clamp(min(config.rotate_gain * reach, stopping), config.min_rotate_speed,
                      config.max_rotate_speed)
    if latency > 0.0:
        magnitude = min(magnitude, reach / latency)
    return math.copysign(magnitude, error)


class RegulatedPurePursuit:
    """Path follower; keeps its progress along the path and the goal latches between ticks."""

    def __init__(self, config: PursuitConfig | None = None,
                 limits: BaseLimits | None = None) -> None:
        self.config = config or PursuitConfig()
        self.limits = limits or BaseLimits()
        self._points = np.zeros((0, 2))
        self._cumulative = np.zeros(0)
        self.reset()

    def reset(self) -> None:
        """Forget the progress along the path and the goal latches (for a new goal)."""
        self._progress: float | None = None  # None: search the whole path next tick
        self._xy_reached = False
        self._done = False
        self._latency = 0.0

    def compute(
        self, path: Sequence[tuple[float, float]], pose: Pose2D, velocity: Velocity, dt: float,
        obstacle_distance: float | None = None, goal_yaw: float | None = None,
        latency_s: float = 0.0,
    ) -> PursuitOutput:
        """Return the command for this tick; `obstacle_distance` is from base_link's origin.

        `latency_s`: the pose's age when the command starts to act (the tick's period and the
        odometry's age): the turn to the goal's yaw aims from the yaw predicted then, so a late
        pose does not turn past it.
        """
        self._latency = latency_s
        points = self._load(path)
        if len(points) == 0:
            return self._output(Velocity(), velocity, dt, FollowStatus.NO_PATH, math.inf)
        goal_x, goal_y = float(points[-1, 0]), float(points[-1, 1])
        distance = math.hypot(goal_x - pose.x, goal_y - pose.y)
        if self._xy_reached or self._arrived(pose, goal_x, goal_y, distance):
            self._xy_reached = True
            return self._at_goal(pose, velocity, dt, goal_yaw, distance)
        return self._follow(points, pose, velocity, dt, obstacle_distance, distance)

    def _arrived(self, pose: Pose2D, goal_x: float, goal_y: float, distance: float) -> bool:
        """Return whether the goal position is reached.

        Well inside the tolerance, or inside it with the goal no longer ahead (driving on would
        only take the base away from it).
        """
        tolerance = self.config.xy_tolerance
        if distance > tolerance:
            return False
        return distance <= tolerance / 2 or to_robot_frame(goal_x, goal_y, pose)[0] <= 0.0

    def _load(self, path: Sequence[tuple[float, float]]) -> np.ndarray:
        """Convert the path, and start over when it differs from the last one."""
        points = np.asarray(path, dtype=np.float64).reshape(-1, 2)
        if points.shape != self._points.shape or not np.array_equal(points, self._points):
            self._points, self._cumulative = points, arc_lengths(points)
            self.reset()
        return self._points

    def _follow(
        self, points: np.ndarray, pose: Pose2D, velocity: Velocity, dt: float,
        obstacle_distance: float | None, distance: float,
    ) -> PursuitOutput:
        """Track the lookahead point, or turn in place toward it when it lies far aside."""
        cfg, cum = self.config, self._cumulative
        s_from = 0.0 if self._progress is None else self._progress
        s_to = math.inf if self._progress is None else self._progress + cfg.search_window
        progress = closest_arc_length(points, cum, pose.x, pose.y, s_from, s_to)
        self._progress = progress
        lookahead = clamp(abs(velocity.linear) * cfg.lookahead_time, cfg.min_lookahead,
                          cfg.max_lookahead)
        carrot = point_at(points, cum, progress + lookahead)
        xr, yr = to_robot_frame(*carrot, pose)
        heading_error = math.atan2(yr, xr)
        if abs(heading_error) > cfg.rotate_to_heading_angle:
            # Toward a lookahead point the raw error is kept: a predicted one near zero flipped
            # the turn back and forth on a starved wall-clock run and made no progress.
            rate = rotate_rate(cfg, heading_error, self.limits.max_angular_accel)
            return self._output(Velocity(0.0, rate), velocity, dt, FollowStatus.ROTATING,
                                distance, carrot)
        curvature = 2.0 * yr / max(xr * xr + yr * yr, 1e-9)
        remaining = max(float(cum[-1]) - progress, distance)
        speed = regulated_speed(cfg, curvature, obstacle_distance, remaining,
                                self.limits.max_linear_accel)
        return self._output(Velocity(speed, speed * curvature), velocity, dt,
                            FollowStatus.FOLLOWING, distance, carrot)

    def _at_goal(
        self, pose: Pose2D, velocity: Velocity, dt: float, goal_yaw: float | None,
        distance: float,
    ) -> PursuitOutput:
        """Stop at the goal, turning in place to the final yaw first when one is given."""
        if not self._done and goal_yaw is not None:
            error = wrap_angle(goal_yaw - self._yaw_ahead(pose, velocity))
            if abs(error) > self.config.yaw_tolerance:
                rate = rotate_rate(self.config, error, self.limits.max_angular_accel, dt)
                return self._output(Velocity(0.0, rate), velocity, dt, FollowStatus.ROTATING,
                                    distance)
        self._done = True
        return self._output(Velocity(), velocity, dt, FollowStatus.GOAL_REACHED, distance)

    def _yaw_ahead(self, pose: Pose2D, velocity: Velocity) -> float:
        """Return the yaw predicted for when this tick's command starts to act."""
        return pose.yaw + velocity.angular * self._latency

    def _output(
        self, target: Velocity, velocity: Velocity, dt: float, status: FollowStatus,
        distance: float, carrot: tuple[float, float] | None = None,
    ) -> PursuitOutput:
        """Saturate the target, follow it within the acceleration limits, wrap the result."""
        stepped = accelerate(velocity, saturate(target, self.limits), self.limits, dt)
        command = wheel_feasible_step(velocity, stepped, self.limits)
        return PursuitOutput(command, status, distance, carrot)
