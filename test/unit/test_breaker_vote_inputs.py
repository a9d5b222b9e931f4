"""What sensor_guard keeps for the motion vote: the earlier scan by travel, the disputed points."""

import math

import numpy as np
from test_breaker_cross_check import ORIGIN, lidar_scan, virtual_scan, with_ranges

from robo_edge.breakers.vote_inputs import VoteInputs
from robo_edge.breakers.votes import VoteConfig
from robo_edge.robot.kinematics import Pose2D

MS = 1_000_000
PHANTOM = slice(26, 38)  # the middle beams of the camera's 64: a box painted 1.3 m ahead


def painted(scan):
    ranges = scan.ranges.copy()
    ranges[PHANTOM] = 1.3
    return with_ranges(scan, ranges)


def drive(camera, speed, seconds, start_x=-1.5):
    """Feed odometry (50 Hz) and virtual scans (10 Hz) of a robot driving along +x."""
    inputs = VoteInputs(VoteConfig(), ORIGIN)
    for k in range(round(seconds * 50) + 1):
        stamp, pose = k * 20 * MS, Pose2D(start_x + speed * k / 50, 0.0, 0.0)
        inputs.add_odom(stamp, pose)
        if k % 5 == 0:
            inputs.add_virtual(stamp, camera(virtual_scan(pose)))
    return inputs, stamp, pose


def test_a_phantom_is_voted_down_while_the_robot_slows_in_front_of_it():
    # 0.2 m/s: 0.12 m in the 0.6 s window, too little; the earlier scan is taken 0.3 m back
    inputs, slot, pose = drive(painted, 0.2, 2.0)
    vote = inputs.votes(slot, lidar_scan(pose)).motion
    assert vote.agrees is False, vote
    assert vote.samples >= 8
    assert math.isclose(vote.value, 0.3, abs_tol=0.05)


def test_walls_the_lidar_corroborates_do_not_vote():
    inputs, slot, pose = drive(lambda scan: scan, 0.5, 2.0)
    vote = inputs.votes(slot, lidar_scan(pose)).motion
    assert vote.agrees is None  # the camera sees nothing the LiDAR does not
    blind = with_ranges(lidar_scan(pose), np.full(360, math.inf))
    vote = inputs.votes(slot, blind).motion
    assert vote.agrees is True, vote  # nothing corroborated: all of it stayed put
    assert vote.samples >= 10


def test_no_motion_vote_before_the_robot_has_travelled_far_enough():
    inputs, slot, pose = drive(painted, 0.05, 3.0)  # 0.15 m within the 3 s it looks back
    assert inputs.votes(slot, lidar_scan(pose)).motion.agrees is None


def test_a_camera_frame_from_before_a_turn_is_compared_where_the_base_now_holds_it():
    # The camera frame is 33 ms older than the LiDAR scan; the base turned 0.3 rad between.
    from robo_edge.breakers.cross_check import ScanCheckConfig, ScanVerdict, compare_scans

    then, now = Pose2D(-1.0, 0.3, 0.0), Pose2D(-1.0, 0.3, 0.3)
    inputs = VoteInputs(VoteConfig(), ORIGIN)
    inputs.add_odom(0, then)
    inputs.add_odom(33 * MS, now)
    camera = virtual_scan(then)
    raw = compare_scans(lidar_scan(now), camera, ScanCheckConfig())
    assert raw.verdict is ScanVerdict.VIRTUAL_SUSPECT  # the old comparison blamed the camera
    moved = inputs.seen_from(0, camera, 33 * MS)
    assert math.isclose(moved.mount.yaw, -0.3)
    assert math.isclose(moved.mount.x, 0.15 * math.cos(0.3))
    fair = compare_scans(lidar_scan(now), moved, ScanCheckConfig())
    assert fair.verdict is ScanVerdict.AGREE and fair.median_abs_diff < 0.05
    # Without odometry for a stamp, the scan is compared as it is.
    assert VoteInputs(VoteConfig(), ORIGIN).seen_from(0, camera, 33 * MS) is camera
