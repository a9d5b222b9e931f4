"""The short-lived obstacle layer: what a fallback sees, over `/map/navigation`, never kept.

While the camera's virtual scan stands in for the LiDAR, nothing it reports may enter the
persistent map or the localiser (robo_edge/mapping/containment.py). The planner still has to go
around what the camera sees, so the mapper folds each fallback scan, at the dead-reckoned pose
it holds, into a grid of its own, and lays that grid's occupied cells over a copy of the map,
`/map/navigation`, which the planner plans on (pure: no rclpy). It is an occupancy grid rather
than a list of returns because a camera misreads some floors: a phantom seen in one frame is
cleared by the frames that later look through that cell and see floor, where a list would keep
it until it expired and wall routes in. Only returns within `range_m` are taken (beyond it a
beam clears up to `range_m` and marks nothing): the virtual scan's error grows with distance,
and an obstacle edge misjudged from afar (a doorway seen at a grazing angle) would close a gap
the robot fits through; it is seen again, closer. A return within `explained_m` of an obstacle
the map already holds is that obstacle, seen less sharply (a wall's end read 0.2 m long closed
a doorway): it is not laid over the map. The layer is dropped as soon as the LiDAR backs a scan
again (it sees the truth), and `ttl_s` after the last fallback scan (no source at all: nothing
refreshes it).
"""

import math
from dataclasses import replace

import numpy as np
from scipy import ndimage

from robo_edge.mapping.mapper import GridGeometry, MapperParams, OccupancyMapper
from robo_edge.robot.grid import OCCUPIED, OCCUPIED_THRESHOLD, Grid
from robo_edge.robot.kinematics import Pose2D

NS_PER_S = 1_000_000_000


class TransientLayer:
    """The fallback's own occupancy grid, laid over the map while it is fresh."""

    def __init__(self, geometry: GridGeometry, ttl_s: float = 60.0,
                 range_m: float = 1.5, explained_m: float = 0.3) -> None:
        if not (math.isfinite(ttl_s) and ttl_s >= 0):
            raise ValueError(f'ttl_s must be a finite number >= 0, got {ttl_s!r}')
        if not (math.isfinite(range_m) and range_m > 0):
            raise ValueError(f'range_m must be a finite number > 0, got {range_m!r}')
        if not (math.isfinite(explained_m) and explained_m >= 0):
            raise ValueError(f'explained_m must be a finite number >= 0, got {explained_m!r}')
        self.geometry = geometry
        self.range_m = range_m
        self._explained = _disc(round(explained_m / geometry.resolution))
        self.params = MapperParams(max_clear_range=range_m)
        self.ttl_ns = int(ttl_s * NS_PER_S)
        self._grid: OccupancyMapper | None = None
        self._last_ns: int | None = None
        self.scans = 0  # folded in since the layer was last dropped

    def __bool__(self) -> bool:
        """Return whether the layer holds anything."""
        return self._grid is not None

    def mark(self, stamp_ns: int, ranges: object, angle_min: float, angle_increment: float,
             range_min: float, range_max: float, laser: Pose2D) -> None:
        """Fold one fallback scan, taken from `laser` (map frame), into the layer."""
        if self._grid is None:
            self._grid = OccupancyMapper(self.geometry, self.params)
        near = np.array(ranges, dtype=np.float64)
        near[near > self.range_m] = np.inf  # seen past range_m: cleared to it, no obstacle
        self._grid.update(near, angle_min, angle_increment, range_min, range_max, laser)
        self._last_ns = stamp_ns
        self.scans += 1

    def clear(self) -> None:
        """Drop the layer: the LiDAR backs the map again."""
        self._grid, self._last_ns, self.scans = None, None, 0

    def over(self, grid: Grid, now_ns: int) -> Grid:
        """Return `grid` with the layer's occupied cells laid over it (a copy; never in place).

        A layer older than the TTL at `now_ns`, or stamped after it (the clock went back), is
        dropped first.
        """
        if self._last_ns is not None and not 0 <= now_ns - self._last_ns <= self.ttl_ns:
            self.clear()
        if self._grid is None:
            return grid
        if (grid.width, grid.height) != (self.geometry.width, self.geometry.height):
            raise ValueError(f'the layer is {self.geometry.width}x{self.geometry.height}, '
                             f'the grid {grid.width}x{grid.height}')
        laid = self._grid.occupancy() >= OCCUPIED_THRESHOLD
        if not laid.any():
            return grid
        known = grid.data >= OCCUPIED_THRESHOLD
        if self._explained is not None:
            known = ndimage.binary_dilation(known, structure=self._explained)
        data = grid.data.copy()
        data[laid & ~known] = OCCUPIED
        return replace(grid, data=data)


def _disc(radius: int) -> np.ndarray | None:
    """Return a disc of `radius` cells as a structuring element (None for radius 0)."""
    if radius <= 0:
        return None
    r = np.arange(-radius, radius + 1)
    return r[:, None] ** 2 + r[None, :] ** 2 <= radius * radius
