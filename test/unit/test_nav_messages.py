"""Navigation message conversions and the exact-stamp join of inputs with odometry."""

import math

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from hypothesis import given
from hypothesis import strategies as st
from nav_msgs.msg import Odometry

from robo_edge.mapping.mapper import GridGeometry
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros.nav_messages import (
    ExactStampJoin,
    correction_from_msg,
    correction_msg,
    goal_pose,
    grid_from_msg,
    grid_msg,
    map_pose,
    odom_pose,
    path_msg,
    path_points,
    pose_from_list,
    pose_with_covariance_msg,
    quaternion_yaw,
    resample,
    yaw_quaternion,
)
from robo_edge.ros.stamps import from_msg

MS = 1_000_000


def test_grid_round_trip_keeps_cells_and_origin() -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(-1, 101, size=(7, 11)).astype(np.int8)
    grid = Grid(0.05, 11, 7, data, origin_x=-3.25, origin_y=4.5, origin_yaw=0.3)
    msg = grid_msg(grid, 1_500 * MS)
    assert from_msg(msg.header.stamp) == 1_500 * MS and msg.header.frame_id == 'map'
    assert (msg.info.width, msg.info.height) == (11, 7)
    assert list(msg.data) == data.ravel().tolist(), 'row-major, row 0 at the lowest y'
    back = grid_from_msg(msg)
    np.testing.assert_array_equal(back.data, data)
    assert (back.resolution, back.origin_x, back.origin_y) == (0.05, -3.25, 4.5)
    assert back.origin_yaw == pytest.approx(0.3)


@given(st.floats(-math.pi + 1e-6, math.pi - 1e-6))
def test_quaternion_yaw_round_trip(yaw: float) -> None:
    assert quaternion_yaw(yaw_quaternion(yaw)) == pytest.approx(yaw, abs=1e-9)


def test_path_msg_faces_along_and_ends_with_the_goal_yaw() -> None:
    points = [(0.0, 0.0), (1.0, 0.0), (1.0, 2.0)]
    msg = path_msg(points, goal_yaw=-1.0, stamp_ns=2_300 * MS)
    assert path_points(msg) == points
    assert msg.header.frame_id == 'map'
    assert all(from_msg(p.header.stamp) == 2_300 * MS for p in msg.poses)
    yaws = [quaternion_yaw(p.pose.orientation) for p in msg.poses]
    assert yaws == pytest.approx([0.0, math.pi / 2, -1.0])
    empty = path_msg([], 0.0, 5 * MS)
    assert empty.poses == [] and from_msg(empty.header.stamp) == 5 * MS


def test_odometry_becomes_a_map_pose_through_the_initial_pose() -> None:
    msg = Odometry()
    msg.pose.pose.position.x, msg.pose.pose.position.y = 1.0, 0.5
    msg.pose.pose.orientation = yaw_quaternion(0.25)
    odom = odom_pose(msg)
    assert (odom.x, odom.y, odom.yaw) == pytest.approx((1.0, 0.5, 0.25))
    pose = map_pose(Pose2D(2.0, -1.0, math.pi / 2), odom)
    assert (pose.x, pose.y, pose.yaw) == pytest.approx((1.5, 0.0, math.pi / 2 + 0.25))
    wrapped = map_pose(Pose2D(0.0, 0.0, 3.0), Pose2D(0.0, 0.0, 3.0))
    assert wrapped.yaw == pytest.approx(6.0 - 2 * math.pi)


def test_goal_pose_and_pose_parameters() -> None:
    msg = PoseStamped()
    msg.pose.position.x, msg.pose.position.y = 3.0, -2.0
    msg.pose.orientation = yaw_quaternion(-2.5)
    assert goal_pose(msg) == Pose2D(3.0, -2.0, pytest.approx(-2.5))
    assert pose_from_list([1, 2, 3], 'initial_pose') == Pose2D(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match='initial_pose'):
        pose_from_list([1.0, 2.0], 'initial_pose')


def test_resample_same_geometry_is_identity() -> None:
    data = np.arange(-1, 99, dtype=np.int8).reshape(10, 10)
    grid = Grid(0.1, 10, 10, data, -0.5, 0.25)
    out = resample(grid, GridGeometry(0.1, 10, 10, -0.5, 0.25))
    np.testing.assert_array_equal(out, data)


def test_resample_places_by_world_position_and_keeps_thin_walls() -> None:
    data = np.zeros((40, 40), dtype=np.int8)
    data[:, 21] = 100  # a one-cell wall at x in [1.05, 1.10) of a 0.05 m map
    grid = Grid(0.05, 40, 40, data, 0.0, 0.0)
    out = resample(grid, GridGeometry(0.1, 30, 30, -1.0, -1.0))
    assert out.shape == (30, 30)
    assert (out[:10, :] == -1).all() and (out[:, :10] == -1).all(), 'outside the source'
    assert (out[10:30, 20] == 100).all(), 'the wall falls in the 0.1 m column x in [1.0, 1.1)'
    assert (out[10:30, 10:20] == 0).all() and (out[10:30, 21:30] == 0).all()


