"""A free-running twin keeps to its real-time factor and gives up lag instead of racing."""

import pytest

from robo_edge.twin.pacing import Pacer


def test_ahead_of_the_wall_it_waits() -> None:
    pacer = Pacer(1.0, 0.05)
    assert pacer.delay(sim_s=1.0, elapsed_s=0.8) == pytest.approx(0.2)
    assert Pacer(2.0, 0.05).delay(sim_s=1.0, elapsed_s=0.4) == pytest.approx(0.1)


def test_a_small_lag_is_caught_up_a_large_one_dropped() -> None:
    pacer = Pacer(1.0, 0.05)
    assert pacer.delay(sim_s=1.0, elapsed_s=1.03) == 0.0
    assert pacer.dropped_s == 0.0  # 30 ms behind: the next periods make it up
    assert pacer.delay(sim_s=1.05, elapsed_s=1.45) == 0.0  # a 400 ms stall
    assert pacer.dropped_s == pytest.approx(0.4)
    # The next period is paced from where the twin is, not raced to the old schedule.
    assert pacer.delay(sim_s=1.10, elapsed_s=1.46) == pytest.approx(0.04)


def test_factor_zero_runs_as_fast_as_it_can() -> None:
    pacer = Pacer(0.0, 0.05)
    assert pacer.delay(sim_s=5.0, elapsed_s=0.1) == 0.0
    assert pacer.dropped_s == 0.0
