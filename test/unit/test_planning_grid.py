"""Grid geometry and the OccupancyGrid layout: conversions, bounds, flat round trips."""

import array
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.exceptions import GridError
from robo_edge.robot.grid import Grid

finite = st.floats(-50, 50, allow_nan=False)


def test_cell_centres_without_rotation() -> None:
    grid = Grid.filled(4, 3, 0.5, origin_x=1.0, origin_y=2.0)
    assert grid.cell_to_world(0, 0) == pytest.approx((1.25, 2.25))
    assert grid.cell_to_world(3, 2) == pytest.approx((2.75, 3.25))
    assert grid.world_to_cell(1.0, 2.0) == (0, 0)
    assert grid.world_to_cell(0.99, 2.0) == (-1, 0)
    assert grid.world_to_cell(2.99, 3.49) == (3, 2)


def test_rotated_origin_turns_the_grid_about_its_corner() -> None:
    grid = Grid.filled(4, 3, 1.0, origin_x=1.0, origin_y=2.0, origin_yaw=math.pi / 2)
    # Cell columns run along +y of the map frame, rows along -x.
    assert grid.cell_to_world(0, 0) == pytest.approx((0.5, 2.5))
    assert grid.cell_to_world(2, 0) == pytest.approx((0.5, 4.5))
    assert grid.cell_to_world(0, 1) == pytest.approx((-0.5, 2.5))
    assert grid.world_to_cell(0.5, 4.5) == (2, 0)


@settings(max_examples=60, deadline=None)
@given(col=st.integers(-5, 60), row=st.integers(-5, 60), ox=finite, oy=finite,
       yaw=st.floats(-math.pi, math.pi), res=st.floats(0.01, 2.0))
def test_cell_world_round_trip(col: int, row: int, ox: float, oy: float, yaw: float,
                               res: float) -> None:
    grid = Grid.filled(50, 40, res, origin_x=ox, origin_y=oy, origin_yaw=yaw)
    x, y = grid.cell_to_world(col, row)
    assert grid.world_to_cell(x, y) == (col, row)
    assert grid.in_bounds(col, row) == (0 <= col < 50 and 0 <= row < 40)


@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.tuples(finite, finite), min_size=1, max_size=8),
       yaw=st.floats(-math.pi, math.pi))
def test_world_grid_transforms_are_inverse(points: list, yaw: float) -> None:
    grid = Grid.filled(5, 5, 0.1, origin_x=-3.0, origin_y=4.0, origin_yaw=yaw)
    back = grid.grid_to_world(grid.world_to_grid(np.array(points)))
    np.testing.assert_allclose(back, np.array(points), atol=1e-9)


def test_flat_layout_is_occupancy_grid_row_major() -> None:
    flat = [0, 1, 2, 3, 4, 5, -1, 100, 50, 7, 8, 9]
    grid = Grid.from_flat(flat, width=4, height=3, resolution=0.05)
    assert grid.data[0, 3] == 3
    assert grid.data[1, 2] == -1
    assert grid.data[1, 3] == 100
    assert grid.data.dtype == np.int8
    assert grid.to_flat() == flat


@settings(max_examples=40, deadline=None)
@given(w=st.integers(1, 12), h=st.integers(1, 12), data=st.data())
def test_flat_round_trip(w: int, h: int, data: st.DataObject) -> None:
    flat = data.draw(st.lists(st.integers(-1, 100), min_size=w * h, max_size=w * h))
    grid = Grid.from_flat(flat, w, h, 0.1, 1.0, -2.0, 0.5)
    again = Grid.from_flat(grid.to_flat(), w, h, 0.1, 1.0, -2.0, 0.5)
    assert again.to_flat() == flat
    assert np.array_equal(again.data, grid.data)


def test_from_flat_takes_the_message_array_type() -> None:
    grid = Grid.from_flat(array.array('b', [0, -1, 100, 0]), 2, 2, 0.5)
    assert grid.to_flat() == [0, -1, 100, 0]


@pytest.mark.parametrize('flat, w, h', [
    ([0, 0, 0], 2, 2),
    ([0, 0, 0, 101], 2, 2),
    ([0, 0, 0, -2], 2, 2),
    ([0.5, 0, 0, 0], 2, 2),
    ([], 0, 0),
])
def test_from_flat_rejects_inconsistent_data(flat: list, w: int, h: int) -> None:
    with pytest.raises(GridError):
        Grid.from_flat(flat, w, h, 0.05)


@pytest.mark.parametrize('kwargs', [
    {'resolution': 0.0},
    {'resolution': math.nan},
    {'data': np.zeros((3, 2), np.int8)},
    {'data': np.zeros((2, 3), np.int16)},
])
def test_grid_rejects_bad_fields(kwargs: dict) -> None:
    fields = {'resolution': 0.1, 'width': 3, 'height': 2, 'data': np.zeros((2, 3), np.int8)}
    fields.update(kwargs)
    with pytest.raises(GridError):
        Grid(**fields)


def test_grid_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Grid.filled(0, 3, 0.1)
