"""Messages -> what the breakers observe: digests, validity, yaw rates, beam scans."""

import hashlib
import math

import numpy as np
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Image, Imu, LaserScan

from robo_edge.breakers.cross_check import BeamScan
from robo_edge.breakers.safety_scan import BeamLayout
from robo_edge.robot.kinematics import Pose2D

DIGEST_BYTES = 8


def digest(*parts: bytes) -> bytes:
    """Return a short digest of a payload (frozen-stream detection)."""
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    for part in parts:
        h.update(part)
    return h.digest()


def scan_ranges(msg: LaserScan) -> np.ndarray:
    """Return the ranges as float32."""
    return np.asarray(msg.ranges, dtype=np.float32)


def scan_valid(ranges: np.ndarray, max_nan_fraction: float) -> bool:
    """Return True for some beams with at most `max_nan_fraction` of them NaN."""
    return ranges.size > 0 and np.count_nonzero(np.isnan(ranges)) <= max_nan_fraction * ranges.size


def beam_scan(msg: LaserScan, ranges: np.ndarray, mount: Pose2D) -> BeamScan:
    """Return a LaserScan as the cross-check's BeamScan."""
    return BeamScan(msg.angle_min, msg.angle_increment, ranges, msg.range_min, msg.range_max,
                    mount)


def layout_of(msg: LaserScan, beams: int) -> BeamLayout:
    """Return the beam layout of a LiDAR scan."""
    return BeamLayout(msg.angle_min, msg.angle_increment, beams, msg.range_min, msg.range_max)


def image_valid(msg: Image) -> bool:
    """Return True when the image is whole: a size, and step x height bytes of data."""
    return msg.width > 0 and msg.height > 0 and len(msg.data) == msg.step * msg.height


def imu_payload(msg: Imu) -> tuple[bytes, bool, float]:
    """Return the IMU sample's digest, validity (all finite) and yaw rate."""
    w, a = msg.angular_velocity, msg.linear_acceleration
    values = np.array([w.x, w.y, w.z, a.x, a.y, a.z], dtype=np.float64)
    return digest(values.tobytes()), bool(np.all(np.isfinite(values))), float(w.z)


def odom_payload(msg: Odometry) -> tuple[bytes, bool, float]:
    """Return the odometry's digest, validity (pose and twist finite) and yaw rate."""
    p, q, t = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
    values = np.array([p.x, p.y, q.z, q.w, t.linear.x, t.angular.z], dtype=np.float64)
    return digest(values.tobytes()), bool(np.all(np.isfinite(values))), float(t.angular.z)


def command_valid(msg: TwistStamped) -> bool:
    """Return True when the command's speeds are finite."""
    return math.isfinite(msg.twist.linear.x) and math.isfinite(msg.twist.angular.z)

