"""Perception's agreement with the LiDAR, beam by beam (pure)."""

import math

import numpy as np

from robo_edge.canary.agreement import Scan, beam_agreement

LIDAR = Scan(0, -math.pi, 2 * math.pi / 360, np.full(360, 2.0))


def virtual(ranges: np.ndarray) -> Scan:
    """A 60-degree virtual scan, centred ahead, one beam per degree."""
    return Scan(0, -math.radians(30), math.radians(1), ranges)


def test_matching_ranges_agree_and_missed_obstacles_do_not() -> None:
    assert beam_agreement(virtual(np.full(61, 2.1)), LIDAR) == 1.0
    assert beam_agreement(virtual(np.full(61, np.inf)), LIDAR) == 0.0  # sees nothing
    half = np.where(np.arange(61) < 30, 2.0, np.nan)
    assert 0.4 < beam_agreement(virtual(half), LIDAR) < 0.6


def test_beams_the_lidar_sees_nothing_on_are_not_compared() -> None:
    far = Scan(0, LIDAR.angle_min, LIDAR.angle_increment, np.full(360, np.inf))
    assert beam_agreement(virtual(np.full(61, 2.0)), far) is None
