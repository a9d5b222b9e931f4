"""What the twin produces each step: plain, stamped readings that nodes turn into messages."""

from dataclasses import dataclass

import numpy as np

from robo_edge.robot.kinematics import Pose2D, Velocity


@dataclass(frozen=True)
class ScanReading:
    """Ranges in metres over [angle_min, angle_min + beams * increment); REP 117 inf/NaN."""

    stamp_ns: int
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    scan_time: float
    ranges: np.ndarray  # float32


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of the rendered image (pixel centres at integer coordinates)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


@dataclass(frozen=True)
class ImageReading:
    """An rgb8 image (height x width x 3) and, when asked for, PyBullet's body-id mask."""

    stamp_ns: int
    rgb: np.ndarray
    intrinsics: CameraIntrinsics
    segmentation: np.ndarray | None = None


@dataclass(frozen=True)
class ImuReading:
    """Angular velocity (rad/s), specific force including gravity (m/s^2), orientation (xyzw)."""

    stamp_ns: int
    angular_velocity: tuple[float, float, float]
    linear_acceleration: tuple[float, float, float]
    orientation: tuple[float, float, float, float]


@dataclass(frozen=True)
class OdomReading:
    """Wheel odometry: the pose of base_link in odom and the measured body twist."""

    stamp_ns: int
    pose: Pose2D
    velocity: Velocity


@dataclass(frozen=True)
class GroundTruthReading:
    """The true pose of base_link in the world (`map`) frame and its true twist."""

    stamp_ns: int
    pose: Pose2D
    velocity: Velocity


@dataclass(frozen=True)
class Collision:
    """The start of a contact between the robot and an obstacle."""

    stamp_ns: int
    robot: Pose2D
    contact_x: float
    contact_y: float
    obstacle: str


Reading = ScanReading | ImageReading | ImuReading | OdomReading | GroundTruthReading
