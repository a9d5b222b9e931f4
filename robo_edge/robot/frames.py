"""The robot's frames (REP 105) as transforms: the static mounts and the two moving links.

Pure: the static transforms come from the robot profile's mounts (base_link -> laser,
base_link -> camera_link -> camera_optical_frame), the moving ones from a planar pose
(map -> odom: the localiser's correction; odom -> base_link: odometry). Both the `/tf` of a
full ROS install (robo_edge/nodes/frames.py) and the live view's Foxglove `/tf` channel are
built from these, so they agree.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.spatial.transform import Rotation

from robo_edge.robot.profile import RobotProfile

FRAME_MAP = 'map'
FRAME_ODOM = 'odom'
FRAME_BASE = 'base_link'
FRAME_LASER = 'laser'
FRAME_CAMERA = 'camera_link'
FRAME_OPTICAL = 'camera_optical_frame'
# camera_link (x forward, z up) -> optical frame (z forward, x right, y down), as in the URDF.
OPTICAL_RPY = (-math.pi / 2, 0.0, -math.pi / 2)

Vector3 = tuple[float, float, float]
Quaternion = tuple[float, float, float, float]  # x, y, z, w


@dataclass(frozen=True, slots=True)
class Transform:
    """The pose of `child` in `parent` at `stamp_ns` (0 for a static transform)."""

    parent: str
    child: str
    translation: Vector3
    rotation: Quaternion
    stamp_ns: int = 0


def quaternion_from_rpy(roll: float, pitch: float, yaw: float) -> Quaternion:
    """Return the x, y, z, w quaternion of fixed-axis roll, pitch, yaw (URDF's `rpy`)."""
    x, y, z, w = Rotation.from_euler('xyz', [roll, pitch, yaw]).as_quat()
    return float(x), float(y), float(z), float(w)


def yaw_of(rotation: Quaternion) -> float:
    """Return the yaw (rad) of an x, y, z, w quaternion."""
    return float(Rotation.from_quat(rotation).as_euler('xyz')[2])


def planar(parent: str, child: str, x: float, y: float, yaw: float,
           stamp_ns: int = 0) -> Transform:
    """Return a transform in the plane: a translation (x, y) and a turn `yaw` about z."""
    return Transform(parent, child, (float(x), float(y), 0.0),
                     quaternion_from_rpy(0.0, 0.0, yaw), stamp_ns)


def mounted(parent: str, child: str, xyz: Sequence[float], rpy: Sequence[float]) -> Transform:
    """Return a static mount: `child` at `xyz` in `parent`, turned by fixed-axis `rpy`."""
    x, y, z = (float(v) for v in xyz)
    return Transform(parent, child, (x, y, z), quaternion_from_rpy(*(float(v) for v in rpy)))


def static_transforms(laser_mount: Sequence[float], camera_xyz: Sequence[float] | None,
                      camera_rpy: Sequence[float] | None = None) -> tuple[Transform, ...]:
    """Return the robot's static transforms.

    `laser_mount` is the profile's planar (x, y, yaw) of the laser in base_link (a 2D profile:
    height 0); the camera's are left out when `camera_xyz` is None (a robot without one).
    """
    x, y, yaw = (float(v) for v in laser_mount)
    transforms = [planar(FRAME_BASE, FRAME_LASER, x, y, yaw)]
    if camera_xyz is not None:
        transforms.append(mounted(FRAME_BASE, FRAME_CAMERA, camera_xyz,
                                  camera_rpy if camera_rpy is not None else (0.0, 0.0, 0.0)))
        transforms.append(mounted(FRAME_CAMERA, FRAME_OPTICAL, (0.0, 0.0, 0.0), OPTICAL_RPY))
    return tuple(transforms)


def profile_static_transforms(profile: RobotProfile) -> tuple[Transform, ...]:
    """Return the static transforms of a robot profile (no camera when its rate is 0)."""
    camera = profile.camera
    has_camera = camera.rate_hz > 0
    return static_transforms(profile.lidar.mount, camera.xyz if has_camera else None,
                             camera.rpy if has_camera else None)


def restamped(transform: Transform, stamp_ns: int) -> Transform:
    """Return `transform` with another stamp."""
    return Transform(transform.parent, transform.child, transform.translation,
                     transform.rotation, stamp_ns)
