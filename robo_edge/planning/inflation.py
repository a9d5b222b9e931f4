"""Inflation of a grid by the robot radius: what the planner may cross, and at what cost.

Distances are between cell centres (Euclidean distance transform), as in nav2's inflation layer:
- lethal: within `robot_radius_m` of an obstacle cell (the robot would touch it);
- inflated: within `robot_radius_m + margin_m` (blocked for planning, a safety band);
- beyond that, free, with a cost decaying from 1 at the band's edge over `cost_falloff_m`,
  so a planner that weighs cost prefers clearance.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from robo_edge.robot.grid import OCCUPIED_THRESHOLD, UNKNOWN, Grid


@dataclass(frozen=True)
class InflationParams:
    """How occupancy becomes obstacles and how far they are grown."""

    robot_radius_m: float
    margin_m: float = 0.1
    cost_falloff_m: float = 0.5
    occupied_threshold: int = OCCUPIED_THRESHOLD
    # False: unknown cells count as obstacles (inflated too), so the robot's footprint never
    # enters unmapped space. True: unknown is free (exploration).
    unknown_is_free: bool = False

    def __post_init__(self) -> None:
        for name in ('robot_radius_m', 'margin_m'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
        if not (math.isfinite(self.cost_falloff_m) and self.cost_falloff_m > 0):
            raise ValueError(f'cost_falloff_m must be > 0, got {self.cost_falloff_m!r}')
        if not 1 <= self.occupied_threshold <= 100:
            raise ValueError(f'occupied_threshold must be 1..100, got {self.occupied_threshold}')

    @property
    def inflation_m(self) -> float:
        """Distance from an obstacle within which a cell is blocked for planning."""
        return self.robot_radius_m + self.margin_m


@dataclass(frozen=True)
class CostMap:
    """Planning view of a grid; every array has the grid's (height, width) shape."""

    grid: Grid
    params: InflationParams
    obstacle: np.ndarray
    lethal: np.ndarray
    blocked: np.ndarray
    cost: np.ndarray
    clearance_m: np.ndarray

    @property
    def inflated(self) -> np.ndarray:
        """Cells blocked by the safety band only (not lethal)."""
        return self.blocked & ~self.lethal


def obstacle_mask(grid: Grid, params: InflationParams) -> np.ndarray:
    """Return the cells that are obstacles: occupied, and unknown unless `unknown_is_free`."""
    obstacle = grid.data >= params.occupied_threshold
    if not params.unknown_is_free:
        obstacle |= grid.data == UNKNOWN
    return obstacle


def inflate(grid: Grid, params: InflationParams) -> CostMap:
    """Grow the grid's obstacles by the robot radius and margin (vectorised, one EDT)."""
    obstacle = obstacle_mask(grid, params)
    if obstacle.any():
        clearance = ndimage.distance_transform_edt(~obstacle) * grid.resolution
    else:
        clearance = np.full(obstacle.shape, np.inf)
    # A hair of tolerance so a cell exactly at the radius counts as inside it.
    eps = 1e-9 * grid.resolution
    lethal = clearance <= params.robot_radius_m + eps
    blocked = clearance <= params.inflation_m + eps
    beyond = np.maximum(clearance - params.inflation_m, 0.0)
    cost = np.exp(-beyond / params.cost_falloff_m)
    cost[blocked] = 1.0
    return CostMap(
        grid=grid, params=params, obstacle=obstacle, lethal=lethal, blocked=blocked,
        cost=cost.astype(np.float32), clearance_m=clearance.astype(np.float32),
    )
