"""The IMU / odometry cross-check: their yaw rates over a window (pure).

A gyro does not slip and wheels do: a disagreement opens `blame` (odometry by default).
"""

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from robo_edge.breakers.faults import NS_PER_S, Fault, Source, TripReason
from robo_edge.breakers.params import param


@dataclass(frozen=True, slots=True)
class YawCheckConfig:
    """Thresholds of the IMU / odometry yaw-rate comparison."""

    window_s: float = param(1.0, 'window of the mean |difference| (s)', 0.01)
    max_mean_abs_diff: float = param(0.2, 'fault above this mean |yaw rate difference| '
                                          '(rad/s; 0: off)', 0.0)
    min_samples: int = param(10, 'odometry samples needed in the window', 1)
    blame: Source = param(Source.ODOMETRY, 'the breaker a disagreement opens')


class YawRateCrossCheck:
    """Windowed mean |IMU yaw rate - odometry yaw rate|; a Detector (attach it to `blame`)."""

    def __init__(self, config: YawCheckConfig) -> None:
        self.config = config
        self._window_ns = round(config.window_s * NS_PER_S)
        self._imu: deque[tuple[int, float]] = deque()
        self._odom: deque[tuple[int, float]] = deque()

    def on_imu(self, stamp_ns: int, yaw_rate: float) -> None:
        """Record an IMU yaw rate (rad/s) at its stamp."""
        self._add(self._imu, stamp_ns, yaw_rate)

    def on_odom(self, stamp_ns: int, yaw_rate: float) -> None:
        """Record an odometry yaw rate (rad/s) at its stamp."""
        self._add(self._odom, stamp_ns, yaw_rate)

    def mean_abs_diff(self, now_ns: int) -> tuple[float, int]:
        """Return the mean |difference| over the window and the samples it used (NaN: none)."""
        oldest = now_ns - self._window_ns
        imu = [(t, w) for t, w in self._imu if t >= oldest]
        if len(imu) < 2:
            return math.nan, 0
        t_imu = np.array([t for t, _ in imu], dtype=np.float64)
        w_imu = np.array([w for _, w in imu])
        odom = [(t, w) for t, w in self._odom if t_imu[0] <= t <= t_imu[-1]]
        if not odom:
            return math.nan, 0
        t_odom = np.array([t for t, _ in odom], dtype=np.float64)
        w_odom = np.array([w for _, w in odom])
        diff = np.abs(np.interp(t_odom, t_imu, w_imu) - w_odom)
        return float(diff.mean()), len(odom)

    def check(self, now_ns: int) -> Fault | None:
        """Return CROSS_CHECK when the rates disagree over the window."""
        limit = self.config.max_mean_abs_diff
        if limit <= 0:
            return None
        mean, samples = self.mean_abs_diff(now_ns)
        if samples < self.config.min_samples or not mean > limit:
            return None
        return Fault(TripReason.CROSS_CHECK, f'IMU and odometry yaw rates differ by {mean:.2f} '
                                             f'rad/s on average over {samples} samples')

    def _add(self, queue: deque[tuple[int, float]], stamp_ns: int, value: float) -> None:
        if not math.isfinite(value):
            return  # invalid readings are the stream detectors' business
        queue.append((stamp_ns, value))
        oldest = stamp_ns - 2 * self._window_ns
        while queue and queue[0][0] < oldest:
            queue.popleft()
