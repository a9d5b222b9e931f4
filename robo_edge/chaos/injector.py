"""Fault injection into the twin's readings, keyed on simulated time (pure, seeded).

Each sensor fault is one stage; stages run in the declared order, so two faults on one target
compose (a delayed stream can also be noisy). A stage only touches the readings of its target
whose stamp lies in [start, start + duration); ground truth is never touched (it is scoring).
Every stage draws from its own generator, `SeedSequence(seed, spawn_key=(CHAOS_KEY, index))`:
the same seed gives the same drops and noise, and the twin's own sensor noise streams (spawned
from the same seed without a key prefix) are not shifted by declaring a fault.
"""

import math
from collections import deque
from dataclasses import replace

import numpy as np

from robo_edge.chaos.camera_lies import camera_lie
from robo_edge.chaos.spec import NS_PER_S, FaultSpec
from robo_edge.robot.kinematics import Pose2D, Velocity
from robo_edge.twin.readings import (
    ImageReading,
    ImuReading,
    OdomReading,
    Reading,
    ScanReading,
)

CHAOS_KEY = 0xC4A05
TARGET_TYPES: dict[str, type] = {
    'lidar': ScanReading, 'camera': ImageReading, 'imu': ImuReading, 'odom': OdomReading,
}
NAN = float('nan')


class _Tally:
    """How many readings a fault changed, and the stamps of the first and last."""

    def __init__(self) -> None:
        self.affected = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None

    def hit(self, stamp_ns: int) -> None:
        self.affected += 1
        self.first_ns = stamp_ns if self.first_ns is None else self.first_ns
        self.last_ns = stamp_ns

    def report(self) -> dict[str, object]:
        return {
            'affected': self.affected,
            'first_affected_s': None if self.first_ns is None else self.first_ns / NS_PER_S,
            'last_affected_s': None if self.last_ns is None else self.last_ns / NS_PER_S,
        }


class _Stage:
    """A fault that changes (or removes) each target reading inside its window on its own."""

    def __init__(self, fault: FaultSpec, rng: np.random.Generator) -> None:
        self.fault = fault
        self.kind = TARGET_TYPES[fault.target]
        self.rng = rng
        self.tally = _Tally()

    def process(self, now_ns: int, readings: list[Reading]) -> list[Reading]:
        out: list[Reading] = []
        for reading in readings:
            if not isinstance(reading, self.kind):
                out.append(reading)
            elif not self.fault.active(reading.stamp_ns):
                self.observe(reading)
                out.append(reading)
            else:
                changed = self.affect(reading)
                if changed is not reading:
                    self.tally.hit(reading.stamp_ns)
                if changed is not None:
                    out.append(changed)
        return out

    def observe(self, reading: Reading) -> None:
        """See a target reading outside the window (freeze keeps the last one)."""

    def affect(self, reading: Reading) -> Reading | None:
        """Return the reading to publish instead (None: nothing; itself: unchanged)."""
        raise NotImplementedError

    def extra_report(self) -> dict[str, object]:
        return {}


class _Silence(_Stage):
    def affect(self, reading: Reading) -> Reading | None:
        return None


class _Drop(_Stage):
    def affect(self, reading: Reading) -> Reading | None:
        return None if self.rng.random() < self.fault.probability else reading


class _Freeze(_Stage):
    """Repeat the last payload seen before the window with each new stamp.

    When nothing was seen before (a window from t = 0), the first reading inside the window
    passes unchanged and becomes the frozen payload.
    """

    def __init__(self, fault: FaultSpec, rng: np.random.Generator) -> None:
        super().__init__(fault, rng)
        self.frozen: Reading | None = None

    def observe(self, reading: Reading) -> None:
        if reading.stamp_ns < self.fault.start_ns:
            self.frozen = reading

    def affect(self, reading: Reading) -> Reading | None:
        if self.frozen is None:
            self.frozen = reading
            return reading
        return replace(self.frozen, stamp_ns=reading.stamp_ns)


class _ClockSkew(_Stage):
    def affect(self, reading: Reading) -> Reading | None:
        return replace(reading, stamp_ns=reading.stamp_ns + round(self.fault.skew_s * NS_PER_S))


class _Noise(_Stage):
    def affect(self, reading: Reading) -> Reading | None:
        std, rng = self.fault.std, self.rng
        if isinstance(reading, ScanReading):
            ranges = reading.ranges.astype(np.float64)
            noisy = ranges + rng.normal(0.0, std, ranges.shape)
            return replace(reading, ranges=rep117(np.where(np.isfinite(ranges), noisy, ranges),
                                                  reading))
        if isinstance(reading, ImageReading):
            noise = np.rint(rng.normal(0.0, std, reading.rgb.shape))
            rgb = np.clip(reading.rgb.astype(np.float64) + noise, 0, 255).astype(np.uint8)
            return replace(reading, rgb=rgb)
        if isinstance(reading, ImuReading):
            n = rng.normal(0.0, std, 6)
            return replace(
                reading,
                angular_velocity=_added(reading.angular_velocity, n[:3]),
                linear_acceleration=_added(reading.linear_acceleration, n[3:]),
            )
        n = rng.normal(0.0, std, 2)
        pose = reading.pose
        return replace(reading, pose=Pose2D(pose.x + float(n[0]), pose.y + float(n[1]), pose.yaw))


