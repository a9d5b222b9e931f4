"""Log-odds mapper: a wall is occupied with free space before it, REP 117 ranges handled."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robo_edge.mapping.mapper import (
    GridGeometry,
    MapperParams,
    OccupancyMapper,
    centered_geometry,
    compose_pose,
    snapped_geometry,
)
from robo_edge.robot.kinematics import Pose2D

BEAMS = 360
ANGLE_MIN = -math.pi
INCREMENT = 2 * math.pi / BEAMS
RANGE_MIN, RANGE_MAX = 0.12, 12.0
ORIGIN = Pose2D(0.0, 0.0, 0.0)


def angles() -> np.ndarray:
    return ANGLE_MIN + INCREMENT * np.arange(BEAMS)


def wall_scan(wall_x: float) -> np.ndarray:
    """Ranges from the origin to a wall x = wall_x ahead; NaN elsewhere."""
    a = angles()
    ranges = np.full(BEAMS, np.nan)
    ahead = np.abs(a) < math.radians(40)
    ranges[ahead] = wall_x / np.cos(a[ahead])
    return ranges


def value_at(mapper: OccupancyMapper, x: float, y: float) -> int:
    cell = mapper.cell_of(x, y)
    assert cell is not None
    return int(mapper.occupancy()[cell])


def mapper_10m(**params: float) -> OccupancyMapper:
    return OccupancyMapper(centered_geometry(0.0, 0.0, 10.0, 0.05), MapperParams(**params))


def update(mapper: OccupancyMapper, ranges: np.ndarray, pose: Pose2D = ORIGIN) -> None:
    mapper.update(ranges, ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX, pose)


def test_wall_is_occupied_and_space_before_it_free() -> None:
    mapper = mapper_10m()
    for _ in range(3):
        update(mapper, wall_scan(2.02))
    for y in (-1.0, 0.0, 0.5, 1.2):
        assert value_at(mapper, 2.02, y) > 65
    for x, y in ((0.5, 0.0), (1.5, 0.0), (1.9, 1.0), (1.0, -0.5)):
        assert 0 <= value_at(mapper, x, y) < 35
    assert value_at(mapper, 3.0, 0.0) == -1  # behind the wall: never seen
    assert value_at(mapper, -1.0, 0.0) == -1  # NaN beams: ignored


def test_occupancy_is_row_major_with_rows_along_y() -> None:
    mapper = mapper_10m()
    a = angles()
    ranges = np.full(BEAMS, np.nan)
    ranges[np.argmin(np.abs(a - math.pi / 2))] = 2.02  # one beam straight up +y
    update(mapper, ranges)
    grid = mapper.occupancy()
    g = mapper.geometry
    assert grid.shape == (g.height, g.width) and grid.dtype == np.int8
    row, col = np.unravel_index(int(np.argmax(grid)), grid.shape)
    assert row == int((2.02 - g.origin_y) / g.resolution)
    assert col == int((0.0 - g.origin_x) / g.resolution)


def test_inf_clears_up_to_max_clear_range_without_marking() -> None:
    mapper = mapper_10m(max_clear_range=2.0)
    update(mapper, np.full(BEAMS, np.inf))
    grid = mapper.occupancy()
    assert grid.max() < 50
    assert value_at(mapper, 1.5, 0.0) < 50 and value_at(mapper, 0.0, -1.5) < 50
    assert value_at(mapper, 2.5, 0.0) == -1


def test_inf_clears_a_cell_a_previous_scan_marked() -> None:
    mapper = mapper_10m(max_clear_range=4.0)
    update(mapper, wall_scan(2.02))
    assert value_at(mapper, 2.02, 0.0) > 50
    for _ in range(5):
        update(mapper, np.full(BEAMS, np.inf))
    assert value_at(mapper, 2.02, 0.0) < 50


@pytest.mark.parametrize('value', [np.nan, -np.inf, 0.05, 20.0])
def test_invalid_and_out_of_range_beams_are_ignored(value: float) -> None:
    mapper = mapper_10m()
    stats = mapper.update(np.full(BEAMS, value), ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX,
                          ORIGIN)
    assert (mapper.occupancy() == -1).all()
    assert stats.hits == 0 and stats.free_cells == 0


def test_scan_from_a_moved_and_turned_laser() -> None:
    mapper = mapper_10m()
    pose = Pose2D(1.0, 1.0, math.pi / 2)  # facing +y: the wall scan hits y = 1 + 2.02
    for _ in range(3):
        update(mapper, wall_scan(2.02), pose)
    assert value_at(mapper, 1.0, 3.02) > 65
    assert value_at(mapper, 1.0, 2.0) < 35


def test_non_finite_pose_is_rejected() -> None:
    with pytest.raises(ValueError):
        update(mapper_10m(), wall_scan(2.0), Pose2D(math.nan, 0.0, 0.0))


def test_beams_leaving_the_grid_are_dropped() -> None:
    mapper = OccupancyMapper(GridGeometry(0.05, 40, 40, -1.0, -1.0))
    update(mapper, np.full(BEAMS, 5.0))
    grid = mapper.occupancy()
    assert grid.max() < 50 and (grid >= 0).any()


def test_seed_from_a_static_map() -> None:
    mapper = mapper_10m()
    g = mapper.geometry
    static = np.full((g.height, g.width), -1, dtype=np.int8)
    wall = mapper.cell_of(2.02, 0.0)
    free = mapper.cell_of(1.0, 0.0)
    assert wall is not None and free is not None
    static[wall] = 100
    static[free] = 0
    mapper.seed_from(static.ravel())
    grid = mapper.occupancy()
    assert grid[wall] > 90 and grid[free] < 15
    assert (grid == -1).sum() == g.width * g.height - 2
    with pytest.raises(ValueError):
        mapper.seed_from(np.zeros(10, dtype=np.int8))


def test_centered_geometry_holds_the_start_and_compose_pose() -> None:
    g = centered_geometry(3.0, -2.0, 20.0, 0.05)
    assert (g.width, g.height) == (400, 400)
    mapper = OccupancyMapper(g)
    assert mapper.cell_of(3.0, -2.0) == (200, 200)
    assert mapper.resolution == 0.05 and mapper.origin == (g.origin_x, g.origin_y)
    laser = compose_pose(Pose2D(1.0, 2.0, math.pi / 2), Pose2D(0.1, 0.0, 0.0))
    assert laser.x == pytest.approx(1.0) and laser.y == pytest.approx(2.1)


@given(x=st.floats(-50, 50), y=st.floats(-50, 50), ox=st.floats(-50, 50),
       oy=st.floats(-50, 50))
def test_snapped_geometry_lands_on_the_other_lattice_within_half_a_cell(
        x: float, y: float, ox: float, oy: float) -> None:
    g = centered_geometry(x, y, 10.0, 0.1)
    s = snapped_geometry(g, 0.1, ox, oy)
    assert (s.width, s.height, s.resolution) == (g.width, g.height, g.resolution)
    for moved, before, other in ((s.origin_x, g.origin_x, ox), (s.origin_y, g.origin_y, oy)):
        assert abs(moved - before) <= 0.05 + 1e-9
        steps = (moved - other) / 0.1
        assert abs(steps - round(steps)) < 1e-6
    assert snapped_geometry(g, 0.05, ox, oy) == g, 'another resolution: unchanged'


range_values = st.one_of(
    st.floats(-1.0, 30.0), st.just(math.inf), st.just(-math.inf), st.just(math.nan),
)


@settings(max_examples=60, deadline=None)
@given(
    ranges=hnp.arrays(np.float64, st.integers(0, 400), elements=range_values),
    x=st.floats(-8.0, 8.0), y=st.floats(-8.0, 8.0), yaw=st.floats(-10.0, 10.0),
    angle_min=st.floats(-4.0, 4.0), increment=st.floats(-0.1, 0.1),
)
def test_random_scans_never_raise_and_stay_in_range(
    ranges: np.ndarray, x: float, y: float, yaw: float, angle_min: float, increment: float,
) -> None:
    mapper = mapper_10m()
    for _ in range(2):
        mapper.update(ranges, angle_min, increment, RANGE_MIN, RANGE_MAX, Pose2D(x, y, yaw))
    grid = mapper.occupancy()
    assert grid.dtype == np.int8 and grid.shape == (200, 200)
    assert grid.min() >= -1 and grid.max() <= 100


def test_cells_keep_the_mean_position_of_their_returns() -> None:
    mapper = mapper_10m()
    # A wall on a cell edge (x = 2.0 with 0.05 m cells from -5): returns fall on both sides.
    update(mapper, wall_scan(2.0))
    occupied = np.flatnonzero(mapper.log_odds_view().ravel() > 0.4)
    points = mapper.hit_points(occupied)
    assert np.abs(points[:, 0] - 2.0).max() < 1e-6, 'not the cell centres (2.0 +- 0.025)'
    # A cell without returns (seeded from a static map) gives its centre.
    mapper = mapper_10m()
    (centre,) = mapper.hit_points(np.array([0]))
    assert tuple(centre) == pytest.approx((-5.0 + 0.025, -5.0 + 0.025))


def test_log_odds_view_is_read_only_and_live() -> None:
    mapper = mapper_10m()
    view = mapper.log_odds_view()
    with pytest.raises(ValueError):
        view[0, 0] = 1.0
    update(mapper, wall_scan(2.0))
    assert view.max() > 0.0
