"""Differential-drive kinematics with wheel-speed and acceleration limits (pure)."""

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Pose2D:
    """A planar pose: metres and radians (REP 103)."""

    x: float
    y: float
    yaw: float


@dataclass(frozen=True)
class BaseLimits:
    """What the base can do: body speed and acceleration caps, and its wheels."""

    max_linear: float = 0.8
    max_angular: float = 2.0
    max_linear_accel: float = 1.0
    max_angular_accel: float = 3.0
    wheel_separation: float = 0.32
    max_wheel_speed: float = 1.0  # rim speed, m/s


LIMIT_FIELDS = tuple(f.name for f in fields(BaseLimits))  # also the parameters' names


@dataclass(frozen=True)
class Velocity:
    """A body twist in base_link: forward speed and yaw rate."""

    linear: float = 0.0
    angular: float = 0.0


def clamp(value: float, low: float, high: float) -> float:
    """Return value limited to [low, high]."""
    return max(low, min(high, value))


def saturate(command: Velocity, limits: BaseLimits) -> Velocity:
    """Limit a commanded twist to body caps, then to wheel rim speeds, keeping curvature."""
    linear = clamp(command.linear, -limits.max_linear, limits.max_linear)
    angular = clamp(command.angular, -limits.max_angular, limits.max_angular)
    half = limits.wheel_separation / 2
    fastest_wheel = max(abs(linear - angular * half), abs(linear + angular * half))
    if fastest_wheel > limits.max_wheel_speed:
        scale = limits.max_wheel_speed / fastest_wheel
        linear, angular = linear * scale, angular * scale
    return Velocity(linear, angular)


def accelerate(current: Velocity, target: Velocity, limits: BaseLimits, dt: float) -> Velocity:
    """Move the current twist toward the target within the acceleration limits over dt."""
    dv = limits.max_linear_accel * dt
    dw = limits.max_angular_accel * dt
    return Velocity(
        current.linear + clamp(target.linear - current.linear, -dv, dv),
        current.angular + clamp(target.angular - current.angular, -dw, dw),
    )


def wheel_feasible_step(current: Velocity, candidate: Velocity, limits: BaseLimits) -> Velocity:
    """Return the point of the segment current -> candidate nearest candidate within wheel limits.

    `current` is assumed feasible, so every point on the way stays within the per-axis steps.
    """
    half, top = limits.wheel_separation / 2, limits.max_wheel_speed
    fraction = 1.0
    for side in (1.0, -1.0):
        start = current.linear + side * half * current.angular
        end = candidate.linear + side * half * candidate.angular
        if abs(end) > top and end != start:
            fraction = min(fraction, max((math.copysign(top, end) - start) / (end - start), 0.0))
    step = Velocity(current.linear + fraction * (candidate.linear - current.linear),
                    current.angular + fraction * (candidate.angular - current.angular))
    return saturate(step, limits)


def integrate(pose: Pose2D, velocity: Velocity, dt: float) -> Pose2D:
    """Advance a pose by a constant twist over dt (exact arc, midpoint heading)."""
    yaw_mid = pose.yaw + velocity.angular * dt / 2
    return Pose2D(
        pose.x + velocity.linear * dt * math.cos(yaw_mid),
        pose.y + velocity.linear * dt * math.sin(yaw_mid),
        wrap_angle(pose.yaw + velocity.angular * dt),
    )


def wrap_angle(angle: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def yaw_to_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """Return (x, y, z, w) of a rotation about z."""
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))
