"""The safety gate core: the last word before the base, ticked on its own timer (pure).

Each tick works on one snapshot (the latest command and when it arrived, the speed cap, the
latest scan as points in base_link with its stamp) and `now` in integer nanoseconds:

1. No command, or one older than `command_timeout_s`: the target is zero (ramp at `decel`).
2. The command is saturated to the base limits and scaled, keeping its curvature, under the
   cap; the yaw-rate cap is proportional: cap / max_linear * max_angular. A NaN cap asks for a
   stop (SAFE_STOP, or a mode manager gone silent): the target is zero, reached at `decel`.
3. A scan older than `scan_timeout_s` is no obstacle information: crawl (`crawl_speed`) or stop
   (`stop_without_scan`).
4. Braking envelope: the round footprint inflated by `width_margin` (a strip of the robot's
   width + margins) swept straight ahead, or back when reversing, over the braking distance
   v^2 / (2 decel) + `length_margin`. The speed in a direction is held to what keeps its
   envelope clear of scan points, so a point inside the envelope at the current speed brings
   the base down at `decel`, to a stop once the point is within `length_margin`. A point inside
   the inflated footprint stops motion that way at once (hard stop). Gaps are shortened by the
   distance travelled since the scan stamp. A way the scan is blind to (NaN there: a camera's
   virtual scan behind the robot) is not free: motion that way ramps to zero (`no_view`).
5. The output follows the target at the base's acceleration (slowing at `decel`, speeding up
   over at most `max_up_dt_s` per tick), keeps both wheels within limits, and is clamped to the
   cap; a (finite) cap that drops, and a hard stop, apply at once: they are the only steps larger
   than the acceleration limits allow, and both only reduce speed.
"""

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from robo_edge.robot.kinematics import BaseLimits, Velocity, clamp, saturate, wheel_feasible_step

NS_PER_S = 1_000_000_000


class GateReason(Enum):
    """Why the output differs from the command (several may apply in one tick)."""

    COMMAND_TIMEOUT = 'command_timeout'
    INVALID_COMMAND = 'invalid_command'
    CAPPED = 'capped'
    NO_SCAN_CRAWL = 'no_scan_crawl'
    NO_SCAN_STOP = 'no_scan_stop'
    OBSTACLE_SLOW = 'obstacle_slow'
    HARD_STOP = 'hard_stop'
    STOP_REQUESTED = 'stop_requested'  # the cap says stop (SAFE_STOP): ramp to zero, hold
    NO_VIEW = 'no_view'  # the scan does not look the way the command goes: ramp to zero


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Parameters of the gate; distances in metres, times in seconds."""

    limits: BaseLimits = BaseLimits()
    decel: float = 1.0
    angular_decel: float = 3.0
    command_timeout_s: float = 0.15  # 3 control periods: decelerating within 200 ms
    scan_timeout_s: float = 0.3
    stop_without_scan: bool = True
    crawl_speed: float = 0.1
    robot_radius: float = 0.2
    width_margin: float = 0.05
    length_margin: float = 0.1
    tick_period_s: float = 0.05  # interval assumed on the first tick
    max_up_dt_s: float = 0.1  # longest interval credited for speeding up after a late tick

    def __post_init__(self) -> None:
        """Reject decelerations the base cannot do and non-positive times."""
        if not 0 < self.decel <= self.limits.max_linear_accel:
            raise ValueError(f'decel must be in (0, {self.limits.max_linear_accel}]')
        if not 0 < self.angular_decel <= self.limits.max_angular_accel:
            raise ValueError(f'angular_decel must be in (0, {self.limits.max_angular_accel}]')
        if min(self.command_timeout_s, self.scan_timeout_s, self.tick_period_s) <= 0:
            raise ValueError('timeouts and the tick period must be positive')


@dataclass(frozen=True, slots=True)
class ScanPoints:
    """Scan points in base_link (non-finite ones ignored), the stamp, the ways it is blind."""

    x: np.ndarray
    y: np.ndarray
    stamp_ns: int
    blind_ahead: bool = False
    blind_behind: bool = False


@dataclass(frozen=True, slots=True)
class GateInputs:
    """One tick's snapshot; `speed_cap` None means no cap beyond the base limits."""

    now_ns: int
    command: Velocity | None = None
    command_time_ns: int | None = None
    speed_cap: float | None = None
    scan: ScanPoints | None = None


@dataclass(frozen=True, slots=True)
class GateState:
    """What the gate remembers: its last output and when it was sent."""

    output: Velocity = Velocity()
    last_tick_ns: int | None = None


