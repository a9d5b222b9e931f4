"""What a live change of sensor_guard's parameters does to its running parts.

The new values are validated as a whole first (`guard_tuning`: the cores' loaders name the key
and the expected range); then every breaker, the model check, the cross-checks and the votes
take the new thresholds in place. State and evidence stay: an open breaker stays open, a
silence is still counted from the last arrival, only the limits it is judged by change. The
fields that size a window or a schedule are read-only (guard_params.READ_ONLY_FIELDS), so no
window is ever resized under its evidence.
"""

from typing import Any

from robo_edge.breakers.breaker import Breaker, BreakerConfig
from robo_edge.breakers.faults import NS_PER_S
from robo_edge.breakers.guard import BreakerGuard, Guard, GuardConfig, sensor_guard_sections
from robo_edge.exceptions import ConfigError
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros.guard_params import BREAKER_NAMES
from robo_edge.ros.nav_messages import pose_from_list


def guard_tuning(values: dict[str, Any]) -> tuple[GuardConfig, Pose2D]:
    """Return the guard's configuration and the laser mount; ConfigError when one does not fit."""
    config = sensor_guard_sections({name: values[name] for name in BREAKER_NAMES})
    try:
        laser = pose_from_list(values['laser_offset'], 'laser_offset')
    except ValueError as e:
        raise ConfigError('sensor_guard parameters', 'laser_offset', '[x, y, yaw] (finite)',
                          list(values['laser_offset'])) from e
    return config, laser


def retune_breaker(breaker: Breaker, config: BreakerConfig) -> None:
    """Judge a running breaker by new thresholds from now on (its state and evidence stay)."""
    stream = breaker.stream
    stream.silence.limit_ns = config.silence_ns
    stream.stale.max_age_ns = round(config.max_age_s * NS_PER_S)
    stream.frozen.window_ns = round(config.frozen_window_s * NS_PER_S)
    stream.invalid.window_ns = round(config.invalid_window_s * NS_PER_S)
    stream.invalid.max_fraction = config.invalid_fraction
    stream.invalid.min_messages = config.invalid_min_messages
    breaker.config = config  # open_s, close_after_s and the flap limits are read from it


def retune_guard(guard: Guard, config: GuardConfig) -> None:
    """Give a running guard a new configuration (the baseline monitor has none to take)."""
    if not isinstance(guard, BreakerGuard):
        return
    for source, breaker in guard.breakers.items():
        retune_breaker(breaker, config.breakers[source])
    guard.model.config = config.model
    guard.scan_check.config = config.scan_check
    guard.yaw_check.config = config.yaw_check
    guard.config = config
