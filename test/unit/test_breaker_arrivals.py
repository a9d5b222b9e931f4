"""Lockstep arrivals: what a tick waits for, and which samples the breakers take at it."""

from robo_edge.breakers.arrivals import Arrival, LockstepArrivals
from robo_edge.breakers.faults import Source

MS = 1_000_000


def arrivals() -> LockstepArrivals:
    return LockstepArrivals({Source.IMU: 100.0, Source.ODOMETRY: 50.0})


def sample(source: Source, stamp_ms: int) -> Arrival:
    return Arrival(source, stamp_ms * MS, b'', True, 0.0)


def test_a_tick_waits_for_the_newest_sample_its_schedule_says_exists() -> None:
    held = arrivals()
    assert held.held(Source.IMU, 0) and held.held(Source.ODOMETRY, 10 * MS)  # none due yet
    for stamp in (10, 20, 30, 40):
        held.add(sample(Source.IMU, stamp))
    assert not held.held(Source.IMU, 50 * MS)
    assert held.missing([Source.IMU, Source.ODOMETRY], 50 * MS) == [
        'imu@0.050', 'odometry@0.040']
    held.add(sample(Source.IMU, 50))
    held.add(sample(Source.ODOMETRY, 40))
    assert held.missing([Source.IMU, Source.ODOMETRY], 50 * MS) == []


def test_a_later_sample_means_the_due_one_is_here_or_lost() -> None:
    held = arrivals()
    held.add(sample(Source.ODOMETRY, 60))  # 40 ms lost on the way: nothing more to wait for
    assert held.held(Source.ODOMETRY, 50 * MS)


def test_samples_are_taken_at_their_tick_in_arrival_order_and_later_ones_wait() -> None:
    held = arrivals()
    order = [sample(Source.IMU, 50), sample(Source.ODOMETRY, 40), sample(Source.IMU, 60),
             sample(Source.IMU, 30)]  # 30: released late by a delay fault
    for a in order:
        held.add(a)
    assert held.take(50 * MS) == [order[0], order[1], order[3]]
    assert held.take(50 * MS) == []
    assert held.take(100 * MS) == [order[2]]


def test_the_bound_hands_the_oldest_over_at_once_and_counts_them() -> None:
    held = LockstepArrivals({Source.IMU: 100.0}, keep=2)
    assert held.add(sample(Source.IMU, 10)) == []
    assert held.add(sample(Source.IMU, 20)) == []
    assert held.add(sample(Source.IMU, 30)) == [sample(Source.IMU, 10)]
    assert held.overflowed == 1


def test_a_restart_forgets_the_old_run() -> None:
    held = arrivals()
    held.add(sample(Source.IMU, 500))
    held.restart()
    assert not held.held(Source.IMU, 50 * MS) and held.take(10**12) == []
