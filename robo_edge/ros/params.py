"""Node parameters: declared with descriptors in one call; the live ones applied at once.

Every parameter of a node is either live (a change applies at once, or is refused with the
reason) or read-only (it needs a restart: topics, QoS, files opened at start, rates that size
timers or tick schedules); rclpy refuses to set a read-only one.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter

from robo_edge.exceptions import ConfigError
from robo_edge.robot.kinematics import BaseLimits

READ_ONLY_NOTE = ' (read-only: set at start)'
# rclpy's own parameters on every node (handled by rclpy, not by the node's callback).
ROS_PARAMETERS = frozenset({'use_sim_time', 'start_type_description_service'})


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


def read_only(params: Iterable[Param], but: Iterable[str] = ()) -> list[Param]:
    """Return the parameters, each read-only but those named in `but`."""
    live = frozenset(but)
    return [replace(param, read_only=param.name not in live) for param in params]


def _descriptor(param: Param) -> ParameterDescriptor:
    text = param.description
    if param.read_only and 'read-only' not in text:
        text += READ_ONLY_NOTE
    descriptor = ParameterDescriptor(description=text, read_only=param.read_only)
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


# apply(values, changed): `values` are every parameter as it would be after the change,
# `changed` the live ones changed. It validates the whole set first and then applies it:
# ConfigError or ValueError refuses the change (its text is the reason), nothing applied.
Apply = Callable[[dict[str, Any], dict[str, Any]], None]


class LiveParameters:
    """A node's live parameters: each change is applied at once by `apply`, or refused.

    `values` (the node's dict of parameter values) is updated only once `apply` accepted a
    change. Register it after every parameter is declared. Every parameter in `params` must
    be live or read-only: none is silently ignored.
    """

    def __init__(self, node: Node, params: Iterable[Param], values: dict[str, Any],
                 live: Iterable[str], apply: Apply) -> None:
        params = list(params)
        self.names = frozenset(live)
        writable = {p.name for p in params if not p.read_only}
        if writable != self.names:
            raise ValueError(
                f'{node.get_name()}: live parameters {sorted(self.names)} differ from the '
                f'writable ones {sorted(writable)}: each is live or read-only')
        self.values = values
        self._apply = apply
        node.add_on_set_parameters_callback(self._on_set)

    def _on_set(self, params: list[Parameter]) -> SetParametersResult:
        changed = {p.name: p.value for p in params if p.name in self.names}
        if not changed:
            return SetParametersResult(successful=True)
        try:
            self._apply({**self.values, **changed}, changed)
        except ConfigError as e:
            return SetParametersResult(successful=False, reason=str(e))
        except ValueError as e:
            return SetParametersResult(
                successful=False, reason=f'{", ".join(sorted(changed))} refused: {e}')
        self.values.update(changed)
        return SetParametersResult(successful=True)
