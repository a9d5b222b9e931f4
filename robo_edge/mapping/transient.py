"""The short-lived obstacle layer: what a fallback sees, laid over `/map`, never kept (pure).

While the camera's virtual scan stands in for the LiDAR, nothing it reports may enter the
persistent map or the localiser (robo_edge/mapping/containment.py). The planner still has to
go around what the camera sees, so the mapper keeps each fallback scan's returns here, as
points in the map frame at the dead-reckoned pose it held, and lays them over the published
grid as occupied cells for `ttl_s` of scan time. The layer empties as soon as the LiDAR backs
a scan again (it sees the truth), and never outlives its TTL: a stale phantom cannot block a
route for long, and a real obstacle is seen again by the next frame that looks at it.
"""

import math
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from robo_edge.robot.grid import OCCUPIED, Grid
from robo_edge.robot.kinematics import Pose2D

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Marks:
    """The returns of one fallback scan, in the map frame, and its stamp."""

    stamp_ns: int
    points: np.ndarray  # (N, 2)


def scan_endpoints(ranges: np.ndarray, angle_min: float, angle_increment: float,
                   range_min: float, range_max: float, laser: Pose2D) -> np.ndarray:
    """Return the (N, 2) map-frame endpoints of the returns in (range_min, range_max)."""
    r = np.asarray(ranges, dtype=np.float64)
    angles = angle_min + angle_increment * np.arange(r.size)
    hit = np.isfinite(r) & (r > range_min) & (r < range_max)
    bearing = laser.yaw + angles[hit]
    return np.stack([laser.x + r[hit] * np.cos(bearing), laser.y + r[hit] * np.sin(bearing)],
                    axis=1)


class TransientLayer:
    """Fallback returns of the last `ttl_s` of scan time, laid over a grid on demand."""

    def __init__(self, ttl_s: float = 10.0, keep: int = 512) -> None:
        if not (math.isfinite(ttl_s) and ttl_s >= 0):
            raise ValueError(f'ttl_s must be a finite number >= 0, got {ttl_s!r}')
        self.ttl_ns = int(ttl_s * NS_PER_S)
        self._marks: deque[Marks] = deque(maxlen=keep)

    def __len__(self) -> int:
        """Return how many scans the layer holds."""
        return len(self._marks)

    def mark(self, stamp_ns: int, points: np.ndarray) -> None:
        """Keep one fallback scan's returns (map frame) stamped `stamp_ns`."""
        self._marks.append(Marks(stamp_ns, np.asarray(points, dtype=np.float64).reshape(-1, 2)))

    def clear(self) -> None:
        """Forget every return: the LiDAR backs the map again."""
        self._marks.clear()

    def live(self, now_ns: int) -> np.ndarray:
        """Return the (N, 2) returns not older than the TTL at `now_ns` (and drop the rest).

        A scan stamped after `now_ns` (the clock went back) is dropped with the old ones: it
        belongs to a time line that no longer holds.
        """
        while self._marks and not 0 <= now_ns - self._marks[0].stamp_ns <= self.ttl_ns:
            self._marks.popleft()
        kept = [m.points for m in self._marks if 0 <= now_ns - m.stamp_ns <= self.ttl_ns]
        return np.concatenate(kept) if kept else np.zeros((0, 2))

    def over(self, grid: Grid, now_ns: int) -> Grid:
        """Return a copy of `grid` with the live returns' cells occupied (the grid untouched)."""
        points = self.live(now_ns)
        if not points.size:
            return grid
        cells = np.floor(grid.world_to_grid(points)).astype(np.int64)
        inside = ((cells[:, 0] >= 0) & (cells[:, 0] < grid.width)
                  & (cells[:, 1] >= 0) & (cells[:, 1] < grid.height))
        data = grid.data.copy()
        data[cells[inside, 1], cells[inside, 0]] = OCCUPIED
        return replace(grid, data=data)
