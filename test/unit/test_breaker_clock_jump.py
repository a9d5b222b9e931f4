"""A system clock set back neither resets nor unlocks a breaker, nor blinds a detector."""

from breaker_streams import MS, T0, S

from robo_edge.breakers.baseline import BaselineConfig, BaselineGuard
from robo_edge.breakers.breaker import Breaker, default_config
from robo_edge.breakers.faults import BreakerState, Source, TripReason
from robo_edge.breakers.guard import BreakerGuard, GuardConfig

LIDAR = default_config(Source.LIDAR)  # 10 Hz, silent after 350 ms, frozen after 200 ms
BACK = 900 * S  # a quarter of an hour back, as a mis-set clock corrected by NTP might


def _fed(breaker: Breaker, start: int, end: int, digest=lambda t: t.to_bytes(8, 'big')) -> None:
    for t in range(start, end, 100 * MS):
        breaker.on_message(t, t, digest(t))
        breaker.update(t)


def test_a_sensor_that_dies_after_the_jump_is_found_silent_in_time() -> None:
    breaker = Breaker(Source.LIDAR, LIDAR, T0)
    _fed(breaker, T0, T0 + 10 * S)
    jump = T0 + 10 * S - BACK
    breaker.clock_went_back(jump)
    assert breaker.update(jump + 300 * MS) is BreakerState.CLOSED
    assert breaker.update(jump + 400 * MS) is BreakerState.OPEN  # not 15 minutes later
    assert breaker.last_trip.reason is TripReason.SILENCE


def test_the_grace_after_start_is_not_served_again() -> None:
    breaker = Breaker(Source.LIDAR, LIDAR, T0)
    _fed(breaker, T0, T0 + 10 * S)
    breaker.clock_went_back(T0 - 100 * S)  # back to before the node started
    assert breaker.update(T0 - 100 * S + 500 * MS) is BreakerState.OPEN


def test_an_open_breaker_stays_open_and_probes_after_its_wait_from_the_jump() -> None:
    breaker = Breaker(Source.LIDAR, LIDAR, T0)
    _fed(breaker, T0, T0 + 5 * S)
    opened = T0 + 6 * S
    assert breaker.update(opened) is BreakerState.OPEN
    jump = opened - BACK
    breaker.clock_went_back(jump)
    _fed(breaker, jump, jump + round(LIDAR.open_s * S))
    assert breaker.state is BreakerState.OPEN  # the jump unlocked nothing
    _fed(breaker, jump + round(LIDAR.open_s * S), jump + round(LIDAR.open_s * S) + 300 * MS)
    assert breaker.state is BreakerState.HALF_OPEN  # not 15 minutes later either


def test_a_frozen_stream_is_still_found_across_the_jump() -> None:
    breaker = Breaker(Source.LIDAR, LIDAR, T0)
    _fed(breaker, T0, T0 + 5 * S)
    _fed(breaker, T0 + 5 * S, T0 + 5 * S + 150 * MS, digest=lambda _t: b'same')
    jump = T0 + 5 * S + 150 * MS - BACK
    breaker.clock_went_back(jump)
    _fed(breaker, jump, jump + 200 * MS, digest=lambda _t: b'same')
    assert breaker.state is BreakerState.OPEN
    assert breaker.last_trip.reason is TripReason.FROZEN


def test_both_guards_take_the_jump() -> None:
    for guard in (BreakerGuard(GuardConfig(), T0), BaselineGuard(BaselineConfig(), T0)):
        for t in range(T0, T0 + 5 * S, 10 * MS):
            for source in Source:
                guard.on_message(source, t, t)
            guard.update(t)
        jump = T0 + 5 * S - BACK
        guard.clock_went_back(jump)
        states = guard.update(jump + 2 * S).states()  # nothing arrived since the jump
        assert states[Source.LIDAR] is BreakerState.OPEN, type(guard).__name__
