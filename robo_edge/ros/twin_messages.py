"""Convert twin readings (plain dataclasses) into standard ROS 2 messages."""

import array

from geometry_msgs.msg import Quaternion
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan

from robo_edge.robot.kinematics import Pose2D, Velocity, yaw_to_quaternion
from robo_edge.ros.stamps import to_msg
from robo_edge.twin.readings import (
    CameraIntrinsics,
    GroundTruthReading,
    ImageReading,
    ImuReading,
    OdomReading,
    ScanReading,
)

FRAME_MAP = 'map'
FRAME_ODOM = 'odom'
FRAME_BASE = 'base_link'
FRAME_LASER = 'laser'
FRAME_CAMERA = 'camera_optical_frame'
FRAME_IMU = 'imu_link'


def scan_msg(reading: ScanReading) -> LaserScan:
    """Return a LaserScan in the `laser` frame."""
    msg = LaserScan()
    msg.header.stamp = to_msg(reading.stamp_ns)
    msg.header.frame_id = FRAME_LASER
    msg.angle_min = float(reading.angle_min)
    msg.angle_increment = float(reading.angle_increment)
    msg.angle_max = float(reading.angle_min + reading.angle_increment * (len(reading.ranges) - 1))
    msg.time_increment = 0.0
    msg.scan_time = float(reading.scan_time)
    msg.range_min = float(reading.range_min)
    msg.range_max = float(reading.range_max)
    msg.ranges = array.array('f', reading.ranges.tobytes())
    return msg


def image_msg(reading: ImageReading) -> Image:
    """Return an rgb8 Image in the camera's optical frame."""
    height, width, _ = reading.rgb.shape
    msg = Image()
    msg.header.stamp = to_msg(reading.stamp_ns)
    msg.header.frame_id = FRAME_CAMERA
    msg.height = height
    msg.width = width
    msg.encoding = 'rgb8'
    msg.is_bigendian = 0
    msg.step = width * 3
    msg.data = reading.rgb.tobytes()
    return msg


def camera_info_msg(stamp_ns: int, k: CameraIntrinsics) -> CameraInfo:
    """Return the CameraInfo of an undistorted pinhole render."""
    msg = CameraInfo()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = FRAME_CAMERA
    msg.width = k.width
    msg.height = k.height
    msg.distortion_model = 'plumb_bob'
    msg.d = [0.0] * 5
    msg.k = [k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [k.fx, 0.0, k.cx, 0.0, 0.0, k.fy, k.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def imu_msg(reading: ImuReading, gyro_std: float, accel_std: float) -> Imu:
    """Return an Imu message in imu_link with diagonal covariances from the noise model."""
    msg = Imu()
    msg.header.stamp = to_msg(reading.stamp_ns)
    msg.header.frame_id = FRAME_IMU
    msg.orientation = Quaternion(
        x=reading.orientation[0], y=reading.orientation[1],
        z=reading.orientation[2], w=reading.orientation[3],
    )
    msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (
        reading.angular_velocity
    )
    msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z = (
        reading.linear_acceleration
    )
    msg.orientation_covariance = _diagonal(0.01)
    msg.angular_velocity_covariance = _diagonal(gyro_std ** 2)
    msg.linear_acceleration_covariance = _diagonal(accel_std ** 2)
    return msg


def odometry_msg(reading: OdomReading | GroundTruthReading, frame_id: str) -> Odometry:
    """Return an Odometry of base_link in `frame_id` (odom for wheels, map for ground truth)."""
    msg = Odometry()
    msg.header.stamp = to_msg(reading.stamp_ns)
    msg.header.frame_id = frame_id
    msg.child_frame_id = FRAME_BASE
    _set_pose(msg, reading.pose)
    _set_twist(msg, reading.velocity)
    return msg


def _set_pose(msg: Odometry, pose: Pose2D) -> None:
    msg.pose.pose.position.x = pose.x
    msg.pose.pose.position.y = pose.y
    qx, qy, qz, qw = yaw_to_quaternion(pose.yaw)
    msg.pose.pose.orientation = Quaternion(x=qx, y=qy, z=qz, w=qw)


def _set_twist(msg: Odometry, velocity: Velocity) -> None:
    msg.twist.twist.linear.x = velocity.linear
    msg.twist.twist.angular.z = velocity.angular


def _diagonal(variance: float) -> list[float]:
    return [variance, 0.0, 0.0, 0.0, variance, 0.0, 0.0, 0.0, variance]
