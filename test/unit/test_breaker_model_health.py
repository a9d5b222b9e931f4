"""Model health: latency over budget, NaN outputs, confidence collapse, over a time window."""

import math

from breaker_streams import MS, T0, S
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.breaker import Breaker, default_config
from robo_edge.breakers.faults import BreakerState, Source, TripReason
from robo_edge.breakers.model_health import ModelHealth, ModelHealthConfig

CONFIG = ModelHealthConfig()


def feed(health, n, latency_ms=20, nan_every=0, confidence=0.8, start=T0, period_ms=100):
    for k in range(n):
        nan = 1 if nan_every and k % nan_every == 0 else 0
        health.observe(start + k * period_ms * MS, latency_ms * MS, nan, confidence)
    return start + (n - 1) * period_ms * MS


def test_a_healthy_model_raises_nothing():
    health = ModelHealth(CONFIG)
    assert health.check(feed(health, 30)) is None


def test_too_few_inferences_are_not_judged():
    health = ModelHealth(CONFIG)
    assert health.check(feed(health, 4, latency_ms=500)) is None


def test_latency_over_budget():
    health = ModelHealth(CONFIG)
    fault = health.check(feed(health, 10, latency_ms=150))
    assert fault.reason is TripReason.LATENCY
    assert fault.detail == '10 of 10 inferences over 100 ms'


def test_nan_outputs_and_nan_confidence():
    health = ModelHealth(CONFIG)
    assert health.check(feed(health, 10, nan_every=3)).reason is TripReason.NAN_OUTPUT
    nan_confidence = ModelHealth(CONFIG)
    now = feed(nan_confidence, 10, confidence=math.nan)
    assert nan_confidence.check(now).reason is TripReason.NAN_OUTPUT


def test_confidence_collapse_and_recovery_as_the_window_moves():
    health = ModelHealth(CONFIG)
    now = feed(health, 10, confidence=0.05)
    assert health.check(now).reason is TripReason.LOW_CONFIDENCE
    now = feed(health, 11, confidence=0.9, start=now + 100 * MS)
    assert health.check(now) is None


@given(latency_ms=st.integers(0, 99), confidence=st.floats(0.25, 1.0),
       nan_every=st.sampled_from([0, 6, 10]))
@settings(max_examples=40, deadline=None)
def test_within_budgets_nothing_trips(latency_ms, confidence, nan_every):
    health = ModelHealth(CONFIG)
    assert health.check(feed(health, 25, latency_ms, nan_every, confidence)) is None


def test_the_perception_breaker_opens_on_model_faults():
    health = ModelHealth(CONFIG)
    breaker = Breaker(Source.PERCEPTION, default_config(Source.PERCEPTION), T0, [health])
    for k in range(40):
        now = T0 + k * 100 * MS
        latency = 30 if now < T0 + 3 * S else 250
        health.observe(now, latency * MS, 0, 0.8)
        breaker.on_message(now, now)
        breaker.update(now)
    assert breaker.state is BreakerState.OPEN
    assert breaker.last_trip.reason is TripReason.LATENCY
    assert breaker.last_trip.time_ns == T0 + 3500 * MS  # 6 of 11 late in the 1 s window


def test_a_zero_latency_budget_turns_the_latency_check_off() -> None:
    from robo_edge.breakers.model_health import ModelHealth, ModelHealthConfig

    health = ModelHealth(ModelHealthConfig(latency_budget_s=0.0))
    for k in range(10):
        health.observe(k * 10_000_000, 5_000_000_000, 0, 0.9)  # 5 s per inference
    assert health.check(100_000_000) is None
