"""Virtual scan geometry: masks made by projecting known floor boundaries give their ranges."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.perception.virtual_scan import (
    CameraGeometry,
    Intrinsics,
    MountPose,
    ScanConfig,
    boundary_rows,
    column_grid,
    floor_margin_from_labels,
    virtual_scan,
)

# The twin's camera: 320x240, vertical FOV 58 degrees, centred principal point.
FOCAL = 120 / math.tan(math.radians(29))
CAMERA = Intrinsics(320, 240, FOCAL, FOCAL, 159.5, 119.5)
GEOMETRY = CameraGeometry(CAMERA.scaled(160, 120), MountPose())
CONFIG = ScanConfig(range_min=0.1, range_max=4.0, min_obstacle_rows=1)
GRID = column_grid(GEOMETRY, CONFIG)


def boundary_from_curve(geometry: CameraGeometry, curve_xy: np.ndarray) -> np.ndarray:
    """Return per column the image row of a floor curve, by projecting dense curve points."""
    uv = geometry.project(curve_xy)
    uv = uv[np.isfinite(uv).all(axis=1)]
    order = np.argsort(uv[:, 0])
    columns = np.arange(geometry.intrinsics.width, dtype=float)
    return np.interp(columns, uv[order, 0], uv[order, 1], left=np.nan, right=np.nan)


def soft_margin(rows: np.ndarray, height: int) -> np.ndarray:
    """A margin that is linear across the boundary, as a model's probabilities are."""
    i = np.arange(height, dtype=float)[:, None]
    return np.clip(i - rows[None, :], -1.0, 1.0).astype(np.float32)


def hard_margin(rows: np.ndarray, height: int) -> np.ndarray:
    i = np.arange(height, dtype=float)[:, None]
    return floor_margin_from_labels(i > rows[None, :])


def circle(radius: float) -> np.ndarray:
    bearings = np.linspace(-1.2, 1.2, 4001)
    return np.column_stack([radius * np.cos(bearings), radius * np.sin(bearings)])


def line(distance: float, normal: float) -> np.ndarray:
    t = np.linspace(-12, 12, 8001)
    n = np.array([math.cos(normal), math.sin(normal)])
    return distance * n + t[:, None] * np.array([-n[1], n[0]])


def test_grid_is_one_beam_per_column_and_symmetric():
    assert GRID.beams == 160
    assert GRID.angle_min == pytest.approx(-GRID.angle_max)
    half_fov = math.atan((80) / GEOMETRY.intrinsics.fx)
    assert 0.9 * half_fov < GRID.angle_max < half_fov


