"""The robot's frames: static mounts from the profile, the moving links, and /tf's feature check.

/tf and /tf_static need tf2_msgs, which has no PyPI wheel: here the frames node takes the
'not importable' path for real. Its publishing path runs only on a full ROS install.
"""

import math
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nav_msgs.msg import Odometry
from scipy.spatial.transform import Rotation

from robo_edge.robot import frames
from robo_edge.robot.profile import load_profile, node_parameters
from robo_edge.ros import tf

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / 'config' / 'robot' / 'default.yaml'


def _rotate(transform: frames.Transform, vector: list[float]) -> np.ndarray:
    return Rotation.from_quat(transform.rotation).apply(vector)


def test_the_default_robot_has_a_laser_a_camera_and_its_optical_frame() -> None:
    laser, camera, optical = frames.profile_static_transforms(load_profile(DEFAULT))
    assert (laser.parent, laser.child) == ('base_link', 'laser')
    assert laser.translation == (0.0, 0.0, 0.0) and laser.rotation == (0.0, 0.0, 0.0, 1.0)
    assert (camera.parent, camera.child) == ('base_link', 'camera_link')
    assert camera.translation == pytest.approx((0.12, 0.0, 0.42))
    # pitched 0.35 rad down: its x axis points forward and below the horizon
    forward = _rotate(camera, [1.0, 0.0, 0.0])
    assert forward == pytest.approx([math.cos(0.35), 0.0, -math.sin(0.35)])
    assert (optical.parent, optical.child) == ('camera_link', 'camera_optical_frame')
    # REP 103 optical: z along the view, x right, y down
    assert _rotate(optical, [0, 0, 1]) == pytest.approx([1, 0, 0], abs=1e-12)
    assert _rotate(optical, [1, 0, 0]) == pytest.approx([0, -1, 0], abs=1e-12)
    assert _rotate(optical, [0, 1, 0]) == pytest.approx([0, 0, -1], abs=1e-12)


def test_a_mounted_laser_and_a_robot_without_camera() -> None:
    profile = load_profile(DEFAULT)
    blind = replace(profile, camera=replace(profile.camera, rate_hz=0),
                    lidar=replace(profile.lidar, mount=(0.1, -0.05, math.pi)))
    (laser,) = frames.profile_static_transforms(blind)
    assert laser.translation == pytest.approx((0.1, -0.05, 0.0))
    assert _rotate(laser, [1, 0, 0]) == pytest.approx([-1, 0, 0], abs=1e-12)


def test_the_frames_and_live_view_parameters_give_the_profiles_transforms() -> None:
    for path in sorted((REPO / 'config' / 'robot').glob('*.yaml')):
        profile = load_profile(path)
        params = node_parameters(profile)
        expected = frames.profile_static_transforms(profile)
        assert tf.frame_values_static(params['frames']) == expected, path.name
        assert tf.frame_values_static(params['live_view']) == expected, path.name


@given(x=st.floats(-100, 100), y=st.floats(-100, 100), yaw=st.floats(-math.pi, math.pi))
def test_a_planar_transform_keeps_its_position_and_heading(x: float, y: float,
                                                          yaw: float) -> None:
    t = frames.planar('map', 'odom', x, y, yaw, 7)
    assert t.translation == (x, y, 0.0) and t.stamp_ns == 7
    assert math.isclose(math.remainder(frames.yaw_of(t.rotation) - yaw, math.tau), 0.0,
                        abs_tol=1e-9)
    assert math.isclose(sum(q * q for q in t.rotation), 1.0)


@dataclass
class FakeTFMessage:
    """Stands for tf2_msgs/TFMessage, which cannot be imported here."""

    transforms: list


def test_transforms_become_transform_stamped_in_a_tf_message() -> None:
    statics = frames.static_transforms([0.0, 0.0, 0.0], [0.12, 0.0, 0.42], [0.0, 0.35, 0.0])
    msg = tf.tf_message(FakeTFMessage, statics, stamp_ns=2_500_000_000)
    assert [(m.header.frame_id, m.child_frame_id) for m in msg.transforms] == [
        ('base_link', 'laser'), ('base_link', 'camera_link'),
        ('camera_link', 'camera_optical_frame')]
    camera = msg.transforms[1]
    assert (camera.header.stamp.sec, camera.header.stamp.nanosec) == (2, 500_000_000)
    assert camera.transform.translation.z == pytest.approx(0.42)
    assert camera.transform.rotation.y == pytest.approx(statics[1].rotation[1])
    odom = Odometry()
    odom.header.stamp.sec = 4
    odom.pose.pose.position.x, odom.pose.pose.orientation.w = 1.25, 1.0
    out = tf.odometry_tf(odom)
    assert (out.header.frame_id, out.child_frame_id) == ('odom', 'base_link')
    assert out.header.stamp.sec == 4 and out.transform.translation.x == 1.25
    assert odom.header.frame_id == ''  # the odometry message is left as it was


FORCED_ABSENT = ("import sys; sys.modules['tf2_msgs'] = None\n"
                 'from robo_edge.nodes.frames import main\nraise SystemExit(main())')


def _run(code: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(code, capture_output=True, text=True, timeout=60, check=False)


def test_without_tf2_msgs_the_frames_node_says_so_and_exits_cleanly() -> None:
    # forced absent, so the path is taken on a full ROS install too
    done = _run([sys.executable, '-c', FORCED_ABSENT])
    assert done.returncode == 0, done.stderr
    assert tf.UNAVAILABLE in done.stderr


def test_here_tf2_msgs_is_really_absent_and_the_executable_exits_0() -> None:
    if tf.tf_message_type() is not None:
        pytest.skip('tf2_msgs is importable: the publishing path runs instead')
    done = _run([sys.executable, '-m', 'robo_edge.nodes.frames'])
    assert done.returncode == 0, done.stderr
    assert tf.UNAVAILABLE in done.stderr