@dataclass(frozen=True, slots=True)
class GateResult:
    """The command to send, why it differs from the input, the next state, the free gaps."""

    velocity: Velocity
    reasons: tuple[GateReason, ...]
    state: GateState
    gap_ahead: float = math.inf
    gap_behind: float = math.inf


def is_fresh(stamp_ns: int | None, now_ns: int, timeout_s: float) -> bool:
    """Return whether a stamp lies within `timeout_s` of now (either side)."""
    return stamp_ns is not None and abs(now_ns - stamp_ns) <= timeout_s * NS_PER_S


def travel_gaps(x: np.ndarray, y: np.ndarray, radius: float) -> tuple[float, float]:
    """Return how far a disc of `radius` at the origin can go ahead and back before a point.

    inf when no point lies in its path; zero or less when a point lies inside the disc.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & (np.abs(y) < radius)
    x, y = x[keep], y[keep]
    half_chord = np.sqrt(radius * radius - y * y)
    ahead = x[x >= 0] - half_chord[x >= 0]
    behind = -x[x <= 0] - half_chord[x <= 0]
    return (float(ahead.min()) if ahead.size else math.inf,
            float(behind.min()) if behind.size else math.inf)


def allowed_speed(gap: float, config: GateConfig) -> float:
    """Return the speed whose braking envelope just reaches a point `gap` ahead."""
    return math.sqrt(2.0 * config.decel * max(gap - config.length_margin, 0.0))


def scale_under(velocity: Velocity, linear_cap: float, angular_cap: float) -> Velocity:
    """Scale a twist, keeping its curvature, so both components lie within their caps."""
    scale = 1.0
    if abs(velocity.linear) > linear_cap:
        scale = linear_cap / abs(velocity.linear)
    if abs(velocity.angular) > angular_cap:
        scale = min(scale, angular_cap / abs(velocity.angular))
    return Velocity(velocity.linear * scale, velocity.angular * scale)


def linear_cap(speed_cap: float | None, limits: BaseLimits) -> float:
    """Return the cap on |linear| (an invalid or negative cap stops)."""
    if speed_cap is None:
        return limits.max_linear
    if math.isnan(speed_cap):
        return 0.0
    return clamp(speed_cap, 0.0, limits.max_linear)


def angular_cap(cap: float, limits: BaseLimits) -> float:
    """Return the yaw-rate cap proportional to a linear cap."""
    return limits.max_angular * cap / limits.max_linear


def ramp_axis(previous: float, target: float, up: float, down: float) -> float:
    """Move one axis toward its target by at most `up` when speeding up, `down` when slowing."""
    slowing = abs(target) < abs(previous) or previous * target < 0
    step = down if slowing else up
    return previous + clamp(target - previous, -step, step)


def ramp(previous: Velocity, target: Velocity, dt: float, config: GateConfig) -> Velocity:
    """Follow the target within the acceleration limits and the set deceleration."""
    lim, up_dt = config.limits, min(dt, config.max_up_dt_s)
    moved = Velocity(
        ramp_axis(previous.linear, target.linear, lim.max_linear_accel * up_dt,
                  config.decel * dt),
        ramp_axis(previous.angular, target.angular, lim.max_angular_accel * up_dt,
                  config.angular_decel * dt),
    )
    return wheel_feasible_step(previous, moved, lim)


def command_target(inputs: GateInputs, config: GateConfig, reasons: list[GateReason]) -> Velocity:
    """Return the saturated command, or zero when it is missing, stale or not finite."""
    command = inputs.command
    if command is None or not is_fresh(inputs.command_time_ns, inputs.now_ns,
                                       config.command_timeout_s):
        reasons.append(GateReason.COMMAND_TIMEOUT)
        return Velocity()
    if not (math.isfinite(command.linear) and math.isfinite(command.angular)):
        reasons.append(GateReason.INVALID_COMMAND)
        return Velocity()
    return saturate(command, config.limits)


def limit_target(
    target: Velocity, cap: float, scan_fresh: bool, config: GateConfig,
    reasons: list[GateReason],
) -> Velocity:
    """Scale the target under the cap, and under the crawl speed (or zero) without a scan."""
    limits = config.limits
    capped = scale_under(target, cap, angular_cap(cap, limits))
    if capped != target:
        reasons.append(GateReason.CAPPED)
    if scan_fresh:
        return capped
    if config.stop_without_scan:
        reasons.append(GateReason.NO_SCAN_STOP)
        return Velocity()
    reasons.append(GateReason.NO_SCAN_CRAWL)
    crawl = min(config.crawl_speed, cap)
    return scale_under(capped, crawl, angular_cap(crawl, limits))


def obstacle_target(
    target: Velocity, gaps: tuple[float, float], config: GateConfig,
    reasons: list[GateReason],
) -> Velocity:
    """Hold the linear target to what keeps the braking envelope that way clear."""
    gap = gaps[0] if target.linear > 0 else gaps[1]
    allowed = allowed_speed(gap, config) if gap > 0 else 0.0
    if abs(target.linear) <= allowed:
        return target
    reasons.append(GateReason.OBSTACLE_SLOW)
    return Velocity(math.copysign(allowed, target.linear), target.angular)


def scan_gaps(inputs: GateInputs, previous: Velocity, config: GateConfig) -> tuple[float, float]:
    """Return the free travel ahead and behind, shortened by the motion since the scan."""
    scan = inputs.scan
    ahead, behind = travel_gaps(scan.x, scan.y, config.robot_radius + config.width_margin)
    since_scan = max(inputs.now_ns - scan.stamp_ns, 0) / NS_PER_S
    # Unseen is not free: a blind way gets a gap that allows no speed (a ramp down, not a jolt).
    return (config.length_margin if scan.blind_ahead
            else ahead - max(previous.linear, 0.0) * since_scan,
            config.length_margin if scan.blind_behind
            else behind - max(-previous.linear, 0.0) * since_scan)


def hard_stop(
    velocity: Velocity, gaps: tuple[float, float], reasons: list[GateReason],
) -> Velocity:
    """Stop linear motion at once toward a point inside the inflated footprint."""
    if (velocity.linear > 0 and gaps[0] <= 0) or (velocity.linear < 0 and gaps[1] <= 0):
        reasons.append(GateReason.HARD_STOP)
        return Velocity(0.0, velocity.angular)
    return velocity


def elapsed_s(state: GateState, now_ns: int, config: GateConfig) -> float:
    """Return the time since the last tick (the nominal period on the first one)."""
    if state.last_tick_ns is None:
        return config.tick_period_s
    return max(now_ns - state.last_tick_ns, 0) / NS_PER_S


def clamp_to_cap(velocity: Velocity, cap: float, config: GateConfig,
                 reasons: list[GateReason]) -> Velocity:
    """Clamp both components to the cap at once (the cap is never exceeded)."""
    turn_cap = angular_cap(cap, config.limits)
    clamped = Velocity(clamp(velocity.linear, -cap, cap),
                       clamp(velocity.angular, -turn_cap, turn_cap))
    if clamped != velocity and GateReason.CAPPED not in reasons:
        reasons.append(GateReason.CAPPED)
    return clamped


def stop_requested(speed_cap: float | None) -> bool:
    """Return True for the cap that means stop (NaN: SAFE_STOP, or a cap gone silent)."""
    return speed_cap is not None and math.isnan(speed_cap)


def tick(state: GateState, inputs: GateInputs, config: GateConfig) -> GateResult:
    """Return the command to send now and the next state."""
    reasons: list[GateReason] = []
    previous = state.output
    cap = linear_cap(inputs.speed_cap, config.limits)
    stopping = stop_requested(inputs.speed_cap)
    if stopping:
        reasons.append(GateReason.STOP_REQUESTED)
    scan_fresh = inputs.scan is not None and is_fresh(inputs.scan.stamp_ns, inputs.now_ns,
                                                      config.scan_timeout_s)
    gaps = scan_gaps(inputs, previous, config) if scan_fresh else (math.inf, math.inf)
    target = limit_target(command_target(inputs, config, reasons), cap, scan_fresh, config,
                          reasons)
    if scan_fresh and ((target.linear > 0 and inputs.scan.blind_ahead)
                       or (target.linear < 0 and inputs.scan.blind_behind)):
        reasons.append(GateReason.NO_VIEW)
    target = obstacle_target(target, gaps, config, reasons)
    output = ramp(previous, target, elapsed_s(state, inputs.now_ns, config), config)
    # A stop request ramps down at `decel` (the target is zero); any other cap clamps at once.
    output = hard_stop(output, gaps, reasons)
    if not stopping:
        output = clamp_to_cap(output, cap, config, reasons)
    return GateResult(output, tuple(reasons), GateState(output, inputs.now_ns), *gaps)
