"""The /safety/scan core: the virtual scan in the LiDAR's beams, and no-information scans."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.cross_check import BeamScan
from robo_edge.breakers.safety_scan import BeamLayout, no_information, rebin_virtual
from robo_edge.robot.kinematics import Pose2D

LAYOUT = BeamLayout()  # 360 beams from -pi, 1 degree each
ORIGIN = Pose2D(0.0, 0.0, 0.0)
FOV = math.radians(60.0)


def virtual(ranges: np.ndarray) -> BeamScan:
    """A camera-like virtual scan over +-30 degrees about base_link's x axis."""
    n = ranges.size
    return BeamScan(-FOV / 2, FOV / (n - 1), ranges.astype(np.float32), 0.1, 4.0, ORIGIN)


def beam_at(angle: float) -> int:
    return int(round((angle - LAYOUT.angle_min) / LAYOUT.angle_increment)) % LAYOUT.beams


def test_no_information_is_all_nan_in_the_lidar_layout() -> None:
    scan = no_information(LAYOUT)
    assert scan.ranges.shape == (360,) and np.all(np.isnan(scan.ranges))
    assert not scan.informative and scan.origin == 'none'


def test_obstacle_ahead_lands_on_the_forward_beam_and_only_the_fov_is_known() -> None:
    ranges = np.full(121, np.inf)
    ranges[60] = 1.5  # straight ahead
    scan = rebin_virtual(virtual(ranges), LAYOUT, ORIGIN)
    assert scan.origin == 'perception' and scan.informative
    assert scan.ranges[beam_at(0.0)] == np.float32(1.5)
    assert np.isposinf(scan.ranges[beam_at(math.radians(20))])  # seen, nothing there
    assert np.isnan(scan.ranges[beam_at(math.radians(90))])  # outside the camera's view
    assert np.isnan(scan.ranges[beam_at(math.pi)])
    known = np.flatnonzero(~np.isnan(scan.ranges))
    assert 55 <= known.size <= 63  # about 60 one-degree beams


def test_laser_mount_offset_moves_the_return_into_the_laser_frame() -> None:
    ranges = np.full(121, np.inf)
    ranges[60] = 1.5
    laser = Pose2D(0.2, 0.0, 0.0)  # laser 0.2 m ahead of base_link
    scan = rebin_virtual(virtual(ranges), LAYOUT, laser)
    assert scan.ranges[beam_at(0.0)] == np.float32(1.3)


def test_nan_virtual_beams_say_nothing() -> None:
    ranges = np.full(121, np.nan)
    assert not rebin_virtual(virtual(ranges), LAYOUT, ORIGIN).informative
    empty = BeamScan(0.0, 0.01, np.array([], dtype=np.float32))
    assert not rebin_virtual(empty, LAYOUT, ORIGIN).informative


def test_too_close_returns_stay_too_close() -> None:
    ranges = np.full(121, np.inf)
    ranges[60] = -np.inf
    scan = rebin_virtual(virtual(ranges), LAYOUT, ORIGIN)
    assert np.isneginf(scan.ranges[beam_at(0.0)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(0.1, 4.0), st.just(math.inf), st.just(math.nan)),
                min_size=3, max_size=200),
       st.floats(-0.3, 0.3), st.floats(-0.5, 0.5))
def test_every_known_beam_is_the_nearest_virtual_return_or_free(
        values: list[float], laser_x: float, laser_yaw: float) -> None:
    ranges = np.asarray(values)
    scan = rebin_virtual(virtual(ranges), LAYOUT, Pose2D(laser_x, 0.0, laser_yaw))
    finite = scan.ranges[np.isfinite(scan.ranges)]
    assert scan.ranges.shape == (LAYOUT.beams,) and scan.ranges.dtype == np.float32
    if finite.size:
        # A return moved by at most |laser_x| cannot come nearer or farther than that.
        real = ranges[np.isfinite(ranges)]
        assert finite.min() >= real.min() - abs(laser_x) - 1e-4
        assert finite.max() <= real.max() + abs(laser_x) + 1e-4
    if np.all(np.isnan(ranges)):
        assert not scan.informative
