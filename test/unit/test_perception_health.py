"""Perception health: latency against the budget, NaN outputs, drops, staleness and drift."""

import math

import pytest

from robo_edge.health.report import Level
from robo_edge.perception.health import HealthConfig, Inference, PerceptionHealth
from robo_edge.perception.model import ReferenceOutput

MS = 1_000_000
S = 1_000_000_000
REFERENCE = ReferenceOutput(0.5, 0.05, 0.95, 0.85, 100)


def active(**config) -> PerceptionHealth:
    health = PerceptionHealth(HealthConfig(**config))
    health.start(0, REFERENCE)
    return health


def feed(health, n, start_ns=0, latency=5.0, confidence=0.95, floor=0.5, non_finite=0):
    for i in range(n):
        now = start_ns + i * 66 * MS
        health.record_received(now)
        health.record_inference(Inference(now, latency, latency / 2, confidence, floor,
                                          non_finite))
    return start_ns + (n - 1) * 66 * MS


def values(health, now):
    return dict(health.report(now).values)


def test_ok_with_percentiles_and_counts():
    health = active(budget_ms=25.0, window_frames=100)
    for i in range(100):
        health.record_received(i * MS)
        health.record_inference(Inference(i * MS, float(i + 1), 1.0, 0.95, 0.5, 0))
    level, message = health.level(100 * MS)
    assert level == Level.WARN and 'p99' in message  # 75 of 100 frames over 25 ms
    v = values(health, 100 * MS)
    assert float(v['latency_p50_ms']) == pytest.approx(50.5)
    assert float(v['latency_p99_ms']) == pytest.approx(99.01)
    assert v['latency_max_ms'] == '100.000' and v['over_budget'] == '75'
    assert v['inferences'] == '100' and v['nan_outputs'] == '0'


def test_within_budget_is_ok():
    health = active()
    now = feed(health, 30)
    assert health.level(now) == (Level.OK, 'ok')


def test_the_window_forgets_old_latencies_but_the_total_stays():
    health = active(window_frames=20)
    feed(health, 20, latency=100.0)
    now = feed(health, 20, start_ns=2 * S, latency=5.0)
    v = values(health, now)
    assert v['over_budget'] == '20' and v['over_budget_window'] == '0'
    assert health.level(now)[0] == Level.OK


def test_nan_outputs_are_an_error():
    health = active()
    now = feed(health, 5)
    now = feed(health, 1, start_ns=now + 66 * MS, non_finite=12)
    level, message = health.level(now)
    assert level == Level.ERROR and 'not finite' in message
    assert values(health, now)['nan_outputs'] == '1'


def test_drops_warn_with_the_reason_then_expire():
    health = active(drop_window_s=1.0)
    now = feed(health, 5)
    health.record_drop(now, 'size_mismatch', 'image 160x120, camera_info 320x240')
    level, message = health.level(now)
    assert level == Level.WARN and 'size_mismatch' in message
    assert values(health, now)['drops_size_mismatch'] == '1'
    assert health.drop_count('size_mismatch') == 1 and health.drop_count('encoding') == 0
    later = feed(health, 20, start_ns=now + 66 * MS)
    assert health.level(later)[0] == Level.OK
    assert values(health, later)['drops'] == '1'


def test_stale_before_the_first_image_and_after_silence():
    health = active(stale_s=1.0)
    assert health.level(S // 2)[0] == Level.OK
    assert health.level(2 * S) == (Level.STALE, 'no image received')
    now = feed(health, 3, start_ns=3 * S)
    assert health.level(now + 2 * S)[0] == Level.STALE


def test_images_that_are_all_dropped_are_an_error():
    health = active(stale_s=1.0)
    for i in range(30):
        now = i * 66 * MS
        health.record_received(now)
        health.record_drop(now, 'encoding', "'mono8' is not one of ['bgr8', 'rgb8']")
    level, message = health.level(now)
    assert level == Level.ERROR and 'none is processed' in message and 'encoding' in message


def test_low_confidence_and_floor_fraction_drift_warn():
    health = active()
    now = feed(health, 30, confidence=0.7)
    level, message = health.level(now)
    assert level == Level.WARN and 'confidence' in message
    health = active()
    now = feed(health, 30, floor=0.1)
    level, message = health.level(now)
    assert level == Level.WARN and 'floor fraction' in message


def test_configure_error_is_reported_until_started():
    health = PerceptionHealth(HealthConfig())
    assert health.level(0) == (Level.OK, 'inactive')
    health.set_error('configure failed: m.onnx: model file not found')
    assert health.level(0)[0] == Level.ERROR
    assert 'not found' in health.report(0).message
    health.start(0, None)
    assert health.level(0)[0] == Level.OK


def test_empty_report_has_nan_figures_not_errors():
    v = values(PerceptionHealth(HealthConfig()), 0)
    assert math.isnan(float(v['latency_p50_ms'])) and v['skipped_stale'] == '0'
    assert 'reference_confidence_p05' not in v
