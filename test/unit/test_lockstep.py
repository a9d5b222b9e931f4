"""Tick input schedule: which sample of each stream exists at a control tick."""

from hypothesis import given
from hypothesis import strategies as st

from robo_edge.lockstep import PendingTick, StampedBuffer, latest_due, sample_stamp

MS = 1_000_000


def test_latest_due_on_the_twin_rates() -> None:
    assert latest_due(50 * MS, 10.0) is None  # the first scan comes at 100 ms
    assert latest_due(100 * MS, 10.0) == 100 * MS
    assert latest_due(150 * MS, 10.0) == 100 * MS
    assert latest_due(150 * MS, 50.0) == 140 * MS
    assert latest_due(0, 50.0) is None


@given(st.integers(0, 10**12), st.sampled_from([5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0, 150.0]))
def test_latest_due_is_a_sample_not_after_the_tick(tick: int, rate: float) -> None:
    due = latest_due(tick, rate)
    if due is not None:
        n = round(due * rate / 1e9)
        assert due == sample_stamp(n, rate) <= tick < sample_stamp(n + 1, rate)


def test_samples_fall_on_the_twins_stamps_at_rates_that_do_not_divide_a_second() -> None:
    physics_hz = 300  # the twin stamps step k at floor(k * 1e9 / 300)
    for rate in (15, 30, 150):
        steps = physics_hz // rate
        twin = [k * steps * 1_000_000_000 // physics_hz for k in range(1, 200)]
        assert [latest_due(stamp, float(rate)) for stamp in twin] == twin
        assert [latest_due(stamp + 1, float(rate)) for stamp in twin] == twin
    assert latest_due(66_666_665, 15.0) is None and latest_due(66_666_666, 15.0) == 66_666_666


def test_buffer_exact_and_fallback() -> None:
    buffer = StampedBuffer(keep=3)
    for stamp in (10, 20, 30, 40):
        buffer.add(stamp, f'm{stamp}')
    assert buffer.at(10) is None  # dropped: only the newest 3 are kept
    assert buffer.at(30) == 'm30'
    assert buffer.latest_not_after(35) == (30, 'm30')
    assert buffer.latest_not_after(5) is None


def test_pending_tick_overdue() -> None:
    tick = PendingTick(tick_ns=50 * MS, since_wall_s=10.0)
    assert not tick.overdue(10.2, 0.3)
    assert tick.overdue(10.31, 0.3)


def test_tick_queue_ignores_repeats_and_restarts_on_a_clock_going_back() -> None:
    from robo_edge.lockstep import TickEvent, TickQueue

    ticks = TickQueue()
    assert ticks.enqueue(0, 1.0) == TickEvent.QUEUED
    assert ticks.enqueue(0, 1.1) == TickEvent.REPEAT  # the twin re-sends /clock while waiting
    assert ticks.enqueue(50 * MS, 1.2) == TickEvent.QUEUED
    assert [t.tick_ns for t in ticks.pending] == [0, 50 * MS]
    assert ticks.enqueue(0, 2.0) == TickEvent.RESTART
    assert [t.tick_ns for t in ticks.pending] == [0]


def test_a_queue_is_behind_once_a_newer_tick_waits() -> None:
    from robo_edge.lockstep import TickQueue

    queue = TickQueue()
    queue.enqueue(100, 0.0)
    assert not queue.behind()
    queue.enqueue(100, 0.1)  # a re-sent tick
    assert not queue.behind()
    queue.enqueue(150, 0.2)
    assert queue.behind()
