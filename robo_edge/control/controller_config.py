"""The controller's parameter values -> its cores' configurations (pure).

Each builder takes the node's parameter values by name and raises ConfigError naming the
parameter when a value does not fit.
"""

import math
from collections.abc import Mapping
from typing import Any

from robo_edge.control.navigator import Navigator
from robo_edge.control.pure_pursuit import PursuitConfig, RegulatedPurePursuit
from robo_edge.control.uncertainty import UncertaintyLimits
from robo_edge.exceptions import ConfigError
from robo_edge.navigation.progress import RecoveryConfig
from robo_edge.robot.kinematics import LIMIT_FIELDS, BaseLimits, Pose2D

SOURCE = 'controller parameters'
# Parameter name -> PursuitConfig field.
PURSUIT_FIELDS = {
    'desired_speed': 'desired_linear', 'lookahead_time': 'lookahead_time',
    'min_lookahead': 'min_lookahead', 'max_lookahead': 'max_lookahead',
    'xy_tolerance': 'xy_tolerance', 'yaw_tolerance': 'yaw_tolerance',
    'approach_distance': 'approach_distance', 'robot_radius': 'robot_radius',
    'slow_clearance': 'slow_clearance', 'stop_clearance': 'stop_clearance',
    'rotate_to_heading_angle': 'rotate_to_heading_angle',
    'max_rotate_speed': 'max_rotate_speed',
}
# Parameter name -> UncertaintyLimits field; the node applies these live.
UNCERTAINTY_FIELDS = {
    'uncertainty_slow_m': 'slow_m', 'uncertainty_stop_m': 'stop_m',
    'uncertainty_min_speed': 'min_speed',
}
RECOVERY_FIELDS = {
    'progress_distance_m': 'progress_distance_m', 'progress_window_s': 'progress_window_s',
    'backup_distance_m': 'backup_distance_m',
    'backup_speed': 'backup_speed', 'recovery_rotate_speed': 'rotate_speed',
}


def tick_source(values: Mapping[str, Any]) -> str:
    """Return 'clock' or 'timer'."""
    source = str(values['tick_source'])
    if source not in ('clock', 'timer'):
        raise ConfigError(SOURCE, 'tick_source', 'clock or timer', source)
    return source


def pose_param(values: Mapping[str, Any], name: str) -> Pose2D:
    """Return the Pose2D of an [x, y, yaw] parameter."""
    floats = [float(v) for v in values[name]]
    if len(floats) != 3 or not all(map(math.isfinite, floats)):
        raise ConfigError(SOURCE, name, '[x, y, yaw] (finite)', floats)
    return Pose2D(*floats)


def pursuit(values: Mapping[str, Any]) -> RegulatedPurePursuit:
    """Return the path follower with its tuning and the base limits."""
    limits = BaseLimits(**{name: float(values[name]) for name in LIMIT_FIELDS})
    config = PursuitConfig(**{f: float(values[p]) for p, f in PURSUIT_FIELDS.items()})
    return RegulatedPurePursuit(config, limits)


def uncertainty(values: Mapping[str, Any]) -> UncertaintyLimits:
    """Return the speed rule over the position sigma."""
    fields = {f: float(values[p]) for p, f in UNCERTAINTY_FIELDS.items()}
    try:
        return UncertaintyLimits(**fields)
    except ValueError as e:
        raise ConfigError(SOURCE, 'uncertainty_stop_m', 'a sigma above uncertainty_slow_m',
                          fields) from e


def recovery(values: Mapping[str, Any]) -> RecoveryConfig:
    """Return the progress check and recovery configuration."""
    fields = {f: float(values[p]) for p, f in RECOVERY_FIELDS.items()}
    return RecoveryConfig(max_attempts=int(values['max_recovery_attempts']), **fields)


def navigator(values: Mapping[str, Any]) -> Navigator:
    """Return the controller's tick core built from its parameters."""
    return Navigator(pursuit(values), recovery(values), float(values['control_period_s']),
                     pose_param(values, 'initial_pose'), uncertainty(values))

