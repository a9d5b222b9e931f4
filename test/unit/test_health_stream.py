"""Stream health with injected times: rate, jitter, age, stale, frozen, drops, levels."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.health.report import Level
from robo_edge.health.stream import HealthConfig, StreamHealth

MS = 1_000_000
T0 = 1_000_000 * MS
CONFIG = HealthConfig(
    nominal_rate_hz=10.0, window_s=2.0, stale_periods=3.0, rate_warn_fraction=0.5, frozen_repeats=5
)


def feed(health, times, distinct=True, latency_ns=0):
    """Accept a message at each arrival time; stamps lag arrivals by `latency_ns`."""
    for i, t in enumerate(times):
        health.record_received(t)
        digest = i.to_bytes(4, 'little') if distinct else b'same'
        health.record_accept(t, t - latency_ns, digest)


def regular(n, period_ns=100 * MS, start=T0):
    return [start + i * period_ns for i in range(n)]


def test_no_message_is_stale():
    health = StreamHealth(CONFIG)
    level, message = health.level(T0)
    assert level is Level.STALE
    assert 'no message' in message


def test_regular_stream_is_ok_with_nominal_rate_and_no_jitter():
    health = StreamHealth(CONFIG)
    times = regular(31)
    feed(health, times)
    report = health.report(times[-1])
    assert report.level is Level.OK
    assert report.rate_hz == pytest.approx(10.0)
    assert report.jitter_ms == pytest.approx(0.0)
    assert report.received == report.republished == 31


def test_jitter_is_the_std_dev_of_intervals():
    health = StreamHealth(CONFIG)
    times = [T0 + i * 100 * MS + (0 if i % 2 == 0 else 20 * MS) for i in range(21)]
    feed(health, times)
    # Intervals alternate 120 ms and 80 ms: std dev 20 ms, mean 100 ms.
    assert health.jitter_ms(times[-1]) == pytest.approx(20.0)
    assert health.rate_hz(times[-1]) == pytest.approx(10.0, rel=0.02)


def test_rate_is_measured_on_stamps_not_bursty_arrivals():
    health = StreamHealth(CONFIG)
    for i in range(20):
        arrival = T0 + (i // 5) * 500 * MS  # five samples arrive at once, every 500 ms
        health.record_received(arrival)
        health.record_accept(arrival, T0 + i * 100 * MS, i.to_bytes(4, 'little'))
    assert health.rate_hz(T0 + 1500 * MS) == pytest.approx(10.0)


def test_age_is_clock_minus_newest_stamp():
    health = StreamHealth(CONFIG)
    feed(health, regular(3), latency_ns=30 * MS)
    assert health.report(T0 + 250 * MS).age_ms == pytest.approx(80.0)
    assert StreamHealth(CONFIG).report(T0).age_ms == float('inf')


def test_silence_beyond_stale_periods_is_stale():
    health = StreamHealth(CONFIG)
    times = regular(30)
    feed(health, times)
    assert health.level(times[-1] + 300 * MS)[0] is Level.OK
    level, message = health.level(times[-1] + 301 * MS)
    assert level is Level.STALE
    assert 'no message for 301 ms' in message


def test_low_rate_warns_after_warm_up():
    health = StreamHealth(CONFIG)
    times = regular(11, period_ns=250 * MS)  # 4 Hz against 10 Hz nominal, floor 5 Hz
    feed(health, times[:2])
    assert health.level(times[1])[0] is Level.OK  # still warming up
    feed(health, times[2:])
    level, message = health.level(times[-1])
    assert level is Level.WARN
    assert 'rate 4.00 Hz below 5.00 Hz' in message


def test_frozen_stream_is_error_and_counted_until_payload_changes():
    health = StreamHealth(CONFIG)
    times = regular(7)
    flags = []
    for t in times:
        health.record_received(t)
        flags.append(health.record_accept(t, t, b'same'))
    assert flags == [False] * 4 + [True] * 3
    level, message = health.level(times[-1])
    assert level is Level.ERROR
    assert 'frozen: 7 identical' in message
    assert health.report(times[-1]).frozen == 3
    health.record_received(times[-1] + 100 * MS)
    health.record_accept(times[-1] + 100 * MS, times[-1] + 100 * MS, b'new')
    assert health.level(times[-1] + 100 * MS)[0] is Level.OK
    assert health.report(times[-1] + 100 * MS).frozen == 3


def test_frozen_check_can_be_disabled():
    health = StreamHealth(HealthConfig(nominal_rate_hz=10.0, frozen_repeats=0))
    feed(health, regular(20), distinct=False)
    assert not health.frozen_now


def test_recent_drop_warns_with_its_reason_then_clears():
    health = StreamHealth(CONFIG, ['nan', 'structure'])
    times = regular(25)
    feed(health, times[:21])
    health.record_received(times[21])
    health.record_drop(times[21], 'nan', '3 of 4 beams NaN')
    feed(health, times[22:])
    level, message = health.level(times[-1])
    assert level is Level.WARN
    assert 'last drop: nan (3 of 4 beams NaN)' in message
    report = health.report(times[-1])
    assert report.drops == {'nan': 1, 'structure': 0}
    assert report.last_drop_reason == 'nan'
    fresh = regular(21, start=times[-1] + 100 * MS)
    feed(health, fresh)
    assert fresh[-1] - times[21] > CONFIG.window_ns
    assert health.level(fresh[-1])[0] is Level.OK


def test_only_invalid_messages_is_error_after_stale_periods():
    health = StreamHealth(CONFIG, ['nan'])
    for t in regular(5):
        health.record_received(t)
        health.record_drop(t, 'nan', 'all NaN')
    assert health.level(T0 + 300 * MS)[0] is Level.WARN
    level, message = health.level(T0 + 400 * MS)
    assert level is Level.ERROR
    assert 'no valid message for 400 ms; last drop: nan' in message


def test_restarted_timeline_restarts_the_rate_window():
    health = StreamHealth(CONFIG)
    feed(health, regular(10))
    health.record_received(T0 + 1000 * MS)
    health.record_accept(T0 + 1000 * MS, 5 * MS, b'x')
    assert health.rate_hz(T0 + 1000 * MS) == 0.0


@given(st.lists(st.integers(1, 400 * MS), min_size=1, max_size=200))
def test_random_arrivals_give_sane_reports(intervals):
    health = StreamHealth(CONFIG)
    t = T0
    for i, dt in enumerate(intervals):
        t += dt
        health.record_received(t)
        health.record_accept(t, t, i.to_bytes(4, 'little'))
    report = health.report(t)
    assert report.rate_hz >= 0.0
    assert report.jitter_ms >= 0.0
    assert report.age_ms == 0.0
    assert report.level in (Level.OK, Level.WARN)
