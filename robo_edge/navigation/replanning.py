"""The planner's replanning decisions (pure): keep the path, replan, or give the goal up.

A path is kept while the robot stays within `stray_m` of the rest of it and the rest is free
on the new costmap. A goal is unreachable when the search says so, or when it lies outside the
grid. A new path starts at the robot itself, also when the search snapped its start out of the
blocked band.
"""

import math
import time
from collections.abc import Sequence

import numpy as np

from robo_edge.navigation.goals import nearest_segment
from robo_edge.planning.astar import GridPlanner, PlannerParams, PlanResult, PlanStatus
from robo_edge.planning.inflation import CostMap, InflationParams, inflate
from robo_edge.planning.narrow import NarrowParams, TieredPlanner, narrowed
from robo_edge.planning.path_checks import distance_to_path, path_blocked
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D

FAILING = (PlanStatus.UNREACHABLE, PlanStatus.GOAL_BLOCKED)
WARM_UP_CELLS = 400  # the mapper's default grid (40 m at 0.1 m)
Point = tuple[float, float]


def goal_unreachable(costmap: CostMap, goal: Pose2D, result: PlanResult) -> bool:
    """Whether the search result gives the goal up (failed, or the goal off the grid)."""
    if result.status in FAILING:
        return True
    grid = costmap.grid
    return result.status is PlanStatus.OUT_OF_BOUNDS and not grid.in_bounds(
        *grid.world_to_cell(goal.x, goal.y))


def path_still_good(costmap: CostMap, path: Sequence[Point], along: int, robot: Point,
                    stray_m: float) -> tuple[bool, int]:
    """Return (whether the path can be kept, the index of the segment the robot is on)."""
    along = nearest_segment(path, robot, along)
    if distance_to_path(path[along:], robot) > stray_m:
        return False, along
    # While the robot itself is inside the blocked band, the segment it is on cannot be
    # free: judge the rest of the path.
    grid = costmap.grid
    col, row = grid.world_to_cell(*robot)
    inside = grid.in_bounds(col, row) and bool(costmap.blocked[row, col])
    return path_blocked(costmap, path, along + int(inside)) is None, along


def anchored_path(path: Sequence[Point], robot: Point) -> list[Point]:
    """Return the path starting at the robot (its start may have been snapped away)."""
    points = list(path)
    if points and math.dist(points[0], robot) > 1e-6:
        points.insert(0, robot)
    elif points:
        points[0] = robot
    return points


def warm_up_planner(inflation: InflationParams, params: PlannerParams) -> None:
    """Plan once on a small empty grid, so imports and first calls are paid before t = 0.

    In lockstep the first real plan must arrive within the controller's bounded wait.
    """
    size = WARM_UP_CELLS
    grid = Grid(0.1, size, size, np.zeros((size, size), dtype=np.int8))
    GridPlanner(inflate(grid, inflation), params).plan((0.5, 0.5), (size * 0.1 - 0.5, 1.0))


class PathKeeper:
    """The current path, the goal it leads to, and how its last search went."""

    def __init__(self, params: PlannerParams, stray_m: float,
                 narrow: NarrowParams | None = None) -> None:
        self.params = params
        self.stray_m = stray_m
        self.narrow_params = narrow
        self.narrow = False  # the path crosses the safety band: it is judged on the narrow tier
        self.path: list[Point] = []
        self.goal_index: int | None = None
        self.along = 0
        self.plan_ms = 0.0
        self.last_status = 'none'

    def needs_replan(self, costmap: CostMap, robot: Point, index: int) -> bool:
        """Whether goal `index` needs a new path (none, another goal's, blocked or strayed)."""
        if not self.path or self.goal_index != index:
            return True
        if self.narrow and self.narrow_params is not None:
            costmap = narrowed(costmap, self.narrow_params) or costmap
        good, self.along = path_still_good(costmap, self.path, self.along, robot,
                                           self.stray_m)
        return not good

    def planner(self, costmap: CostMap) -> TieredPlanner:
        """Return a planner for `costmap` with this keeper's tiers."""
        return TieredPlanner(costmap, self.params, self.narrow_params)

    def replan(self, planner: TieredPlanner, robot: Point, goal: Point,
               index: int) -> PlanResult:
        """Search a path from the robot to goal `index` and keep it (empty when none)."""
        start = time.perf_counter()
        result = planner.plan(robot, goal)
        self.plan_ms = (time.perf_counter() - start) * 1e3
        self.last_status = result.status.value
        self.narrow = result.narrow
        self.path = anchored_path(result.path, robot)
        self.goal_index, self.along = (index if self.path else None), 0
        return result

    def clear(self) -> None:
        """Drop the path (no goal left)."""
        self.path, self.goal_index, self.narrow = [], None, False

    def rest(self, robot: Point) -> list[Point]:
        """Return the path still ahead, from the robot; empty without a path."""
        return [robot] + self.path[self.along + 1:] if self.path else []
