"""Log-odds occupancy grid updated from one LaserScan and the laser pose (pure, vectorised).

The grid has a fixed size chosen by parameter (`centered_geometry` puts the start pose in its
middle); beams are clipped to it and hits outside it are dropped. Beams are traced as digital
lines, all at once: one sample per `sample_step` cells along each beam's major axis (1 cell:
one cell per column or row crossed, as Bresenham's line). Cells a beam crosses get `miss`, the
cell of a valid return gets `hit` (a hit wins over a miss in the same scan), once per scan.
Ranges follow REP 117: +inf (no return) clears free space up to `max_clear_range`; -inf, NaN
and finite values outside [range_min, range_max] are ignored. Each cell also keeps the mean
position of the returns that fell in it, so a scan matcher can align to where surfaces are
rather than to cell centres (half a cell off when a wall lies on a cell edge).
"""

import math
from dataclasses import dataclass

import numpy as np

from robo_edge.robot.kinematics import Pose2D

UNKNOWN = -1
HIT_MEMORY = 20.0  # returns a cell's mean position weighs at most


@dataclass(frozen=True, slots=True)
class GridGeometry:
    """Where the grid lies: cell size in metres, size in cells, world position of cell (0, 0)."""

    resolution: float
    width: int
    height: int
    origin_x: float
    origin_y: float


@dataclass(frozen=True, slots=True)
class MapperParams:
    """Log-odds increments and bounds, and how beams are sampled."""

    hit: float = 0.85
    miss: float = -0.4
    min_log_odds: float = -2.0
    max_log_odds: float = 3.5
    max_clear_range: float = 4.0
    sample_step: float = 1.0  # cells between two beam samples along the beam's major axis


@dataclass(frozen=True, slots=True)
class UpdateStats:
    """What one scan did: beams that ended in a hit, beams that only cleared, cells touched."""

    hits: int
    clears: int
    free_cells: int
    occupied_cells: int


def centered_geometry(
    x: float, y: float, size_m: float = 20.0, resolution: float = 0.05,
) -> GridGeometry:
    """Return a square grid of side `size_m` centred on (x, y)."""
    cells = int(math.ceil(size_m / resolution))
    half = cells * resolution / 2
    return GridGeometry(resolution, cells, cells, x - half, y - half)


def snapped_geometry(geometry: GridGeometry, resolution: float, origin_x: float,
                     origin_y: float) -> GridGeometry:
    """Move `geometry` under half a cell onto a lattice of the same resolution (else as is)."""
    if not math.isclose(resolution, geometry.resolution, rel_tol=1e-9):
        return geometry
    dx = round((geometry.origin_x - origin_x) / resolution) * resolution
    dy = round((geometry.origin_y - origin_y) / resolution) * resolution
    return GridGeometry(resolution, geometry.width, geometry.height, origin_x + dx, origin_y + dy)


def compose_pose(base: Pose2D, offset: Pose2D) -> Pose2D:
    """Return the pose of a sensor mounted at `offset` (in base_link) on a base at `base`."""
    c, s = math.cos(base.yaw), math.sin(base.yaw)
    return Pose2D(base.x + c * offset.x - s * offset.y, base.y + s * offset.x + c * offset.y,
                  base.yaw + offset.yaw)