def test_join_releases_on_the_exact_pose_in_stamp_order() -> None:
    join = ExactStampJoin(wait_s=0.3)
    assert join.add_item(100 * MS, 'scan100', now_wall_s=0.0)
    assert join.add_item(200 * MS, 'scan200', now_wall_s=0.0)
    join.add_pose(200 * MS, Pose2D(2, 0, 0))
    assert join.release(0.1) == [], 'scan100 waits, and scan200 waits behind it'
    join.add_pose(100 * MS, Pose2D(1, 0, 0))
    out = join.release(0.1)
    assert [(j.item, j.pose.x, j.late) for j in out] == [('scan100', 1, False),
                                                         ('scan200', 2, False)]
    assert not join.add_item(200 * MS, 'again', 0.2), 'not newer than the last released'
    assert join.pending == 0


def test_join_releases_an_overdue_item_with_the_newest_earlier_pose() -> None:
    join = ExactStampJoin(wait_s=0.3)
    join.add_pose(80 * MS, Pose2D(0.8, 0, 0))
    join.add_pose(120 * MS, Pose2D(1.2, 0, 0))
    join.add_item(100 * MS, 'scan', now_wall_s=10.0)
    assert join.release(10.29) == [], 'the wait is not over'
    (joined,) = join.release(10.31)
    assert joined.late and joined.pose_stamp_ns == 80 * MS and joined.pose.x == 0.8


def test_join_without_any_earlier_pose_releases_without_one() -> None:
    join = ExactStampJoin(wait_s=0.0)
    join.add_pose(300 * MS, Pose2D(3, 0, 0))
    join.add_item(100 * MS, 'scan', now_wall_s=0.0)
    (joined,) = join.release(0.01)
    assert joined.pose is None and joined.late


def test_join_with_corrections_waits_for_both_and_falls_back_to_the_previous_one() -> None:
    join = ExactStampJoin(wait_s=0.3, corrections=True)
    join.add_item(100 * MS, 'map100', now_wall_s=0.0)
    join.add_pose(100 * MS, Pose2D(1, 0, 0))
    assert join.release(0.1) == [], 'the correction at 100 ms is not here yet'
    join.add_correction(100 * MS, Pose2D(0.1, 0.0, 0.0))
    (joined,) = join.release(0.1)
    assert joined.correction == Pose2D(0.1, 0.0, 0.0) and not joined.late
    # The correction at 200 ms never comes: once overdue, the one at 100 ms is used.
    join.add_item(200 * MS, 'map200', now_wall_s=1.0)
    join.add_pose(200 * MS, Pose2D(2, 0, 0))
    assert join.release(1.2) == []
    (joined,) = join.release(1.31)
    assert joined.late and joined.pose_stamp_ns == 200 * MS
    assert (joined.correction, joined.correction_stamp_ns) == (Pose2D(0.1, 0.0, 0.0), 100 * MS)


def test_join_without_corrections_ignores_them() -> None:
    join = ExactStampJoin(wait_s=0.3)
    join.add_correction(100 * MS, Pose2D(0.1, 0.0, 0.0))
    join.add_item(100 * MS, 'scan', now_wall_s=0.0)
    join.add_pose(100 * MS, Pose2D(1, 0, 0))
    (joined,) = join.release(0.0)
    assert joined.correction is None and not joined.late


@given(x=st.floats(-100, 100), y=st.floats(-100, 100), yaw=st.floats(-math.pi, math.pi - 1e-6))
def test_correction_message_round_trips(x: float, y: float, yaw: float) -> None:
    msg = correction_msg(Pose2D(x, y, yaw), 1_500 * MS)
    assert (msg.header.frame_id, msg.child_frame_id) == ('map', 'odom')
    assert from_msg(msg.header.stamp) == 1_500 * MS
    back = correction_from_msg(msg)
    assert (back.x, back.y) == (x, y)
    assert math.remainder(back.yaw - yaw, math.tau) == pytest.approx(0.0, abs=1e-9)


def test_pose_with_covariance_puts_the_variances_on_x_y_yaw() -> None:
    msg = pose_with_covariance_msg(Pose2D(1.0, 2.0, 0.5), (0.01, 0.02, 0.003), 7 * MS)
    assert msg.header.frame_id == 'map' and msg.pose.pose.position.y == 2.0
    cov = list(msg.pose.covariance)
    assert (cov[0], cov[7], cov[35]) == (0.01, 0.02, 0.003) and sum(cov) == pytest.approx(0.033)
