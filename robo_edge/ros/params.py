"""Declare node parameters with descriptors (description and ranges) in one call."""

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
)
from rclpy.node import Node

from robo_edge.robot.kinematics import BaseLimits


@dataclass(frozen=True)
class Param:
    """One parameter: its default, what it means, and optionally its range."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False


_LIMITS = BaseLimits()
# The base limits (robo_edge/robot/kinematics.BaseLimits) as node parameters: the controller and
# the safety gate declare them alike; the robot profile sets them.
BASE_LIMIT_PARAMS = [
    Param('max_linear', _LIMITS.max_linear, 'Base speed limit (m/s)', 0.0, 10.0),
    Param('max_angular', _LIMITS.max_angular, 'Base yaw-rate limit (rad/s)', 0.0, 20.0),
    Param('max_linear_accel', _LIMITS.max_linear_accel, 'Base acceleration limit (m/s^2)',
          0.01, 20.0),
    Param('max_angular_accel', _LIMITS.max_angular_accel,
          'Base yaw acceleration limit (rad/s^2)', 0.01, 50.0),
    Param('wheel_separation', _LIMITS.wheel_separation, 'Distance between the wheels (m)',
          0.01, 5.0),
    Param('max_wheel_speed', _LIMITS.max_wheel_speed, 'Wheel rim speed limit (m/s)', 0.01, 20.0),
]


def _descriptor(param: Param) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=param.description, read_only=param.read_only)
    if param.low is None or param.high is None:
        return descriptor
    if isinstance(param.default, bool):
        return descriptor
    if isinstance(param.default, int):
        descriptor.integer_range = [
            IntegerRange(from_value=int(param.low), to_value=int(param.high), step=1)
        ]
    elif isinstance(param.default, float):
        descriptor.floating_point_range = [
            FloatingPointRange(from_value=float(param.low), to_value=float(param.high), step=0.0)
        ]
    return descriptor


def declare(node: Node, params: list[Param]) -> dict[str, Any]:
    """Declare every parameter and return their current values by name."""
    values: dict[str, Any] = {}
    for param in params:
        node.declare_parameter(param.name, param.default, _descriptor(param))
        values[param.name] = node.get_parameter(param.name).value
    return values
