"""The safety gate's parameters and what the node makes of them (robo_edge/nodes/safety_gate.py).

Every parameter but `tick_source`, `rate_hz`, `diagnostics_period_s` (read-only: they set up
the node's timers) and `teleop_topic` applies live; a change that leaves the gate inconsistent
is refused.
"""

import math
from typing import Any

from robo_edge.exceptions import ConfigError
from robo_edge.robot.kinematics import LIMIT_FIELDS, BaseLimits, Pose2D
from robo_edge.ros.nav_messages import pose_from_list
from robo_edge.ros.params import BASE_LIMIT_PARAMS, Param
from robo_edge.safety.command_mux import MuxConfig
from robo_edge.safety.gate import GateConfig

NODE_NAME = 'safety_gate'

GATE_FIELDS = ('decel', 'angular_decel', 'command_timeout_s', 'scan_timeout_s', 'crawl_speed',
               'robot_radius', 'width_margin', 'length_margin', 'max_up_dt_s')

PARAMS = [
    Param('tick_source', 'clock', 'clock: answer each /clock tick; timer: own wall timer',
          read_only=True),
    Param('rate_hz', 20.0, 'Tick rate (timer) and the interval assumed on the first tick',
          1.0, 200.0,
          read_only=True),
    Param('input_wait_s', 0.3,
          "Wall time a tick waits for its inputs (keep it under the twin's lockstep timeout)",
          0.0, 10.0),
    Param('startup_wait_s', 5.0, 'Wall time the first tick waits (the twin allows more)',
          0.0, 600.0),
    Param('scan_rate_hz', 10.0, 'Rate of /safety/scan (its schedule in lockstep)', 0.1, 100.0),
    Param('decel', 1.0, 'Braking deceleration (m/s^2)', 0.01, 20.0),
    Param('angular_decel', 3.0, 'Yaw braking deceleration (rad/s^2)', 0.01, 50.0),
    Param('command_timeout_s', 0.15, 'Command age (sim) after which the base ramps to zero',
          0.001, 10.0),
    Param('scan_timeout_s', 0.3, 'Scan age (sim) after which there is no obstacle information',
          0.001, 10.0),
    Param('stop_without_scan', True, 'Stop (true) or crawl at crawl_speed (false) without a '
          'fresh scan'),
    Param('crawl_speed', 0.1, 'Speed without a fresh scan (m/s)', 0.0, 5.0),
    Param('robot_radius', 0.2, 'Radius of the base footprint (m)', 0.01, 5.0),
    Param('width_margin', 0.05, 'Margin added to the radius for the envelope (m)', 0.0, 2.0),
    Param('length_margin', 0.1, 'Margin added to the braking distance (m)', 0.0, 5.0),
    Param('max_up_dt_s', 0.1, 'Longest interval credited for speeding up (s)', 0.001, 10.0),
    Param('speed_limit_timeout_s', 1.0,
          'Age (node clock) of the last speed limit beyond which the gate stops (0: never '
          'expires; before the first one it stops anyway)', 0.0, 60.0),
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link [x, y, yaw]'),
    Param('keep_too_close', False, 'Count -inf returns (closer than range_min) as points'),
    *BASE_LIMIT_PARAMS,
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics (s, steady)', 0.05, 60.0,
          read_only=True),
    Param('teleop_topic', '/cmd_vel_teleop', 'Teleop commands (TwistStamped), which outrank '
          '/cmd_vel_raw while fresh and pass the same limits (empty: no teleop)',
          read_only=True),
    Param('teleop_timeout_s', 0.5, 'Age (node clock) beyond which a teleop command no longer '
          'drives: /cmd_vel_raw does again', 0.01, 10.0),
]


def gate_config(values: dict[str, Any]) -> GateConfig:
    """Return the core's configuration from the node parameters."""
    try:
        return GateConfig(
            limits=BaseLimits(**{name: float(values[name]) for name in LIMIT_FIELDS}),
            stop_without_scan=bool(values['stop_without_scan']),
            tick_period_s=1.0 / float(values['rate_hz']),
            **{name: float(values[name]) for name in GATE_FIELDS},
        )
    except ValueError as e:
        raise ConfigError(f'{NODE_NAME} parameters', 'decel/angular_decel',
                          'within the base acceleration limits', str(e)) from e


def mux_config(values: dict[str, Any]) -> MuxConfig:
    """Return the command mux's configuration from the node parameters."""
    try:
        return MuxConfig(teleop_timeout_s=float(values['teleop_timeout_s']))
    except ValueError as e:
        raise ConfigError(f'{NODE_NAME} parameters', 'teleop_timeout_s', 'a positive time (s)',
                          values['teleop_timeout_s']) from e


def laser_offset(values: list[float]) -> Pose2D:
    """Return the laser mount pose of the `laser_offset` parameter."""
    try:
        return pose_from_list(values, 'laser_offset')
    except ValueError as e:
        raise ConfigError(f'{NODE_NAME} parameters', 'laser_offset', '[x, y, yaw] (finite)',
                          list(values)) from e


def speed_cap(value: float) -> float | None:
    """Return the cap of a /robo_edge/speed_limit value: +inf none; 0, < 0 or NaN stop (NaN)."""
    if math.isnan(value) or value <= 0.0:
        return math.nan
    return None if math.isinf(value) else value


LIVE_CONFIG = frozenset({*GATE_FIELDS, *LIMIT_FIELDS, 'stop_without_scan'})
# Live: the core's configuration, the laser mount, and the values the node reads at each use.
LIVE = LIVE_CONFIG | {'laser_offset', 'input_wait_s', 'startup_wait_s', 'scan_rate_hz',
                      'speed_limit_timeout_s', 'keep_too_close', 'teleop_timeout_s'}


def apply_live(values: dict[str, Any], changed: dict[str, Any],
               config: GateConfig, laser: Pose2D) -> tuple[GateConfig, Pose2D]:
    """Return the gate's (config, laser mount) with `changed` applied to `values`.

    Raises ConfigError when the change leaves the gate inconsistent (nothing is applied).
    """
    merged = {**values, **changed}
    if LIVE_CONFIG & changed.keys():
        config = gate_config(merged)
    if 'laser_offset' in changed:
        laser = laser_offset(changed['laser_offset'])
    return config, laser
