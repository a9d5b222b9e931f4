"""Narrow tier: a doorway the safety band closes is crossed at the band's edge, never closer."""

import numpy as np
import pytest

from robo_edge.navigation.replanning import PathKeeper
from robo_edge.planning.astar import GridPlanner, PlannerParams, PlanStatus
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.planning.narrow import NarrowParams, TieredPlanner, narrowed
from robo_edge.planning.path_checks import path_blocked
from robo_edge.robot.grid import Grid

RES = 0.1
RADIUS, MARGIN = 0.2, 0.15


def wall_with_door(door_cells: int, width: int = 40, height: int = 30) -> np.ndarray:
    """A wall across the middle row band with a doorway of `door_cells` free cells."""
    data = np.zeros((height, width), np.int8)
    data[14:16, :] = 100
    left = (width - door_cells) // 2
    data[14:16, left:left + door_cells] = 0
    return data


def costmap(data: np.ndarray, margin: float = MARGIN):
    grid = Grid(RES, data.shape[1], data.shape[0], data)
    return inflate(grid, InflationParams(RADIUS, margin))


START, GOAL = (2.0, 0.7), (2.0, 2.3)  # either side of the wall


def test_a_door_the_band_closes_is_crossed_on_the_narrow_tier() -> None:
    cmap = costmap(wall_with_door(6))  # 0.6 m of free cells: the 0.35 m band closes it
    assert GridPlanner(cmap).plan(START, GOAL).status is PlanStatus.UNREACHABLE
    result = TieredPlanner(cmap, narrow=NarrowParams(0.05)).plan(START, GOAL)
    assert result.status is PlanStatus.OK and result.narrow
    thin = narrowed(cmap, NarrowParams(0.05))
    assert path_blocked(thin, result.path) is None  # never inside radius + 0.05 m
    # The path goes through the doorway, not round the end of the wall (there is none).
    ys = [y for _, y in result.path]
    assert min(ys) < 1.4 < 1.6 < max(ys)
    assert result.length_m == pytest.approx(
        sum(np.hypot(*np.diff(np.array(result.path), axis=0).T)))


def test_the_band_is_entered_only_where_it_must_be() -> None:
    cmap = costmap(wall_with_door(6))
    result = TieredPlanner(cmap, narrow=NarrowParams(0.05)).plan((0.6, 0.6), (3.4, 2.4))
    assert result.narrow
    coords = cmap.grid.world_to_grid(np.array(result.path))
    # Dense samples along the path: those inside the normal band lie near the doorway.
    samples = np.concatenate([np.linspace(a, b, 20)
                              for a, b in zip(coords[:-1], coords[1:], strict=True)])
    cols, rows = np.floor(samples).astype(int).T
    inside = cmap.blocked[rows, cols]
    assert inside.any()
    assert np.all(np.abs(rows[inside] + 0.5 - 15.0) <= (RADIUS + MARGIN) / RES + 1)
    assert np.all(np.abs(cols[inside] + 0.5 - 20.0) <= 2)  # near the doorway's middle


def test_a_wide_door_keeps_the_normal_tier() -> None:
    cmap = costmap(wall_with_door(10))
    result = TieredPlanner(cmap, narrow=NarrowParams(0.05)).plan(START, GOAL)
    assert result.status is PlanStatus.OK and not result.narrow
    assert path_blocked(cmap, result.path) is None


def test_a_door_too_narrow_for_the_robot_stays_unreachable() -> None:
    cmap = costmap(wall_with_door(4))  # 0.4 m: the robot (0.4 m) plus 0.05 m each side won't fit
    result = TieredPlanner(cmap, narrow=NarrowParams(0.05)).plan(START, GOAL)
    assert result.status is PlanStatus.UNREACHABLE and not result.path
    assert result.expanded >= 0


def test_no_tier_without_params_or_when_it_is_no_thinner() -> None:
    cmap = costmap(wall_with_door(6))
    assert TieredPlanner(cmap).plan(START, GOAL).status is PlanStatus.UNREACHABLE
    assert narrowed(cmap, NarrowParams(MARGIN)) is None
    assert TieredPlanner(cmap, narrow=NarrowParams(0.2)).plan(START, GOAL).status \
        is PlanStatus.UNREACHABLE


def test_a_goal_inside_the_band_is_reached_on_the_narrow_tier() -> None:
    data = np.zeros((20, 20), np.int8)
    data[:, 15:] = 100  # a wall at x >= 1.5
    cmap = costmap(data)
    goal = (1.22, 1.0)  # 0.28 m from the wall: inside the 0.35 m band, outside 0.25 m
    assert GridPlanner(cmap).plan((0.5, 1.0), goal).status is PlanStatus.GOAL_BLOCKED
    result = TieredPlanner(cmap, narrow=NarrowParams(0.05)).plan((0.5, 1.0), goal)
    assert result.status is PlanStatus.OK and result.narrow


@pytest.mark.parametrize('kwargs', [{'margin_m': -0.1}, {'margin_m': float('nan')},
                                    {'band_cost': 0.5}, {'band_cost': float('inf')}])
def test_narrow_params_are_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        NarrowParams(**kwargs)


def test_a_kept_narrow_path_is_judged_on_the_narrow_tier() -> None:
    cmap = costmap(wall_with_door(6))
    keeper = PathKeeper(PlannerParams(), 0.5, NarrowParams(0.05))
    keeper.replan(keeper.planner(cmap), START, GOAL, 0)
    assert keeper.narrow and keeper.path
    assert path_blocked(cmap, keeper.path) is not None  # the normal band would replan it
    assert not keeper.needs_replan(cmap, START, 0)
    keeper.clear()
    assert not keeper.narrow and keeper.needs_replan(cmap, START, 0)
