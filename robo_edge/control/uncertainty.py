"""How much the localisation's uncertainty lets the base drive (pure).

The mapper publishes the variances of x, y and yaw of the base pose in map (inf: unknown). The
position sigma is the square root of the larger of the x and y variances; a NaN or negative
variance is no information and counts as unknown (inf). Above `slow_m` the cruise speed is
scaled down linearly to `min_speed` at `stop_m` and held there beyond; an unknown sigma also
gives `min_speed`: fail closed, yet the base can still creep somewhere safe on dead reckoning
rather than deadlock.
"""

import math
from dataclasses import dataclass

# Variances of x (m^2), y (m^2) and yaw (rad^2); inf: unknown.
Variances = tuple[float, float, float]
UNKNOWN: Variances = (math.inf, math.inf, math.inf)


def position_sigma(variances: Variances) -> float:
    """Return sqrt(max(var x, var y)); inf when either is unknown, NaN or negative."""
    var_x, var_y = float(variances[0]), float(variances[1])
    if math.isnan(var_x) or math.isnan(var_y) or var_x < 0.0 or var_y < 0.0:
        return math.inf
    return math.sqrt(max(var_x, var_y))


@dataclass(frozen=True, slots=True)
class UncertaintyLimits:
    """The speed rule: metres of position sigma, m/s of speed."""

    slow_m: float = 0.10
    stop_m: float = 0.5
    min_speed: float = 0.15

    def __post_init__(self) -> None:
        for name in ('slow_m', 'stop_m', 'min_speed'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
        if self.stop_m <= self.slow_m:
            raise ValueError(
                f'stop_m ({self.stop_m}) must be above slow_m ({self.slow_m})')


def speed_cap(sigma: float, limits: UncertaintyLimits, cruise: float) -> float:
    """Return the forward speed cap (m/s) at this position sigma; inf: no cap.

    Linear from `cruise` at `slow_m` down to `min_speed` at `stop_m`; never below
    `min_speed`, so a slow cruise is not raised either (the cap is an upper bound).
    """
    if math.isnan(sigma) or sigma >= limits.stop_m:
        return limits.min_speed
    if sigma <= limits.slow_m:
        return math.inf
    fraction = (sigma - limits.slow_m) / (limits.stop_m - limits.slow_m)
    return max(limits.min_speed, cruise + (limits.min_speed - cruise) * fraction)
