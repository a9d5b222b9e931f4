"""Declare node parameters with descriptors (description and ranges) in one call."""

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
)
from rclpy.node import Node


@dataclass(frozen=True)
class Param:
    """One parameter: its default, what it means, and optionally its range."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False


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
