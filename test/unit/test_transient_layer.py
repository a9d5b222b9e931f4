"""The short-lived obstacle layer the mapper lays over /map from a fallback source."""

import math

import numpy as np
import pytest

from robo_edge.mapping.mapper import GridGeometry
from robo_edge.mapping.transient import TransientLayer
from robo_edge.robot.grid import OCCUPIED, Grid
from robo_edge.robot.kinematics import Pose2D

S = 1_000_000_000
GEOMETRY = GridGeometry(0.1, 100, 100, -5.0, -5.0)
BEAMS = 61
ANGLE_MIN = -math.radians(30)
STEP = math.radians(1)


def unknown_grid() -> Grid:
    return Grid.filled(100, 100, 0.1, -1, origin_x=-5.0, origin_y=-5.0)


def camera_scan(wall_m: float | None) -> np.ndarray:
    """A forward 60-degree scan: a wall `wall_m` ahead on the middle beams, floor elsewhere."""
    ranges = np.full(BEAMS, np.inf)
    if wall_m is not None:
        ranges[25:36] = wall_m / np.cos(ANGLE_MIN + STEP * np.arange(25, 36))
    return ranges


def occupied(grid: Grid, x: float, y: float) -> bool:
    col, row = grid.world_to_cell(x, y)
    return grid.data[row, col] == OCCUPIED


def mark(layer: TransientLayer, stamp_ns: int, ranges: np.ndarray, x: float = 0.0) -> None:
    layer.mark(stamp_ns, ranges, ANGLE_MIN, STEP, 0.1, 4.0, Pose2D(x, 0.0, 0.0))


def test_what_the_camera_sees_lies_over_a_copy_of_the_map() -> None:
    layer, grid = TransientLayer(GEOMETRY, ttl_s=5.0, range_m=2.5), unknown_grid()
    assert layer.over(grid, 0) is grid and not layer
    mark(layer, 1 * S, camera_scan(2.0))
    over = layer.over(grid, 1 * S)
    assert occupied(over, 2.05, 0.0) and not occupied(over, 1.0, 0.0)
    assert np.all(grid.data == -1), 'the map itself is never written'
    assert np.all(over.data[over.data != -1] == OCCUPIED), 'only obstacles are laid over'
    assert layer.scans == 1


def test_a_phantom_is_cleared_by_frames_that_see_floor_through_it() -> None:
    layer, grid = TransientLayer(GEOMETRY), unknown_grid()
    mark(layer, 1 * S, camera_scan(1.0))  # one misread frame: an obstacle 1 m ahead
    assert occupied(layer.over(grid, 1 * S), 1.05, 0.0)
    for k in range(2, 6):  # the next frames see floor through it
        mark(layer, k * S, camera_scan(None), x=0.1 * k)
    assert not occupied(layer.over(grid, 5 * S), 1.05, 0.0)


def test_only_near_returns_enter_the_layer_and_far_ones_still_clear() -> None:
    layer, grid = TransientLayer(GEOMETRY, range_m=1.5), unknown_grid()
    mark(layer, 1 * S, camera_scan(1.2))
    assert occupied(layer.over(grid, 1 * S), 1.25, 0.0)
    mark(layer, 2 * S, camera_scan(3.0))  # misjudged from afar: not taken
    assert not occupied(layer.over(grid, 2 * S), 3.05, 0.0)
    for k in range(3, 7):  # backed off 1 m, the camera sees floor to 1.5 m: what it saw goes
        mark(layer, k * S, camera_scan(3.0), x=-1.0)
    assert not occupied(layer.over(grid, 6 * S), 1.25, 0.0)


def test_a_return_next_to_a_known_obstacle_is_that_obstacle() -> None:
    layer, grid = TransientLayer(GEOMETRY, range_m=2.5, explained_m=0.2), unknown_grid()
    col, _ = grid.world_to_cell(2.25, 0.0)
    grid.data[:, col] = OCCUPIED  # the map's wall, 0.2 m behind what the camera reads
    mark(layer, 1 * S, camera_scan(2.0))
    over = layer.over(grid, 1 * S)
    assert np.array_equal(over.data, grid.data), 'the wall, read short: nothing new'
    far = unknown_grid()
    col, _ = grid.world_to_cell(2.55, 0.0)
    far.data[:, col] = OCCUPIED  # a wall 0.5 m behind: the camera's obstacle is new
    assert occupied(layer.over(far, 1 * S), 2.05, 0.0)


def test_the_layer_expires_after_its_last_scan_and_on_a_clock_set_back() -> None:
    layer, grid = TransientLayer(GEOMETRY, ttl_s=2.0, range_m=2.5), unknown_grid()
    mark(layer, 10 * S, camera_scan(2.0))
    assert occupied(layer.over(grid, 12 * S), 2.05, 0.0)  # at the TTL: kept
    assert layer.over(grid, 12 * S + 1) is grid and not layer  # past it: dropped
    mark(layer, 10 * S, camera_scan(2.0))
    assert layer.over(grid, 3 * S) is grid and not layer  # stamped in the future
    mark(layer, 10 * S, camera_scan(2.0))
    layer.clear()
    assert layer.over(grid, 10 * S) is grid and layer.scans == 0


def test_bad_settings_and_a_grid_of_another_size_are_refused() -> None:
    for ttl in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match='ttl_s'):
            TransientLayer(GEOMETRY, ttl)
    for near in (0.0, math.inf):
        with pytest.raises(ValueError, match='range_m'):
            TransientLayer(GEOMETRY, range_m=near)
    with pytest.raises(ValueError, match='explained_m'):
        TransientLayer(GEOMETRY, explained_m=-0.1)
    layer = TransientLayer(GEOMETRY)
    mark(layer, 1 * S, camera_scan(1.0))
    with pytest.raises(ValueError, match='100x100'):
        layer.over(Grid.filled(50, 50, 0.1, -1), 1 * S)
