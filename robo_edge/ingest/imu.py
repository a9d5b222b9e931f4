"""Validation of IMU samples: finite values, a unit quaternion, a plausible gravity magnitude.

Per REP 145 a covariance whose element 0 is -1 marks its quantity as not provided; such a
quantity is not checked.
"""

import math
from dataclasses import dataclass

import numpy as np

from robo_edge.ingest.verdict import ACCEPT, DropReason, Verdict, drop

STANDARD_GRAVITY = 9.80665
_NOT_PROVIDED = -1.0


@dataclass(frozen=True, slots=True)
class ImuFrame:
    """The values of a sensor_msgs/Imu; vectors are (x, y, z) and the quaternion (x, y, z, w)."""

    orientation: np.ndarray
    orientation_covariance: np.ndarray
    angular_velocity: np.ndarray
    angular_velocity_covariance: np.ndarray
    linear_acceleration: np.ndarray
    linear_acceleration_covariance: np.ndarray


@dataclass(frozen=True, slots=True)
class ImuLimits:
    """The accepted band of |linear_acceleration| and the tolerance on the quaternion norm."""

    gravity_min: float = 7.0
    gravity_max: float = 12.5
    quaternion_tolerance: float = 0.01

    def __post_init__(self) -> None:
        """Reject an empty gravity band."""
        if not self.gravity_min < self.gravity_max:
            raise ValueError(f'gravity_min {self.gravity_min} must be below gravity_max '
                             f'{self.gravity_max}')


def provided(covariance: np.ndarray) -> bool:
    """Return False when a covariance marks its quantity as not provided (REP 145)."""
    return len(covariance) == 0 or float(covariance[0]) != _NOT_PROVIDED


def validate_imu(frame: ImuFrame, limits: ImuLimits) -> Verdict:
    """Return ACCEPT or why the sample is unusable."""
    has_orientation = provided(frame.orientation_covariance)
    has_acceleration = provided(frame.linear_acceleration_covariance)
    values = _checked_values(frame)
    if np.isnan(values).any():
        return drop(DropReason.NAN, f'{int(np.count_nonzero(np.isnan(values)))} NaN values')
    if not np.isfinite(values).all():
        return drop(DropReason.NON_FINITE, 'infinite values')
    if has_orientation:
        norm = math.hypot(*(float(v) for v in frame.orientation))
        if abs(norm - 1.0) > limits.quaternion_tolerance:
            return drop(DropReason.QUATERNION, f'orientation quaternion norm {norm:.4f}')
    if has_acceleration:
        gravity = math.hypot(*(float(v) for v in frame.linear_acceleration))
        if not limits.gravity_min <= gravity <= limits.gravity_max:
            return drop(
                DropReason.GRAVITY,
                f'|linear_acceleration| {gravity:.2f} m/s^2 outside '
                f'{limits.gravity_min:.2f}..{limits.gravity_max:.2f}',
            )
    return ACCEPT


def imu_values(frame: ImuFrame) -> np.ndarray:
    """Return every value of the sample as one float64 array (what the frozen check hashes)."""
    return np.concatenate(
        [
            np.asarray(frame.orientation, dtype=np.float64),
            np.asarray(frame.angular_velocity, dtype=np.float64),
            np.asarray(frame.linear_acceleration, dtype=np.float64),
        ]
    )


def _checked_values(frame: ImuFrame) -> np.ndarray:
    pairs = (
        (frame.orientation, frame.orientation_covariance),
        (frame.angular_velocity, frame.angular_velocity_covariance),
        (frame.linear_acceleration, frame.linear_acceleration_covariance),
    )
    parts = [np.asarray(cov, dtype=np.float64).ravel() for _, cov in pairs]
    parts += [np.asarray(v, dtype=np.float64).ravel() for v, cov in pairs if provided(cov)]
    return np.concatenate(parts)
