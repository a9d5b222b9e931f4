"""Inflation: lethal and blocked bands match a brute-force distance check; cost and unknowns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.robot.grid import Grid

RES = 0.05


def grid_of(data: np.ndarray, res: float = RES) -> Grid:
    data = np.asarray(data, dtype=np.int8)
    return Grid(res, data.shape[1], data.shape[0], data)


def brute_clearance(obstacle: np.ndarray, res: float) -> np.ndarray:
    """Distance from every cell centre to the nearest obstacle cell centre, by brute force."""
    rows, cols = np.indices(obstacle.shape)
    orows, ocols = np.nonzero(obstacle)
    if orows.size == 0:
        return np.full(obstacle.shape, np.inf)
    d = np.hypot(rows[..., None] - orows, cols[..., None] - ocols).min(axis=-1)
    return d * res


def test_single_obstacle_makes_lethal_and_inflated_discs() -> None:
    data = np.zeros((41, 41))
    data[20, 20] = 100
    costmap = inflate(grid_of(data), InflationParams(robot_radius_m=0.2, margin_m=0.1))
    rows, cols = np.indices(data.shape)
    dist = np.hypot(rows - 20, cols - 20) * RES
    assert np.array_equal(costmap.lethal, dist <= 0.2 + 1e-9)
    assert np.array_equal(costmap.blocked, dist <= 0.3 + 1e-9)
    assert np.array_equal(costmap.inflated, (dist > 0.2 + 1e-9) & (dist <= 0.3 + 1e-9))
    assert costmap.blocked[20, 26] and not costmap.blocked[20, 27]


def test_cost_is_one_when_blocked_and_decays_with_clearance() -> None:
    data = np.zeros((5, 80))
    data[:, 0] = 100
    costmap = inflate(grid_of(data), InflationParams(0.2, 0.1, cost_falloff_m=0.5))
    row = costmap.cost[2]
    assert np.all(row[costmap.blocked[2]] == 1.0)
    free = row[~costmap.blocked[2]]
    assert np.all(np.diff(free) < 0)
    assert np.all((free > 0) & (free < 1))
    # e-folding over cost_falloff_m beyond the band.
    assert row[16] == pytest.approx(np.exp(-(16 * RES - 0.3) / 0.5), rel=1e-5)


def test_occupied_threshold_decides_obstacles() -> None:
    data = np.zeros((9, 9))
    data[4, 4] = 64
    params = InflationParams(0.1, 0.0, occupied_threshold=65)
    assert not inflate(grid_of(data), params).blocked.any()
    data[4, 4] = 65
    assert inflate(grid_of(data), params).lethal[4, 4]


def test_unknown_cells_are_obstacles_unless_declared_free() -> None:
    data = np.zeros((11, 11))
    data[5, 5] = -1
    blocked = inflate(grid_of(data), InflationParams(0.1, 0.05)).blocked
    assert blocked[5, 5] and blocked[5, 8] and not blocked[5, 9]
    free = inflate(grid_of(data), InflationParams(0.1, 0.05, unknown_is_free=True))
    assert not free.blocked.any()


def test_empty_grid_has_no_cost() -> None:
    costmap = inflate(grid_of(np.zeros((6, 7))), InflationParams(0.3))
    assert not costmap.blocked.any()
    assert np.all(costmap.cost == 0.0)
    assert np.all(np.isinf(costmap.clearance_m))


@settings(max_examples=60, deadline=None)
@given(cells=hnp.arrays(np.int8, st.tuples(st.integers(1, 24), st.integers(1, 24)),
                        elements=st.sampled_from([-1, 0, 0, 0, 0, 0, 30, 100])),
       radius=st.integers(0, 5), margin=st.integers(0, 3), unknown_free=st.booleans())
def test_bands_match_brute_force(cells: np.ndarray, radius: int, margin: int,
                                 unknown_free: bool) -> None:
    params = InflationParams(radius * RES, margin * RES, unknown_is_free=unknown_free)
    costmap = inflate(grid_of(cells), params)
    obstacle = (cells >= 65) | ((cells == -1) & (not unknown_free))
    clearance = brute_clearance(obstacle, RES)
    tol = 1e-9
    assert np.array_equal(costmap.obstacle, obstacle)
    assert np.array_equal(costmap.lethal, clearance <= radius * RES + tol)
    assert np.array_equal(costmap.blocked, clearance <= (radius + margin) * RES + tol)
    assert np.all(costmap.blocked[costmap.lethal])
    assert np.all((costmap.cost >= 0) & (costmap.cost <= 1))


@pytest.mark.parametrize('kwargs', [
    {'robot_radius_m': -0.1},
    {'robot_radius_m': float('nan')},
    {'robot_radius_m': 0.2, 'margin_m': -0.01},
    {'robot_radius_m': 0.2, 'cost_falloff_m': 0.0},
    {'robot_radius_m': 0.2, 'occupied_threshold': 0},
    {'robot_radius_m': 0.2, 'occupied_threshold': 101},
])
def test_params_are_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        InflationParams(**kwargs)


def test_full_size_grid_inflates() -> None:
    data = np.zeros((400, 400))
    data[::37, ::23] = 100
    costmap = inflate(grid_of(data), InflationParams(0.2, 0.1))
    assert costmap.blocked.sum() > costmap.obstacle.sum()
