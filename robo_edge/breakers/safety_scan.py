"""What sensor_guard publishes on /safety/scan at each scan slot (pure).

Downstream (mapper, controller, gate) wait in lockstep for `/safety/scan` stamped exactly on the
LiDAR's schedule, so the guard publishes one scan per slot whatever the live source is, always in
the LiDAR's layout and `laser` frame:

- LiDAR live and its scan of the slot held: that scan; with the perception breaker closed, the
  camera's returns nearer than the LiDAR's within `near_m` are folded in (`fuse_near`): an
  obstacle only one sensor can see is kept for safety near the robot, and the scan says which
  beams the camera set.
- Perception live: the newest virtual scan not later than the slot, re-binned into the LiDAR's
  beams (its returns moved from base_link into the laser frame). Beams inside the camera's field
  of view keep its answer (+inf: nothing seen); beams outside it are NaN (REP 117: invalid).
- No source, or the live source's data missing: every beam NaN ("no information"). The gate treats
  such a scan as no scan at all (it keeps ageing the last informative one), so nothing is lost
  by publishing it, and nobody downstream waits for a scan that will not come.
"""

import math
from dataclasses import dataclass

import numpy as np

from robo_edge.breakers.cross_check import BeamScan
from robo_edge.robot.kinematics import Pose2D


@dataclass(frozen=True, slots=True)
class BeamLayout:
    """The LiDAR's beams: angles in the laser frame, count and valid range span."""

    angle_min: float = -math.pi
    angle_increment: float = 2 * math.pi / 360
    beams: int = 360
    range_min: float = 0.1
    range_max: float = 12.0

    def angles(self) -> np.ndarray:
        """Return every beam's angle in the laser frame."""
        return self.angle_min + self.angle_increment * np.arange(self.beams)


@dataclass(frozen=True, slots=True)
class SafetyScan:
    """One /safety/scan: ranges (float32, LiDAR layout) and where they came from."""

    ranges: np.ndarray
    origin: str  # 'lidar', 'lidar+perception' (near union), 'perception' or 'none'
    fused: np.ndarray | None = None  # beams the camera set in a 'lidar+perception' scan

    @property
    def informative(self) -> bool:
        """Return True when at least one beam is not NaN."""
        return bool(np.any(~np.isnan(self.ranges)))


def no_information(layout: BeamLayout) -> SafetyScan:
    """Return a scan of NaN beams: no obstacle information at all."""
    return SafetyScan(np.full(layout.beams, np.nan, dtype=np.float32), 'none')


def rebin_virtual(virtual: BeamScan, layout: BeamLayout, laser: Pose2D) -> SafetyScan:
    """Return the virtual scan (mounted at `virtual.mount` in base_link) in the LiDAR's beams."""
    r = np.asarray(virtual.ranges, dtype=np.float64)
    if r.size == 0:
        return no_information(layout)
    angles = virtual.angle_min + virtual.angle_increment * np.arange(r.size)
    out = np.full(layout.beams, np.nan, dtype=np.float64)
    seen = _beams_of_bearings(_fov_bearings(virtual, laser, angles), layout)
    looked = ~np.isnan(r) & (seen >= 0)  # a NaN virtual beam says nothing
    out[seen[looked]] = np.inf
    near = np.isneginf(r)
    out[seen[near & (seen >= 0)]] = -np.inf
    finite = np.isfinite(r)
    if np.any(finite):
        x, y = _in_laser(virtual, laser, r[finite], angles[finite])
        index = _beams_of_bearings(np.arctan2(y, x), layout)
        keep = index >= 0
        _fold_nearest(out, index[keep], np.hypot(x, y)[keep])
    return SafetyScan(out.astype(np.float32), 'perception')


def _fold_nearest(out: np.ndarray, index: np.ndarray, ranges: np.ndarray) -> None:
    """Set each indexed beam to its nearest return (a beam at -inf stays -inf)."""
    best = np.full(out.size, np.inf)
    np.minimum.at(best, index, ranges)
    hit = np.isfinite(best)
    out[hit & ~np.isneginf(out)] = best[hit & ~np.isneginf(out)]


def _in_laser(virtual: BeamScan, laser: Pose2D, r: np.ndarray,
              angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return returns of the virtual scan as points in the laser frame."""
    mount = virtual.mount
    bx = mount.x + r * np.cos(angles + mount.yaw)
    by = mount.y + r * np.sin(angles + mount.yaw)
    dx, dy = bx - laser.x, by - laser.y
    c, s = math.cos(laser.yaw), math.sin(laser.yaw)
    return c * dx + s * dy, -s * dx + c * dy


def _fov_bearings(virtual: BeamScan, laser: Pose2D, angles: np.ndarray) -> np.ndarray:
    """Return the virtual beams' bearings in the laser frame (for a far point, the FOV)."""
    far = np.full(angles.size, 1e3)
    x, y = _in_laser(virtual, laser, far, angles)
    return np.arctan2(y, x)


def _beams_of_bearings(bearing: np.ndarray, layout: BeamLayout) -> np.ndarray:
    """Return the LiDAR beam index nearest each bearing, -1 outside the LiDAR's span."""
    rel = np.mod(bearing - layout.angle_min + layout.angle_increment / 2, 2 * math.pi)
    index = np.floor(rel / layout.angle_increment).astype(np.int64)
    return np.where(index < layout.beams, index, -1)


def fuse_near(lidar: np.ndarray, virtual: SafetyScan, near_m: float) -> SafetyScan:
    """Return the LiDAR scan with the camera's nearer returns within `near_m` folded in.

    An obstacle only the camera sees (below the LiDAR's plane, a thin pole between its beams)
    is kept for safety near the robot. `fused` marks the beams the camera set: consumers that
    build the world model (the mapper) leave them out.
    """
    lidar = np.asarray(lidar, dtype=np.float32)
    v = virtual.ranges
    with np.errstate(invalid='ignore'):
        nearer = np.isfinite(v) & (v <= near_m) & ~(lidar <= v)
    if not np.any(nearer):
        return SafetyScan(lidar, 'lidar')
    out = lidar.copy()
    out[nearer] = v[nearer]
    return SafetyScan(out, 'lidar+perception', nearer)
