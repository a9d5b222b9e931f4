"""Narrow passages: when the safety band closes a way, cross the band where it must be crossed.

The planner blocks a band of `inflation_margin` beyond the robot radius, so the pursuit can cut
corners without touching walls. At 0.1 m cells a 0.8 m doorway has about one cell of slack
under a 0.35 m band, and one LiDAR return on a jamb closes it, although the robot (0.4 m
across) fits with 0.2 m to spare. nav2 treats the band as cost rather than as a wall for the
same reason. Here the band stays a wall while a path exists around it; only when the goal is
unreachable, or inside the band, the search runs again on a second tier:

- blocked: within `robot_radius + margin_m` of an obstacle (a thinner band, never less than
  the radius);
- the normal band's cells cost `band_cost` (times 1 to 2, deeper is dearer), against at most 1
  elsewhere, so the path enters the band only where it has to, and near its middle;
- shortcuts are taken against the normal band, so no straight segment cuts into it: through
  the narrow part the path follows the grid search cell by cell.

The result says it was narrow (`PlanResult.narrow`); a kept narrow path is checked against the
narrow tier, or it would be replanned at every map.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from robo_edge.planning.astar import (
    GridPlanner,
    PlannerParams,
    PlanResult,
    PlanStatus,
    path_length,
    shortcut,
)
from robo_edge.planning.inflation import CostMap

Point = tuple[float, float]
# The tier is tried for these outcomes of the normal search.
RETRIED = (PlanStatus.UNREACHABLE, PlanStatus.GOAL_BLOCKED)


@dataclass(frozen=True)
class NarrowParams:
    """The second tier: the band kept in a narrow passage, and the price of entering more."""

    margin_m: float = 0.05
    band_cost: float = 100.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.margin_m) and self.margin_m >= 0):
            raise ValueError(f'margin_m must be a finite number >= 0, got {self.margin_m!r}')
        if not (math.isfinite(self.band_cost) and self.band_cost >= 1):
            raise ValueError(f'band_cost must be a finite number >= 1, got {self.band_cost!r}')


def narrowed(costmap: CostMap, params: NarrowParams) -> CostMap | None:
    """Return the narrow tier of `costmap` (no new distance transform); None if no thinner."""
    full = costmap.params
    if params.margin_m >= full.margin_m:
        return None
    thin = replace(full, margin_m=params.margin_m)
    eps = 1e-9 * costmap.grid.resolution
    blocked = costmap.clearance_m <= thin.inflation_m + eps
    band = costmap.blocked & ~blocked
    depth = (full.inflation_m - costmap.clearance_m) / (full.margin_m - params.margin_m)
    cost = costmap.cost.copy()
    cost[band] = (params.band_cost * (1.0 + np.clip(depth, 0.0, 1.0)))[band]
    return replace(costmap, params=thin, blocked=blocked, cost=cost)


class TieredPlanner:
    """A GridPlanner on the cost map, and on its narrow tier when that one finds nothing."""

    def __init__(self, costmap: CostMap, params: PlannerParams | None = None,
                 narrow: NarrowParams | None = None) -> None:
        self.costmap = costmap
        self.params = params or PlannerParams()
        self.normal = GridPlanner(costmap, self.params)
        self.narrow_params = narrow
        self._narrow: GridPlanner | None = None

    def plan(self, start: Point, goal: Point) -> PlanResult:
        """Plan on the normal tier; through the narrow one when that one has no path."""
        result = self.normal.plan(start, goal)
        if result.status not in RETRIED or self.narrow_params is None:
            return result
        tier = self.narrow_tier()
        if tier is None:
            return result
        tight = tier.plan(start, goal)
        if not tight.path:
            return replace(result, expanded=result.expanded + tight.expanded)
        path = self._shortcut(tight.path)
        return replace(tight, path=path, length_m=path_length(np.asarray(path)), narrow=True,
                       expanded=result.expanded + tight.expanded)

    def narrow_tier(self) -> GridPlanner | None:
        """Return the narrow tier's planner (built on first use); None when it is no thinner."""
        if self._narrow is None and self.narrow_params is not None:
            thin = narrowed(self.costmap, self.narrow_params)
            if thin is not None:
                self._narrow = GridPlanner(thin, replace(self.params, shortcut=False))
        return self._narrow

    def _shortcut(self, path: list[Point]) -> list[Point]:
        """Shortcut a narrow path against the normal band (grid steps where it crosses it)."""
        if not self.params.shortcut or len(path) < 3:
            return path
        grid = self.costmap.grid
        points = shortcut(self.costmap.blocked, grid.world_to_grid(np.asarray(path, float)))
        return [(float(x), float(y)) for x, y in grid.grid_to_world(points)]
