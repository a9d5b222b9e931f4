"""Noise and bias models of the twin's sensors (pure numpy, seeded by the caller)."""

import math

import numpy as np

from robo_edge.robot.kinematics import Pose2D, Velocity, integrate, yaw_to_quaternion
from robo_edge.twin.config import ImuConfig, OdomConfig, ScanConfig

GRAVITY = 9.80665


def scan_ranges(
    hit_fraction: np.ndarray, hit: np.ndarray, config: ScanConfig, rng: np.random.Generator
) -> np.ndarray:
    """Turn ray-cast results into REP 117 ranges: +inf for no return, -inf when too close."""
    ranges = hit_fraction.astype(np.float64) * config.range_max
    if config.noise_std > 0:
        ranges = ranges + rng.normal(0.0, config.noise_std, ranges.shape)
    ranges = np.where(hit, ranges, np.inf)
    ranges = np.where(hit & (ranges < config.range_min), -np.inf, ranges)
    ranges = np.where(hit & (ranges > config.range_max), np.inf, ranges)
    return ranges.astype(np.float32)


class PixelNoise:
    """Gaussian intensity noise for rgb8 images, drawn from a seeded bank of noise frames.

    Drawing 230k normals per frame costs more than the add itself; a bank of frames picked
    and shifted at random per image keeps the statistics per pixel and costs a fraction.
    """

    BANK_SIZE = 8

    def __init__(self, std: float, shape: tuple[int, ...], rng: np.random.Generator) -> None:
        self._rng = rng
        self._std = std
        self._bank = [
            np.rint(rng.normal(0.0, std, shape)).astype(np.int16) for _ in range(self.BANK_SIZE)
        ] if std > 0 else []

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Return a noisy copy of the image (the image itself when the noise is off)."""
        if not self._bank:
            return rgb
        noise = self._bank[int(self._rng.integers(self.BANK_SIZE))]
        noise = np.roll(noise, int(self._rng.integers(noise.shape[1])), axis=1)
        return np.clip(rgb.astype(np.int16) + noise, 0, 255).astype(np.uint8)


class ImuModel:
    """Gyro and accelerometer with white noise, a per-run bias, and a gyro-integrated heading."""

    def __init__(self, config: ImuConfig, rng: np.random.Generator, start_yaw: float) -> None:
        self._config = config
        self._rng = rng
        self.gyro_bias = rng.normal(0.0, config.gyro_bias_std, 3)
        self.accel_bias = rng.normal(0.0, config.accel_bias_std, 3)
        self._yaw = start_yaw

    def measure(self, previous: Velocity, current: Velocity, dt: float) -> tuple:
        """Return (angular_velocity, linear_acceleration, orientation) for one IMU period."""
        cfg = self._config
        true_gyro = np.array([0.0, 0.0, current.angular])
        gyro = true_gyro + self.gyro_bias + self._rng.normal(0.0, cfg.gyro_noise_std, 3)
        forward = (current.linear - previous.linear) / dt if dt > 0 else 0.0
        true_accel = np.array([forward, current.linear * current.angular, GRAVITY])
        accel = true_accel + self.accel_bias + self._rng.normal(0.0, cfg.accel_noise_std, 3)
        self._yaw = math.remainder(self._yaw + float(gyro[2]) * dt, 2 * math.pi)
        return (
            tuple(float(v) for v in gyro),
            tuple(float(v) for v in accel),
            yaw_to_quaternion(self._yaw),
        )


class OdometryModel:
    """Dead reckoning from noisy wheel speeds; the odom frame starts at the start pose."""

    def __init__(self, config: OdomConfig, rng: np.random.Generator) -> None:
        self._config = config
        self._rng = rng
        self.pose = Pose2D(0.0, 0.0, 0.0)

    def update(self, velocity: Velocity, dt: float) -> Velocity:
        """Integrate one step of the true twist as the wheels measure it; return that."""
        cfg = self._config
        noise = self._rng.normal(0.0, 1.0, 2)
        measured = Velocity(
            velocity.linear * (1.0 + cfg.linear_noise_frac * noise[0]),
            velocity.angular * (1.0 + cfg.angular_noise_frac * noise[1]),
        )
        self.pose = integrate(self.pose, measured, dt)
        return measured
