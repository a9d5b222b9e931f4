"""The breaker state machine: trips, probing, hysteresis, grace, flapping latch, reset."""

from breaker_streams import MS, T0, S
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.breaker import Breaker, BreakerConfig
from robo_edge.breakers.faults import BreakerState, Fault, Source, TripReason

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
CONFIG = BreakerConfig(grace_s=1.0, silence_periods=0.0, max_age_s=0.0, frozen_window_s=0.0,
                       invalid_window_s=0.0, open_s=2.0, close_after_s=1.0, flap_count=3,
                       flap_window_s=60.0)


class Switch:
    """A detector the test turns on and off."""

    def __init__(self):
        self.on = False

    def check(self, now_ns):
        return Fault(TripReason.CROSS_CHECK, 'test fault') if self.on else None


def make(config=CONFIG):
    switch = Switch()
    breaker = Breaker(Source.LIDAR, config, T0, [switch])
    return breaker, switch


def test_trip_is_recorded_with_reason_text_and_time():
    breaker, switch = make()
    switch.on = True
    assert breaker.update(T0 + 2 * S) is OPEN
    trip = breaker.last_trip
    assert (trip.reason, trip.time_ns, trip.text()) == (
        TripReason.CROSS_CHECK, T0 + 2 * S, 'cross_check: test fault')
    status = breaker.status()
    assert (status.state, status.since_ns, status.trips, status.closed) == (
        OPEN, T0 + 2 * S, 1, False)
    assert breaker.transitions[-1].before is CLOSED


def test_open_probes_after_open_s_and_closes_after_a_healthy_run():
    breaker, switch = make()
    switch.on = True
    breaker.update(T0 + 2 * S)
    switch.on = False
    assert breaker.update(T0 + 3900 * MS) is OPEN  # healthy, but still in the open period
    assert breaker.update(T0 + 4 * S) is HALF_OPEN
    assert breaker.update(T0 + 4900 * MS) is HALF_OPEN
    assert breaker.update(T0 + 5 * S) is CLOSED
    assert breaker.since_ns == T0 + 5 * S


def test_a_fault_while_probing_reopens_and_is_no_flap():
    breaker, switch = make()
    switch.on = True
    breaker.update(T0 + 2 * S)
    for k in range(10):  # a long outage: every probe fails
        assert breaker.update(T0 + (4 + 2 * k) * S) is OPEN
    assert not breaker.latched
    assert 'probe failed' in breaker.transitions[-1].detail
    switch.on = False
    breaker.update(T0 + 30 * S)
    assert breaker.update(T0 + 31 * S) is CLOSED


def test_a_one_shot_report_trips_once_and_is_ignored_while_open():
    breaker, _ = make()
    breaker.report(Fault(TripReason.CROSS_CHECK, 'scan disagrees'))
    assert breaker.update(T0 + 2 * S) is OPEN
    breaker.report(Fault(TripReason.CROSS_CHECK, 'again'))
    assert breaker.update(T0 + 2100 * MS) is OPEN
    assert breaker.trip_count == 1
    breaker.update(T0 + 4 * S)
    assert breaker.update(T0 + 5 * S) is CLOSED


def test_reports_during_the_grace_are_dropped():
    breaker, switch = make()
    breaker.report(Fault(TripReason.CROSS_CHECK, 'early'))
    switch.on = True
    assert breaker.update(T0 + 500 * MS) is CLOSED
    switch.on = False
    assert breaker.update(T0 + 1 * S) is CLOSED
    assert breaker.trip_count == 0


def cycle(breaker, switch, start_ns):
    """Open at start, probe at +2 s, close at +3 s."""
    switch.on = True
    breaker.update(start_ns)
    switch.on = False
    breaker.update(start_ns + 2 * S)
    return breaker.update(start_ns + 3 * S)


def test_flapping_latches_open_until_reset():
    breaker, switch = make()
    assert cycle(breaker, switch, T0 + 2 * S) is CLOSED
    assert cycle(breaker, switch, T0 + 6 * S) is CLOSED
    switch.on = True
    assert breaker.update(T0 + 10 * S) is OPEN
    assert breaker.latched
    assert 'latched: 3 openings in 60 s' in breaker.transitions[-1].detail
    switch.on = False
    assert breaker.update(T0 + 100 * S) is OPEN  # healthy, but latched
    breaker.reset(T0 + 100 * S)
    assert breaker.state is HALF_OPEN
    assert not breaker.latched
    assert breaker.update(T0 + 101 * S) is CLOSED


def test_openings_outside_the_flap_window_do_not_latch():
    breaker, switch = make()
    for k in range(5):
        assert cycle(breaker, switch, T0 + (2 + 31 * k) * S) is CLOSED
    assert not breaker.latched


def test_reset_of_a_closed_breaker_keeps_it_closed():
    breaker, _ = make()
    breaker.reset(T0 + 2 * S)
    assert breaker.update(T0 + 2 * S) is CLOSED


@given(steps=st.lists(st.tuples(st.integers(1, 1500), st.booleans()), min_size=1,
                      max_size=60))
@settings(max_examples=60, deadline=None)
def test_transitions_follow_the_diagram(steps):
    breaker, switch = make()
    now = T0
    for dt_ms, fault in steps:
        now += dt_ms * MS
        before, before_since = breaker.state, breaker.since_ns
        switch.on = fault
        after = breaker.update(now)
        if now < T0 + S:
            assert after is CLOSED
        if after is before:
            continue
        if before is CLOSED:
            assert fault and after is OPEN
        elif before is OPEN:
            assert now - before_since >= 2 * S
            assert not breaker.latched
        else:  # HALF_OPEN
            assert (after is OPEN) == fault
            if after is CLOSED:
                assert now - before_since >= S
        if breaker.latched:
            assert after is OPEN
    moves = list(breaker.transitions)
    assert all(a.after is b.before for a, b in zip(moves, moves[1:], strict=False))
    assert not any(m.before is OPEN and m.after is CLOSED for m in moves)
