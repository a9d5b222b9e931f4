"""An occupancy grid laid out as nav_msgs/OccupancyGrid, with map-frame conversions.

`data[row, col]` holds -1 (unknown) or an occupancy 0..100; row 0 is the lowest y, so
`data.ravel()` is exactly `OccupancyGrid.data`. The origin is the map-frame pose of the outer
corner of cell (0, 0); cells are addressed as (col, row), i.e. (x index, y index).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robo_edge.exceptions import GridError

UNKNOWN = -1
FREE = 0
OCCUPIED = 100
OCCUPIED_THRESHOLD = 65  # a cell at or above is an obstacle (nav2's occupied_thresh 0.65)
Cell = tuple[int, int]


@dataclass(frozen=True)
class Grid:
    """A 2-D occupancy grid; `data` is int8 with shape (height, width)."""

    resolution: float
    width: int
    height: int
    data: np.ndarray
    origin_x: float = 0.0
    origin_y: float = 0.0
    origin_yaw: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.resolution) and self.resolution > 0):
            raise GridError(f'resolution must be a positive number, got {self.resolution!r}')
        if self.width < 1 or self.height < 1:
            raise GridError(f'grid must be at least 1x1, got {self.width}x{self.height}')
        if self.data.shape != (self.height, self.width) or self.data.dtype != np.int8:
            raise GridError(
                f'data must be int8 of shape ({self.height}, {self.width}), '
                f'got {self.data.dtype} {self.data.shape}'
            )

    def world_to_grid(self, points: np.ndarray) -> np.ndarray:
        """Map (N, 2) map-frame points to continuous grid coordinates (cell units, corner 0)."""
        c, s = math.cos(self.origin_yaw), math.sin(self.origin_yaw)
        d = np.asarray(points, dtype=float).reshape(-1, 2) - (self.origin_x, self.origin_y)
        u = (c * d[:, 0] + s * d[:, 1]) / self.resolution
        v = (-s * d[:, 0] + c * d[:, 1]) / self.resolution
        return np.stack([u, v], axis=1)

    def grid_to_world(self, coords: np.ndarray) -> np.ndarray:
        """Map (N, 2) continuous grid coordinates back to map-frame points."""
        c, s = math.cos(self.origin_yaw), math.sin(self.origin_yaw)
        g = np.asarray(coords, dtype=float).reshape(-1, 2) * self.resolution
        x = self.origin_x + c * g[:, 0] - s * g[:, 1]
        y = self.origin_y + s * g[:, 0] + c * g[:, 1]
        return np.stack([x, y], axis=1)

    def world_to_cell(self, x: float, y: float) -> Cell:
        """Return the (col, row) of the cell containing the map-frame point (maybe outside)."""
        u, v = self.world_to_grid(np.array([x, y]))[0]
        return math.floor(u), math.floor(v)

    def cell_to_world(self, col: int, row: int) -> tuple[float, float]:
        """Return the map-frame centre of cell (col, row)."""
        x, y = self.grid_to_world(np.array([col + 0.5, row + 0.5]))[0]
        return float(x), float(y)

    def in_bounds(self, col: int, row: int) -> bool:
        """Whether (col, row) is a cell of this grid."""
        return 0 <= col < self.width and 0 <= row < self.height

    def to_flat(self) -> list[int]:
        """Return the row-major cell list of `nav_msgs/OccupancyGrid.data`."""
        return self.data.ravel().tolist()

    @classmethod
    def from_flat(
        cls, data: Sequence[int] | np.ndarray, width: int, height: int, resolution: float,
        origin_x: float = 0.0, origin_y: float = 0.0, origin_yaw: float = 0.0,
    ) -> 'Grid':
        """Build a grid from `OccupancyGrid.data` (list, array.array or numpy array)."""
        flat = np.asarray(data)
        if flat.ndim != 1 or flat.size != width * height:
            raise GridError(f'expected {width}x{height}={width * height} cells, got {flat.size}')
        if flat.size and not np.issubdtype(flat.dtype, np.integer):
            raise GridError(f'cell values must be integers, got {flat.dtype}')
        if flat.size and (flat.min() < UNKNOWN or flat.max() > OCCUPIED):
            raise GridError(f'cell values must be -1..100, got {flat.min()}..{flat.max()}')
        cells = flat.astype(np.int8).reshape(height, width)
        return cls(resolution, width, height, cells, origin_x, origin_y, origin_yaw)

    @classmethod
    def filled(
        cls, width: int, height: int, resolution: float, value: int = FREE,
        origin_x: float = 0.0, origin_y: float = 0.0, origin_yaw: float = 0.0,
    ) -> 'Grid':
        """Return a grid with every cell set to `value`."""
        data = np.full((height, width), value, dtype=np.int8)
        return cls(resolution, width, height, data, origin_x, origin_y, origin_yaw)