def test_scaled_intrinsics_keep_pixel_centres():
    point = np.array([[2.0, 0.7]])
    full = CameraGeometry(CAMERA, MountPose()).project(point)[0]
    half = GEOMETRY.project(point)[0]
    np.testing.assert_allclose(half, (full + 0.5) / 2 - 0.5, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(u=st.floats(0, 159), v=st.floats(55, 119), pitch=st.floats(0.2, 0.5),
       height=st.floats(0.25, 0.6), yaw=st.floats(-0.3, 0.3))
def test_floor_points_and_projection_are_inverse(u, v, pitch, height, yaw):
    geometry = CameraGeometry(GEOMETRY.intrinsics, MountPose(0.1, 0.05, height, 0.0, pitch, yaw))
    xy = geometry.floor_points(np.array([u]), np.array([v]))
    if not np.isfinite(xy).all():
        return  # above the horizon for this pitch
    np.testing.assert_allclose(geometry.project(xy)[0], [u, v], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(radius=st.floats(0.8, 3.8))
def test_a_circle_of_known_radius_gives_that_range_on_every_beam(radius):
    rows = boundary_from_curve(GEOMETRY, circle(radius))
    scan = virtual_scan(soft_margin(rows, 120), GEOMETRY, GRID, CONFIG)
    np.testing.assert_allclose(scan.ranges, radius, rtol=1e-4)
    np.testing.assert_allclose(np.hypot(*scan.points.T), radius, rtol=1e-4)


@settings(max_examples=40, deadline=None)
@given(distance=st.floats(0.9, 3.5), normal=st.floats(-0.5, 0.5))
def test_a_wall_at_known_distance_and_angle(distance, normal):
    rows = boundary_from_curve(GEOMETRY, line(distance, normal))
    scan = virtual_scan(soft_margin(rows, 120), GEOMETRY, GRID, CONFIG)
    expected = distance / np.cos(GRID.angles() - normal)
    clear = np.abs(expected - CONFIG.range_max) > 0.05 * CONFIG.range_max
    within = clear & (expected < CONFIG.range_max)
    beyond = clear & (expected > CONFIG.range_max)
    np.testing.assert_allclose(scan.ranges[within], expected[within], rtol=2e-3)
    assert np.isposinf(scan.ranges[beyond]).all()


def test_a_hard_mask_is_within_half_a_row_of_the_truth():
    radius = 2.5
    rows = boundary_from_curve(GEOMETRY, circle(radius))
    scan = virtual_scan(hard_margin(rows, 120), GEOMETRY, GRID, CONFIG)
    columns = np.arange(160.0)
    near = np.hypot(*GEOMETRY.floor_points(columns, rows + 0.5).T)
    far = np.hypot(*GEOMETRY.floor_points(columns, rows - 0.5).T)
    assert near.min() <= scan.ranges.min() and scan.ranges.max() <= far.max()
    assert np.median(np.abs(scan.ranges - radius)) < 0.5 * (far.max() - near.min())


def test_all_floor_is_inf_everywhere():
    scan = virtual_scan(np.ones((120, 160), np.float32), GEOMETRY, GRID, CONFIG)
    assert np.isposinf(scan.ranges).all() and len(scan.points) == 0


def test_obstacle_beyond_range_max_is_inf():
    rows = boundary_from_curve(GEOMETRY, circle(4.5))
    scan = virtual_scan(soft_margin(rows, 120), GEOMETRY, GRID, CONFIG)
    assert np.isposinf(scan.ranges).all()


def test_obstacle_covering_the_bottom_row_is_at_the_nearest_visible_floor():
    margin = -np.ones((120, 160), np.float32)
    scan = virtual_scan(margin, GEOMETRY, GRID, CONFIG)
    nearest = np.hypot(*GEOMETRY.floor_points(np.arange(160.0), np.full(160, 119.5)).T)
    assert nearest.min() - 1e-6 <= scan.ranges.min() and scan.ranges.max() <= nearest.max() + 1e-6
    assert 0.4 < scan.ranges.min() < 0.6  # the floor the URDF's camera sees first


def test_closer_than_range_min_is_minus_inf():
    margin = -np.ones((120, 160), np.float32)
    scan = virtual_scan(margin, GEOMETRY, GRID, ScanConfig(range_min=1.0, range_max=4.0))
    assert np.isneginf(scan.ranges).all() and len(scan.points) == 0


def test_isolated_non_floor_pixels_are_ignored_with_a_two_row_run():
    rows = boundary_from_curve(GEOMETRY, circle(3.0))
    margin = soft_margin(rows, 120)
    margin[110, 40:60] = -1.0  # one speckle row near the robot
    with_speckle = virtual_scan(margin, GEOMETRY, GRID, CONFIG)
    assert (with_speckle.ranges < 1.0).any()
    ignored = virtual_scan(margin, GEOMETRY, GRID, ScanConfig(0.1, 4.0, min_obstacle_rows=2))
    np.testing.assert_allclose(ignored.ranges, 3.0, rtol=1e-3)


def test_boundary_rows_sub_pixel_and_edge_cases():
    margin = np.array([[-1.0, 1.0, -1.0], [0.5, 1.0, -1.0], [1.0, 1.0, -1.0]], np.float32)
    rows = boundary_rows(margin)
    assert rows[0] == pytest.approx(1 - 0.5 / 1.5)  # crossing between rows 0 and 1
    assert math.isnan(rows[1])  # floor to the top
    assert rows[2] == 2.5  # obstacle at the bottom: the bottom edge


def test_resampling_never_leaves_gaps_inside_the_grid_for_a_pitched_yawed_camera():
    geometry = CameraGeometry(GEOMETRY.intrinsics, MountPose(0.2, -0.1, 0.5, 0.02, 0.45, 0.25))
    grid = column_grid(geometry, CONFIG)
    rows = boundary_from_curve(geometry, circle(2.0))
    scan = virtual_scan(soft_margin(rows, 120), geometry, grid, CONFIG)
    assert grid.angle_min > 0.25 - 0.7 and grid.angle_max < 0.25 + 0.7
    np.testing.assert_allclose(scan.ranges, 2.0, rtol=2e-3)


def test_mask_size_must_match_the_geometry():
    with pytest.raises(ValueError, match='margin is 320x240'):
        virtual_scan(np.ones((240, 320), np.float32), GEOMETRY, GRID, CONFIG)