def grid_crossing(
    x0: float, y0: float, cos: np.ndarray, sin: np.ndarray, width: int, height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return where each ray from (x0, y0) (cell units) enters and leaves [0, width] x [0, height].

    Enter is 0 from inside; a ray that misses the grid gets enter >= leave. A small margin keeps
    every sample strictly inside.
    """
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        tx0, tx1 = (0.0 - x0) / cos, (width - x0) / cos
        ty0, ty1 = (0.0 - y0) / sin, (height - y0) / sin
    enter = np.fmax(np.fmax(np.fmin(tx0, tx1), np.fmin(ty0, ty1)), 0.0)
    leave = np.fmin(np.fmax(tx0, tx1), np.fmax(ty0, ty1))
    margin = 1e-3
    return np.where(enter > 0.0, enter + margin, 0.0), leave - margin


def log_odds_to_occupancy(log_odds: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Return int8 occupancy (0..100, -1 where never observed) from log-odds."""
    probability = 1.0 / (1.0 + np.exp(-log_odds))
    occupancy = np.rint(probability * 100.0).astype(np.int8)
    occupancy[~known] = UNKNOWN
    return occupancy


class OccupancyMapper:
    """A fixed-size log-odds grid; row = y, column = x, like nav_msgs/OccupancyGrid."""

    def __init__(self, geometry: GridGeometry, params: MapperParams | None = None) -> None:
        if geometry.resolution <= 0 or geometry.width <= 0 or geometry.height <= 0:
            raise ValueError(f'invalid grid geometry {geometry}')
        self._geometry = geometry
        self._params = params or MapperParams()
        shape = (geometry.height, geometry.width)
        self._log_odds = np.zeros(shape, dtype=np.float32)
        self._known = np.zeros(shape, dtype=bool)
        self._hit_sum = np.zeros((geometry.width * geometry.height, 2), dtype=np.float64)
        self._hit_count = np.zeros(geometry.width * geometry.height, dtype=np.float64)
        # Per cell, the sum of unit vectors from its returns back toward the laser: which side
        # of a thin wall the cell's mean return was seen from.
        self._view_sum = np.zeros((geometry.width * geometry.height, 2), dtype=np.float64)

    @property
    def geometry(self) -> GridGeometry:
        """Return the grid geometry."""
        return self._geometry

    @property
    def resolution(self) -> float:
        """Return the cell size in metres."""
        return self._geometry.resolution

    @property
    def origin(self) -> tuple[float, float]:
        """Return the world (x, y) of the corner of cell (0, 0)."""
        return (self._geometry.origin_x, self._geometry.origin_y)

    def observed(self) -> np.ndarray:
        """Return the cells holding a return of this robot's (not only a seeded prior)."""
        return (self._hit_count > 0).reshape(self._geometry.height, self._geometry.width)

    def log_odds_view(self) -> np.ndarray:
        """Return the log-odds grid itself, read-only (no copy; changes with each update)."""
        view = self._log_odds.view()
        view.flags.writeable = False
        return view

    def hit_points(self, flat: np.ndarray) -> np.ndarray:
        """Return the world (x, y) of each cell's mean return; its centre when it has none."""
        g = self._geometry
        flat = np.asarray(flat, dtype=np.int64)
        count = self._hit_count[flat]
        centre = np.stack([g.origin_x + (flat % g.width + 0.5) * g.resolution,
                           g.origin_y + (flat // g.width + 0.5) * g.resolution], axis=1)
        with np.errstate(invalid='ignore', divide='ignore'):
            mean = self._hit_sum[flat] / count[:, None]
        return np.where(count[:, None] > 0, mean, centre)

    def view_directions(self, flat: np.ndarray) -> np.ndarray:
        """Return each cell's mean unit vector from its returns toward the laser (0: none).

        A wall seen from one side has a view of length ~1 pointing to that side; a return
        on the far side of a thin wall points the other way and must not match it.
        """
        flat = np.asarray(flat, dtype=np.int64)
        count = self._hit_count[flat]
        with np.errstate(invalid='ignore', divide='ignore'):
            mean = self._view_sum[flat] / count[:, None]
        return np.where(count[:, None] > 0, mean, 0.0)

    def occupancy(self) -> np.ndarray:
        """Return the grid as int8 (height x width): -1 unknown, 0..100 occupancy."""
        return log_odds_to_occupancy(self._log_odds, self._known)

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """Return the (row, column) holding world point (x, y), or None outside the grid."""
        g = self._geometry
        col = math.floor((x - g.origin_x) / g.resolution)
        row = math.floor((y - g.origin_y) / g.resolution)
        if 0 <= col < g.width and 0 <= row < g.height:
            return (row, col)
        return None

    def seed_from(self, grid: np.ndarray) -> None:
        """Start from a static int8 map of this geometry (-1 unknown, 0..100)."""
        g = self._geometry
        values = np.asarray(grid)
        if values.size != g.width * g.height:
            raise ValueError(f'static map has {values.size} cells, grid has {g.width * g.height}')
        values = values.reshape(g.height, g.width).astype(np.float32)
        known = values >= 0
        p = np.clip(values / 100.0, 1e-3, 1 - 1e-3)
        seeded = np.log(p / (1.0 - p))
        seeded = np.clip(seeded, self._params.min_log_odds, self._params.max_log_odds)
        self._log_odds = np.where(known, seeded, 0.0).astype(np.float32)
        self._known = known
        self._hit_sum[:] = 0.0
        self._hit_count[:] = 0.0
        self._view_sum[:] = 0.0

    def update(
        self, scan_ranges: np.ndarray, angle_min: float, angle_increment: float,
        range_min: float, range_max: float, pose: Pose2D,
    ) -> UpdateStats:
        """Fold one scan taken from the laser pose `pose` (map or odom frame) into the grid."""
        if not all(map(math.isfinite, (pose.x, pose.y, pose.yaw, angle_min, angle_increment))):
            raise ValueError(f'non-finite laser pose or scan angles: {pose}, {angle_min}, '
                             f'{angle_increment}')
        ranges = np.asarray(scan_ranges, dtype=np.float64).ravel()
        angles = pose.yaw + angle_min + angle_increment * np.arange(ranges.size)
        cos, sin = np.cos(angles), np.sin(angles)
        hit = np.isfinite(ranges) & (ranges >= range_min) & (ranges <= range_max)
        clear = np.isposinf(ranges)
        clear_len = min(self._params.max_clear_range, range_max)
        length = np.where(hit, ranges, np.where(clear, clear_len, 0.0))
        g = self._geometry
        # Work in cell units: cell (col, row) holds [col, col + 1) x [row, row + 1).
        x0, y0 = (pose.x - g.origin_x) / g.resolution, (pose.y - g.origin_y) / g.resolution
        enter, leave = grid_crossing(x0, y0, cos, sin, g.width, g.height)
        end = np.minimum(length / g.resolution, leave)
        free = self._free_mask(x0, y0, cos, sin, enter, end)
        occupied = self._hit_mask(x0, y0, cos[hit], sin[hit], ranges[hit] / g.resolution)
        free &= ~occupied
        free_idx, occupied_idx = np.flatnonzero(free), np.flatnonzero(occupied)
        self._apply(free_idx, occupied_idx)
        return UpdateStats(int(np.count_nonzero(hit)), int(np.count_nonzero(clear)),
                           int(free_idx.size), int(occupied_idx.size))

    def _free_mask(
        self, x0: float, y0: float, cos: np.ndarray, sin: np.ndarray, start: np.ndarray,
        end: np.ndarray,
    ) -> np.ndarray:
        """Return a flat mask of the cells sampled along each beam from `start` to `end`.

        Distances are in cells and lie inside the grid, so no sample needs a bounds check.
        """
        # A fixed step along the major axis: with 1 cell this is a digital (Bresenham) line,
        # one sample in every column (or row) the beam crosses.
        step = self._params.sample_step / np.maximum(np.abs(cos), np.abs(sin))
        counts = np.ceil(np.maximum(end - start, 0.0) / step).astype(np.int64)
        start = np.where(counts > 0, start, 0.0)  # beams missing the grid may start at inf
        first = (np.cumsum(counts) - counts).astype(np.float32)
        k = np.arange(int(counts.sum()), dtype=np.float32) - np.repeat(first, counts)
        cols = np.repeat((x0 + start * cos).astype(np.float32), counts)
        cols += k * np.repeat((step * cos).astype(np.float32), counts)
        rows = np.repeat((y0 + start * sin).astype(np.float32), counts)
        rows += k * np.repeat((step * sin).astype(np.float32), counts)
        return self._mask(cols.astype(np.int32), rows.astype(np.int32))

    def _hit_mask(
        self, x0: float, y0: float, cos: np.ndarray, sin: np.ndarray, cells: np.ndarray,
    ) -> np.ndarray:
        """Return a flat mask of the cells holding the beam ends inside the grid.

        Also adds each return's position to its cell's running mean.
        """
        g = self._geometry
        u, v = x0 + cells * cos, y0 + cells * sin
        cols, rows = np.floor(u), np.floor(v)
        inside = (cols >= 0) & (cols < g.width) & (rows >= 0) & (rows < g.height)
        flat = rows[inside].astype(np.int64) * g.width + cols[inside].astype(np.int64)
        points = np.stack([g.origin_x + u[inside] * g.resolution,
                           g.origin_y + v[inside] * g.resolution], axis=1)
        np.add.at(self._hit_sum, flat, points)
        np.add.at(self._hit_count, flat, 1.0)
        np.add.at(self._view_sum, flat, np.stack([-cos[inside], -sin[inside]], axis=1))
        # A bounded memory: the mean follows the newest returns (and a corrected pose).
        full = flat[self._hit_count[flat] > HIT_MEMORY]
        if full.size:
            full = np.unique(full)
            scale = HIT_MEMORY / self._hit_count[full]
            self._hit_sum[full] *= scale[:, None]
            self._view_sum[full] *= scale[:, None]
            self._hit_count[full] = HIT_MEMORY
        return self._mask(cols[inside].astype(np.int32), rows[inside].astype(np.int32))

    def _mask(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Return a flat boolean mask with the given cells set (indices kept in range)."""
        g = self._geometry
        # Samples are inside by construction; the clip only guards float32 rounding at edges,
        # and truncation toward zero maps anything in (-1, 0) to the first cell.
        np.clip(cols, 0, g.width - 1, out=cols)
        np.clip(rows, 0, g.height - 1, out=rows)
        mask = np.zeros(g.width * g.height, dtype=bool)
        mask[rows * g.width + cols] = True
        return mask

    def _apply(self, free: np.ndarray, occupied: np.ndarray) -> None:
        """Add the log-odds increments to the touched cells and keep them within bounds."""
        p = self._params
        flat = self._log_odds.reshape(-1)
        flat[free] = np.maximum(flat[free] + p.miss, p.min_log_odds)
        flat[occupied] = np.minimum(flat[occupied] + p.hit, p.max_log_odds)
        known = self._known.reshape(-1)
        known[free] = True
        known[occupied] = True
