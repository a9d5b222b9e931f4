"""Scan geometry for the controller and the safety gate (pure).

A LaserScan's ranges become points in base_link; what the controller asks of them is the
nearest obstacle ahead (for proximity slowing) and the free travel behind the base (for the
recovery backup). Ranges follow REP 117: NaN is invalid and +inf is no return, so neither is a
point; -inf (a return closer than `range_min`) is dropped too unless the caller asks to keep it
at `range_min`. Finite ranges outside [range_min, range_max] are not trusted either.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robo_edge.robot.kinematics import Pose2D
from robo_edge.safety.gate import travel_gaps

LASER_AT_ORIGIN = Pose2D(0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ScanLayout:
    """Where the beams of a scan point: angles in the laser frame and the valid range span."""

    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float


def scan_points(
    ranges: Sequence[float] | np.ndarray, layout: ScanLayout,
    laser: Pose2D = LASER_AT_ORIGIN, keep_too_close: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the (x, y) of the valid returns in base_link, the laser mounted at `laser`."""
    r = np.asarray(ranges, dtype=np.float64)
    angles = layout.angle_min + layout.angle_increment * np.arange(r.size)
    if keep_too_close:
        r = np.where(np.isneginf(r), layout.range_min, r)
    keep = np.isfinite(r) & (r >= layout.range_min) & (r <= layout.range_max)
    r, angles = r[keep], angles[keep] + laser.yaw
    return laser.x + r * np.cos(angles), laser.y + r * np.sin(angles)


def looks_along(ranges: Sequence[float] | np.ndarray, layout: ScanLayout, bearing: float,
                laser: Pose2D = LASER_AT_ORIGIN) -> bool:
    """Return whether the scan says anything along `bearing` (rad, base_link).

    The beam nearest that bearing must exist and hold a number: a return, or inf (nothing
    within range). NaN is no information (a camera's virtual scan outside its view), and a
    bearing outside the scan's span is not looked along at all.
    """
    r = np.asarray(ranges, dtype=np.float64)
    if not r.size or layout.angle_increment == 0:
        return False
    step = abs(layout.angle_increment)
    turn = (bearing - laser.yaw - layout.angle_min) * math.copysign(1.0, layout.angle_increment)
    index = round((turn % (2 * math.pi)) / step)
    if index == round(2 * math.pi / step):
        index = 0  # a full circle: one step short of it is the first beam again
    return index < r.size and not math.isnan(r[index])


def nearest_distance(
    x: np.ndarray, y: np.ndarray, half_angle: float = math.pi,
) -> float | None:
    """Return the distance from the origin to the nearest point within `half_angle` of ahead.

    None when no point lies in that sector (nothing seen there).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if half_angle < math.pi:
        keep &= np.abs(np.arctan2(y, x)) <= half_angle
    if not keep.any():
        return None
    return float(np.hypot(x[keep], y[keep]).min())


def rear_clearance(
    x: np.ndarray, y: np.ndarray, radius: float, range_max: float,
) -> float:
    """Return how far a disc of `radius` can back up before a point (behind its rear edge).

    Nothing in the way means clear to the edge of what the sensor sees, `range_max`; a point
    inside the disc gives zero.
    """
    behind = travel_gaps(x, y, radius)[1]
    return float(min(max(behind, 0.0), range_max))
