"""Perception's agreement with the LiDAR during a canary run.

`beam_agreement` is pure: the fraction of LiDAR beams, inside the virtual scan's field of
view and within range, whose virtual (camera) range lies within a tolerance of the LiDAR's.
`AgreementMonitor` is the runner's monitor hook (RunOptions.monitor): it pairs each
/perception/scan with the newest validated LiDAR scan (/sensors/scan) close to it in time.
Both scans are taken as centred on the base; the LiDAR's mount offset is well inside the
tolerance.
"""

import threading
from dataclasses import dataclass

import numpy as np

TOLERANCE_M = 0.25
MAX_RANGE_M = 4.0
MAX_SKEW_NS = 200_000_000  # a pair's stamps at most this far apart


@dataclass(frozen=True)
class Scan:
    """A planar scan's geometry and ranges (from a LaserScan)."""

    stamp_ns: int
    angle_min: float
    angle_increment: float
    ranges: np.ndarray


def beam_agreement(virtual: Scan, lidar: Scan, tolerance: float = TOLERANCE_M,
                   max_range: float = MAX_RANGE_M) -> float | None:
    """Return the fraction of comparable beams that agree, None when none is comparable.

    A beam is comparable when the LiDAR sees a return within `max_range` and the beam lies
    in the virtual scan's field of view; a virtual "nothing" (inf, NaN, beyond max_range)
    there disagrees.
    """
    lidar_angles = lidar.angle_min + lidar.angle_increment * np.arange(lidar.ranges.size)
    lidar_angles = np.arctan2(np.sin(lidar_angles), np.cos(lidar_angles))
    offsets = (lidar_angles - virtual.angle_min) / virtual.angle_increment
    index = np.rint(offsets).astype(int)
    in_view = (index >= 0) & (index < virtual.ranges.size)
    seen = np.isfinite(lidar.ranges) & (lidar.ranges <= max_range)
    comparable = in_view & seen
    if not comparable.any():
        return None
    virtual_ranges = virtual.ranges[index[comparable]]
    agree = np.abs(np.nan_to_num(virtual_ranges, nan=np.inf) - lidar.ranges[comparable])
    return float(np.mean(agree <= tolerance))


class AgreementMonitor:
    """Collects per-frame agreement of perception's virtual scan with the LiDAR in a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lidar: Scan | None = None
        self.samples: list[float] = []

    def attach(self, node: object) -> None:
        """Subscribe on the runner's node (called before it spins)."""
        from sensor_msgs.msg import LaserScan  # noqa: PLC0415 - the canary's ROS side only

        from robo_edge.ros import qos  # noqa: PLC0415

        node.create_subscription(LaserScan, '/sensors/scan', self._on_lidar, qos.SENSOR)
        node.create_subscription(LaserScan, '/perception/scan', self._on_virtual, qos.SENSOR)

    def _on_lidar(self, msg: object) -> None:
        with self._lock:
            self._lidar = _scan(msg)

    def _on_virtual(self, msg: object) -> None:
        virtual = _scan(msg)
        with self._lock:
            lidar = self._lidar
        if lidar is None or abs(lidar.stamp_ns - virtual.stamp_ns) > MAX_SKEW_NS:
            return
        value = beam_agreement(virtual, lidar)
        if value is not None:
            with self._lock:
                self.samples.append(value)

    def mean(self) -> float | None:
        """Return the run's mean agreement, None when no frame could be compared."""
        with self._lock:
            return float(np.mean(self.samples)) if self.samples else None


def _scan(msg: object) -> Scan:
    stamp = msg.header.stamp
    return Scan(stamp.sec * 1_000_000_000 + stamp.nanosec, msg.angle_min, msg.angle_increment,
                np.asarray(msg.ranges, dtype=float))
