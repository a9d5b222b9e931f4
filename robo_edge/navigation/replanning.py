"""The planner's replanning decisions (pure): keep the path, replan, or give the goal up.

A path is kept while the robot stays within `stray_m` of the rest of it and the rest is free
on the new costmap. A goal is unreachable when the search says so, or when it lies outside the
grid. A new path starts at the robot itself, also when the search snapped its start out of the
blocked band.
"""

import math
from collections.abc import Sequence

import numpy as np

from robo_edge.navigation.goals import nearest_segment
from robo_edge.planning.astar import GridPlanner, PlannerParams, PlanResult, PlanStatus
from robo_edge.planning.grid import Grid
from robo_edge.planning.inflation import CostMap, InflationParams, inflate
from robo_edge.planning.path_checks import distance_to_path, path_blocked
from robo_edge.twin.kinematics import Pose2D

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
