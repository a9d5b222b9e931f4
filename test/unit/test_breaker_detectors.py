"""Stream detectors and the detection times they give a breaker, in simulated time."""

import numpy as np
from breaker_streams import MS, T0, S, jittered, period_ns, regular, run
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.breaker import Breaker, BreakerConfig, default_config
from robo_edge.breakers.detectors import (
    FrozenDetector,
    InvalidDetector,
    SilenceDetector,
    StaleDetector,
)
from robo_edge.breakers.faults import BreakerState, Source, TripReason

LIDAR = default_config(Source.LIDAR)


def lidar_breaker(config=LIDAR):
    return Breaker(Source.LIDAR, config, T0)


# -- the detectors alone ---------------------------------------------------------------------
def test_silence_counts_from_start_then_from_each_arrival():
    silence = SilenceDetector(300 * MS, T0)
    assert silence.check(T0 + 300 * MS) is None
    assert silence.check(T0 + 301 * MS).reason is TripReason.SILENCE
    silence.observe(T0 + 400 * MS)
    assert silence.check(T0 + 700 * MS) is None
    assert 'no message for 301 ms' in silence.check(T0 + 701 * MS).detail


def test_stale_judges_the_age_on_arrival_and_zero_disables():
    stale = StaleDetector(500 * MS)
    stale.observe(T0, T0 - 400 * MS)
    assert stale.check(T0) is None
    stale.observe(T0 + MS, T0 - 600 * MS)
    assert stale.check(T0 + MS).reason is TripReason.STALE
    stale.observe(T0 + 2 * MS, T0)  # fresh again
    assert stale.check(T0 + 2 * MS) is None
    off = StaleDetector(0)
    off.observe(T0, 0)
    assert off.check(T0) is None


def test_frozen_needs_the_run_to_span_the_window_and_empty_digests_are_neutral():
    frozen = FrozenDetector(300 * MS)
    for k in range(3):
        frozen.observe(T0 + k * 100 * MS, b'same')
    assert frozen.check(T0 + 200 * MS) is None  # 3 copies span 200 ms
    frozen.observe(T0 + 250 * MS, b'')
    frozen.observe(T0 + 300 * MS, b'same')
    fault = frozen.check(T0 + 300 * MS)
    assert fault.reason is TripReason.FROZEN
    assert fault.detail.startswith('4 identical payloads over 300 ms')
    frozen.observe(T0 + 400 * MS, b'new')
    assert frozen.check(T0 + 400 * MS) is None


def test_invalid_share_over_a_time_window():
    invalid = InvalidDetector(1 * S, 0.5, 5)
    for k in range(4):
        invalid.observe(T0 + k * 100 * MS, False)
    assert invalid.check(T0 + 400 * MS) is None  # fewer than 5 messages: no judgement
    invalid.observe(T0 + 400 * MS, True)
    assert invalid.check(T0 + 400 * MS).reason is TripReason.INVALID  # 4 of 5
    for k in range(5, 15):
        invalid.observe(T0 + k * 100 * MS, True)
    assert invalid.check(T0 + 1400 * MS) is None  # the invalid ones left the window


# -- detection times of a breaker (targets of the issue) -------------------------------------
def test_silent_lidar_opens_within_300_ms_of_the_first_missed_scan():
    breaker = lidar_breaker()
    arrivals = regular(10.0, T0, T0 + 5 * S)
    last = arrivals[-1]
    opened = run(breaker, arrivals, last + 2 * S)
    assert breaker.last_trip.reason is TripReason.SILENCE
    # 3.5 periods after the last scan, seen at the next 10 ms check tick.
    assert opened - last == 360 * MS
    first_missed = last + period_ns(10.0)
    assert opened - first_missed <= 300 * MS


@given(onset=st.integers(1, 99))
@settings(max_examples=25, deadline=None)
def test_a_2_5_period_silence_opens_within_300_ms_of_any_onset(onset):
    config = BreakerConfig(nominal_rate_hz=10.0, silence_periods=2.5)
    breaker = lidar_breaker(config)
    fault_ns = T0 + 5 * S + onset * MS  # the stream dies `onset` ms after a scan
    arrivals = [t for t in regular(10.0, T0, T0 + 10 * S) if t < fault_ns]
    opened = run(breaker, arrivals, T0 + 7 * S)
    assert 0 < opened - fault_ns <= 300 * MS


@given(rate=st.sampled_from([10.0, 15.0, 50.0, 100.0]), periods=st.floats(2.5, 10.0),
       seed=st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_silence_opens_k_periods_after_the_last_message(rate, periods, seed):
    config = BreakerConfig(nominal_rate_hz=rate, silence_periods=periods, grace_s=0.0,
                           frozen_window_s=0.0)
    breaker = Breaker(Source.IMU, config, T0)
    arrivals = jittered(rate, 1.0, np.random.default_rng(seed), loss=0.0)
    last = int(arrivals[-1])
    opened = run(breaker, arrivals, last + config.silence_ns + 2 * MS, tick_ns=MS)
    assert breaker.last_trip.reason is TripReason.SILENCE
    assert config.silence_ns < opened - last <= config.silence_ns + MS


def frozen_after(fault_ns, arrivals):
    """Digests: distinct until `fault_ns`, then the last good payload repeated."""
    last_good = max(i for i, t in enumerate(arrivals) if t < fault_ns)
    return lambda i: min(i, last_good).to_bytes(4, 'little')


@given(source=st.sampled_from([Source.LIDAR, Source.CAMERA, Source.IMU]),
       onset=st.integers(0, 99), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_a_frozen_sensor_is_detected_within_500_ms(source, onset, seed):
    config = default_config(source)
    breaker = Breaker(source, config, T0)
    arrivals = [int(t) for t in jittered(config.nominal_rate_hz, 8.0,
                                         np.random.default_rng(seed), loss=0.0)]
    fault_ns = T0 + 5 * S + onset * MS
    opened = run(breaker, arrivals, T0 + 8 * S, digest=frozen_after(fault_ns, arrivals))
    assert breaker.last_trip.reason is TripReason.FROZEN
    assert 0 < opened - fault_ns <= 500 * MS


def test_stale_stamps_open_the_breaker():
    breaker = lidar_breaker()
    opened = run(breaker, regular(10.0, T0, T0 + 4 * S), T0 + 4 * S, latency_ns=600 * MS)
    assert breaker.last_trip.reason is TripReason.STALE
    assert opened == T0 + LIDAR.grace_s * S  # stale all along: trips as the grace ends


def test_invalid_share_opens_and_a_small_share_does_not():
    mostly_bad = lidar_breaker()
    run(mostly_bad, regular(10.0, T0, T0 + 5 * S), T0 + 5 * S, valid=lambda i: i % 5 < 2)
    assert mostly_bad.last_trip.reason is TripReason.INVALID
    some_bad = lidar_breaker()
    run(some_bad, regular(10.0, T0, T0 + 5 * S), T0 + 5 * S, valid=lambda i: i % 5 != 0)
    assert some_bad.trip_count == 0


def test_nothing_trips_during_the_startup_grace():
    breaker = lidar_breaker()
    assert run(breaker, [], T0 + 1900 * MS) is None  # silent from the start
    assert breaker.update(T0 + 2 * S) is BreakerState.OPEN
    assert breaker.last_trip.time_ns == T0 + 2 * S
    assert breaker.last_trip.reason is TripReason.SILENCE
