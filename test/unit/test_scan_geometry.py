"""Scan geometry: REP 117 ranges to base_link points, nearest obstacle ahead, rear clearance."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from robo_edge.control.scan_geometry import (
    ScanLayout,
    looks_along,
    nearest_distance,
    rear_clearance,
    scan_points,
)
from robo_edge.robot.kinematics import Pose2D

BEAMS = 360
LAYOUT = ScanLayout(-math.pi, 2 * math.pi / BEAMS, 0.12, 12.0)


def beam(angle_deg: float) -> int:
    """Index of the beam pointing at `angle_deg` in the laser frame."""
    index = round((math.radians(angle_deg) - LAYOUT.angle_min) / LAYOUT.angle_increment)
    return int(index) % BEAMS


def ranges_with(hits: dict[float, float] | None = None) -> np.ndarray:
    """All beams without a return (+inf) except {angle_deg: range} ones."""
    ranges = np.full(BEAMS, np.inf, dtype=np.float32)
    for angle, value in (hits or {}).items():
        ranges[beam(angle)] = value
    return ranges


def test_points_land_in_base_link() -> None:
    x, y = scan_points(ranges_with({0: 1.0, 90: 2.0, -90: 0.5}), LAYOUT)
    points = sorted(zip(np.round(x, 6), np.round(y, 6), strict=True))
    assert points == [(0.0, -0.5), (0.0, 2.0), (1.0, 0.0)]


def test_invalid_and_out_of_span_ranges_are_dropped() -> None:
    ranges = ranges_with({0: 1.0})
    ranges[beam(10)] = np.nan
    ranges[beam(20)] = -np.inf
    ranges[beam(30)] = 0.05  # below range_min
    ranges[beam(40)] = 20.0  # beyond range_max
    x, y = scan_points(ranges, LAYOUT)
    assert x.tolist() == pytest.approx([1.0]) and y.tolist() == pytest.approx([0.0], abs=1e-9)


def test_too_close_returns_kept_at_range_min_on_request() -> None:
    ranges = ranges_with()
    ranges[beam(0)] = -np.inf
    x, y = scan_points(ranges, LAYOUT, keep_too_close=True)
    assert x.tolist() == pytest.approx([0.12]) and y.tolist() == pytest.approx([0.0], abs=1e-9)


def test_mounting_offset_moves_the_points() -> None:
    x, y = scan_points(ranges_with({0: 1.0}), LAYOUT, laser=Pose2D(0.1, 0.0, math.pi / 2))
    assert (float(x[0]), float(y[0])) == pytest.approx((0.1, 1.0))


def test_nearest_distance_ahead_only_by_default_sector() -> None:
    x, y = scan_points(ranges_with({0: 2.0, 180: 0.5, 45: 1.5}), LAYOUT)
    assert nearest_distance(x, y) == pytest.approx(0.5)  # whole circle
    assert nearest_distance(x, y, math.pi / 2) == pytest.approx(1.5)  # ahead half only
    assert nearest_distance(x, y, math.radians(10)) == pytest.approx(2.0)
    assert nearest_distance(np.zeros(0), np.zeros(0)) is None


def test_rear_clearance_behind_the_disc() -> None:
    x, y = scan_points(ranges_with({180: 1.0, 0: 0.3}), LAYOUT)
    assert rear_clearance(x, y, 0.2, 12.0) == pytest.approx(0.8)
    # A point beside (outside the swept strip) does not block the way back.
    x, y = scan_points(ranges_with({90: 0.5}), LAYOUT)
    assert rear_clearance(x, y, 0.2, 12.0) == 12.0
    x, y = scan_points(ranges_with({180: 0.15}), LAYOUT)
    assert rear_clearance(x, y, 0.2, 12.0) == 0.0


@given(arrays(np.float32, BEAMS, elements=st.floats(width=32), fill=st.sampled_from(
    [np.nan, np.inf, -np.inf, 0.0, 0.5, 30.0])))
def test_every_point_is_finite_and_within_the_span(ranges: np.ndarray) -> None:
    x, y = scan_points(ranges, LAYOUT)
    distance = np.hypot(x, y)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    assert ((distance >= LAYOUT.range_min - 1e-6) & (distance <= LAYOUT.range_max + 1e-6)).all()


def test_looks_along_says_whether_a_bearing_holds_information() -> None:
    full = ScanLayout(-math.pi, 2 * math.pi / 360, 0.1, 10.0)
    camera = np.full(360, np.nan)
    camera[150:211] = np.inf  # a virtual scan: ahead only, nothing within range there
    assert looks_along(camera, full, 0.0) and not looks_along(camera, full, math.pi)
    assert looks_along(np.full(360, np.inf), full, math.pi)  # inf: looked, nothing there
    assert looks_along(np.full(360, 2.0), full, -math.pi)  # the last step wraps to beam 0
    front = ScanLayout(-math.pi / 2, math.pi / 180, 0.1, 10.0)  # 181 beams, no rear
    assert looks_along(np.ones(181), front, 0.0) and not looks_along(np.ones(181), front, math.pi)
    # A laser mounted backwards looks behind the base with its forward beam.
    assert looks_along(np.ones(181), front, math.pi, Pose2D(0.0, 0.0, math.pi))
    descending = ScanLayout(math.pi / 2, -math.pi / 180, 0.1, 10.0)
    ranges = np.full(181, np.nan)
    ranges[90] = 1.0
    assert looks_along(ranges, descending, 0.0) and not looks_along(ranges, descending, 0.5)
    assert not looks_along(np.zeros(0), full, 0.0)
