"""The short-lived obstacle layer the mapper lays over /map from a fallback source."""

import math

import numpy as np
import pytest

from robo_edge.mapping.transient import TransientLayer, scan_endpoints
from robo_edge.robot.grid import OCCUPIED, Grid
from robo_edge.robot.kinematics import Pose2D

S = 1_000_000_000


def empty_grid() -> Grid:
    return Grid.filled(100, 100, 0.1, -1, origin_x=-5.0, origin_y=-5.0)


def test_endpoints_are_the_returns_in_the_map_frame() -> None:
    ranges = np.array([np.nan, 1.0, np.inf, 0.05, 2.0, 99.0])
    laser = Pose2D(1.0, 2.0, math.pi / 2)
    points = scan_endpoints(ranges, 0.0, math.pi / 2, 0.1, 10.0, laser)
    # Beam 1 (+90 deg in the laser, facing +y: so -x in the map), beam 4 (360 deg): NaN, inf,
    # too close and beyond range are not returns.
    assert points == pytest.approx(np.array([[0.0, 2.0], [1.0, 4.0]]))


def test_the_layer_lies_over_a_copy_and_expires() -> None:
    layer = TransientLayer(ttl_s=2.0)
    grid = empty_grid()
    layer.mark(10 * S, np.array([[1.05, 1.05], [50.0, 0.0]]))  # the second is off the grid
    over = layer.over(grid, 11 * S)
    cell = grid.world_to_cell(1.05, 1.05)
    assert over.data[cell[1], cell[0]] == OCCUPIED
    assert np.count_nonzero(over.data != grid.data) == 1
    assert np.all(grid.data == -1), 'the grid itself is never written'
    assert layer.over(grid, 12 * S).data[cell[1], cell[0]] == OCCUPIED  # at the TTL: kept
    assert layer.over(grid, 12 * S + 1) is grid and len(layer) == 0  # past it: gone


def test_clear_and_a_clock_set_back_empty_the_layer() -> None:
    layer = TransientLayer(ttl_s=5.0)
    layer.mark(10 * S, np.array([[0.0, 0.0]]))
    layer.clear()
    assert len(layer) == 0 and layer.live(10 * S).shape == (0, 2)
    layer.mark(10 * S, np.array([[0.0, 0.0]]))
    assert layer.live(3 * S).shape == (0, 2) and len(layer) == 0  # stamped in the future


def test_a_negative_or_infinite_ttl_is_refused() -> None:
    for ttl in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match='ttl_s'):
            TransientLayer(ttl)
