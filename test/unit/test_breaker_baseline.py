"""The baseline monitor (topic_state_monitor / source_timeout style): same interface, less."""

import math

import numpy as np
from breaker_streams import MS, T0, S

from robo_edge.breakers.baseline import BaselineConfig, BaselineGuard, TopicMonitor
from robo_edge.breakers.cross_check import BeamScan
from robo_edge.breakers.faults import BreakerState, Source, TripReason
from robo_edge.breakers.guard import BreakerGuard, GuardConfig
from robo_edge.breakers.mode import Mode
from robo_edge.health.report import Level

RATES = {Source.LIDAR: 10, Source.CAMERA: 15, Source.IMU: 100, Source.ODOMETRY: 50,
         Source.PERCEPTION: 10, Source.CONTROLLER: 20}


def drive(guard, seconds, lidar_on=lambda t: True, lidar_digest=None):
    """Every source on its schedule (the LiDAR when `lidar_on`); update at 100 Hz.

    Return the (time, mode, obstacle source) of every mode change.
    """
    changes = []
    for k in range(int(seconds * 100)):
        now = T0 + k * 10 * MS
        for source, rate in RATES.items():
            if k % (100 // rate) or (source is Source.LIDAR and not lidar_on(now)):
                continue
            digest = k.to_bytes(4, 'little')
            if source is Source.LIDAR and lidar_digest:
                digest = lidar_digest(now, digest)
            guard.on_message(source, now, now, digest)
        out = guard.update(now)
        if out.mode.changed:
            changes.append((now - T0, out.mode.mode, out.selection.source))
    return changes


def test_a_silent_lidar_stops_the_baseline_after_its_1_s_timeout_and_nothing_falls_back():
    baseline = BaselineGuard(BaselineConfig(), T0)
    changes = drive(baseline, 8.0, lambda t: t < T0 + 5 * S)
    assert changes == [(5910 * MS, Mode.SAFE_STOP, None)]  # last scan at 4.9 s, > 1 s later
    status = baseline.update(T0 + 8 * S).statuses[Source.LIDAR]
    assert status.state is BreakerState.OPEN
    assert status.last_trip.reason is TripReason.SILENCE


def test_the_breakers_open_in_a_third_of_the_time_and_fall_back():
    guard = BreakerGuard(GuardConfig(), T0)
    changes = drive(guard, 8.0, lambda t: t < T0 + 5 * S)
    assert changes == [(5260 * MS, Mode.DEGRADED, Source.PERCEPTION)]  # 4.9 s + 360 ms


def test_a_slow_flapper_toggles_the_baseline_but_the_breakers_hold():
    def lidar_on(t):  # 1.5 s on, 2.5 s off, from 4 s
        return t < T0 + 4 * S or (t - T0) % (4 * S) < 1500 * MS

    toggles = drive(BaselineGuard(BaselineConfig(), T0), 28.0, lidar_on)
    assert len(toggles) >= 10  # stop and go every 4 s
    held = drive(BreakerGuard(GuardConfig(), T0), 28.0, lidar_on)
    assert [mode for _, mode, _ in held] == [Mode.DEGRADED]


def test_the_baseline_sees_neither_a_frozen_nor_a_lying_lidar():
    def frozen(now, digest):
        return b'same' if now >= T0 + 4 * S else digest

    baseline = BaselineGuard(BaselineConfig(), T0)
    assert drive(baseline, 6.0, lidar_digest=frozen) == []
    baseline.on_inference(T0, 10 * S, 5, math.nan)
    scan = BeamScan(0.0, 0.1, np.full(10, math.inf))
    baseline.on_scans(T0, scan, scan)
    baseline.on_yaw_rate(Source.IMU, T0, 1.0)
    assert baseline.update(T0 + 6 * S).mode.mode is Mode.NOMINAL
    guard = BreakerGuard(GuardConfig(), T0)
    assert drive(guard, 6.0, lidar_digest=frozen)[0][1] is Mode.DEGRADED


def test_topic_rate_levels():
    topic = TopicMonitor(10.0, BaselineConfig())
    assert topic.level(T0)[0] is Level.ERROR  # not received
    for k in range(10):
        topic.on_message(T0 + k * 400 * MS, T0 + k * 400 * MS)  # 2.5 Hz: warn
    assert topic.level(T0 + 3600 * MS)[:2] == (Level.WARN, None)
    for k in range(10):
        topic.on_message(T0 + 4 * S + k * 900 * MS, T0 + 4 * S + k * 900 * MS)  # 1.1 Hz
    level, reason, detail = topic.level(T0 + 12100 * MS)
    assert (level, reason) == (Level.WARN, None)
    slow = TopicMonitor(20.0, BaselineConfig())
    for k in range(10):
        slow.on_message(T0 + k * 900 * MS, T0 + k * 900 * MS)  # 1.1 Hz < 10% of 20 Hz
    assert slow.level(T0 + 8100 * MS)[:2] == (Level.ERROR, TripReason.SILENCE)
    assert math.isclose(slow.rate_hz(), 1 / 0.9)