class _Nan(_Stage):
    def affect(self, reading: Reading) -> Reading | None:
        fraction = self.fault.fraction
        if isinstance(reading, ScanReading):
            ranges = reading.ranges.astype(np.float32, copy=True)
            count = max(1, round(fraction * ranges.size))
            ranges[self.rng.choice(ranges.size, count, replace=False)] = np.nan
            return replace(reading, ranges=ranges)
        if self.rng.random() >= fraction:
            return reading
        if isinstance(reading, ImuReading):
            return replace(reading, angular_velocity=(NAN,) * 3, linear_acceleration=(NAN,) * 3,
                           orientation=(NAN,) * 4)
        return replace(reading, pose=Pose2D(NAN, NAN, NAN), velocity=Velocity(NAN, NAN))


class _Lie(_Stage):
    def affect(self, reading: Reading) -> Reading | None:
        if isinstance(reading, ImageReading):  # the segmentation (ground truth) stays true
            return replace(reading, rgb=camera_lie(reading.rgb, self.fault))
        value, constant = self.fault.value, self.fault.mode == 'constant'
        if isinstance(reading, ScanReading):
            ranges = reading.ranges.astype(np.float64)
            lied = np.full(ranges.shape, value) if constant else np.where(
                np.isfinite(ranges), ranges + value, ranges)
            return replace(reading, ranges=rep117(lied, reading))
        if isinstance(reading, ImuReading):
            wx, wy, wz = reading.angular_velocity
            return replace(reading, angular_velocity=(wx, wy, value if constant else wz + value))
        twist = reading.velocity
        angular = value if constant else twist.angular + value
        return replace(reading, velocity=Velocity(twist.linear, angular))


class _Delay(_Stage):
    """Hold target readings and release each at the first step with now >= stamp + delay_s.

    Released readings keep their stamps and their order: a reading after the window that
    arrives while earlier ones are still held waits behind them (a draining link never
    reorders), and counts as affected.
    """

    def __init__(self, fault: FaultSpec, rng: np.random.Generator) -> None:
        super().__init__(fault, rng)
        self.held: deque[tuple[int, Reading]] = deque()
        self.delay_ns = round(fault.delay_s * NS_PER_S)

    def process(self, now_ns: int, readings: list[Reading]) -> list[Reading]:
        out: list[Reading] = []
        for reading in readings:
            if not isinstance(reading, self.kind):
                out.append(reading)
            elif self.fault.active(reading.stamp_ns) or self.held:
                due = reading.stamp_ns + (
                    self.delay_ns if self.fault.active(reading.stamp_ns) else 0)
                self.held.append((due, reading))
                self.tally.hit(reading.stamp_ns)
            else:
                out.append(reading)
        while self.held and self.held[0][0] <= now_ns:
            out.append(self.held.popleft()[1])
        return out

    def extra_report(self) -> dict[str, object]:
        return {'held_at_end': len(self.held)}


STAGES: dict[str, type[_Stage]] = {
    'silence': _Silence, 'drop': _Drop, 'freeze': _Freeze, 'clock_skew': _ClockSkew,
    'noise': _Noise, 'nan': _Nan, 'lie': _Lie, 'delay': _Delay,
}


class FaultInjector:
    """Apply declared sensor faults to what the twin is about to publish.

    `kill` and `cut_link` faults are accepted and reported (injected_by the scenario runner or
    cloud sync) but change nothing here.
    """

    def __init__(self, faults: tuple[FaultSpec, ...] | list[FaultSpec], seed: int) -> None:
        self.faults = tuple(faults)
        self.stages: dict[int, _Stage] = {
            index: STAGES[fault.type](fault, _rng(seed, index))
            for index, fault in enumerate(self.faults) if fault.type in STAGES
        }

    def apply(self, now_ns: int, readings: list[Reading]) -> list[Reading]:
        """Return what to publish at simulated time `now_ns` instead of `readings`."""
        for stage in self.stages.values():
            readings = stage.process(now_ns, readings)
        return readings

    def report(self) -> list[dict[str, object]]:
        """One entry per declared fault, in declared order (the run record's `faults`)."""
        return [self._entry(index, fault) for index, fault in enumerate(self.faults)]

    def _entry(self, index: int, fault: FaultSpec) -> dict[str, object]:
        params = {k: v for k, v in fault.to_dict().items()
                  if k not in ('type', 'target', 'start_s', 'duration_s')}
        entry: dict[str, object] = {
            'index': index, 'type': fault.type, 'target': fault.target,
            'start_s': fault.start_s, 'duration_s': fault.duration_s,
            'params': {k: _json_safe(v) for k, v in params.items()},
            'injected_by': fault.injected_by,
        }
        stage = self.stages.get(index)
        if stage is None:
            return {**entry, 'affected': None, 'first_affected_s': None,
                    'last_affected_s': None}
        return {**entry, **stage.tally.report(), **stage.extra_report()}


def rep117(ranges: np.ndarray, scan: ScanReading) -> np.ndarray:
    """Map finite ranges outside [range_min, range_max] to -inf / +inf; return float32."""
    ranges = np.where(np.isfinite(ranges) & (ranges < scan.range_min), -np.inf, ranges)
    ranges = np.where(np.isfinite(ranges) & (ranges > scan.range_max), np.inf, ranges)
    return ranges.astype(np.float32)


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CHAOS_KEY, index)))


def _added(values: tuple[float, ...], noise: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) + float(n) for v, n in zip(values, noise, strict=True))


def _json_safe(value: object) -> object:
    """Non-finite floats as strings ('inf', '-inf'): the run record stays strict JSON."""
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value
