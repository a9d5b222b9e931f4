"""Restart decisions and the backoff schedule (pure, no processes)."""

import pytest

from robo_edge.supervisor.bringup import NodeSpec, RestartPolicy
from robo_edge.supervisor.restart import (
    BACKOFF_CAP_S,
    STABLE_UPTIME_S,
    Action,
    RestartHistory,
    backoff_delay,
    decide,
)


def spec(**kwargs: object) -> NodeSpec:
    return NodeSpec(name='n', command=('x',), **kwargs)


def test_backoff_doubles_from_200_ms_and_caps_at_5_s() -> None:
    assert [backoff_delay(n) for n in range(1, 9)] == pytest.approx(
        [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0])
    assert backoff_delay(0) == pytest.approx(0.2)
    assert backoff_delay(10_000) == BACKOFF_CAP_S


@pytest.mark.parametrize(('policy', 'code', 'action'), [
    (RestartPolicy.ON_FAILURE, 0, Action.STAY_DOWN),
    (RestartPolicy.ON_FAILURE, 1, Action.RESTART),
    (RestartPolicy.ON_FAILURE, -9, Action.RESTART),
    (RestartPolicy.ALWAYS, 0, Action.RESTART),
    (RestartPolicy.NEVER, -9, Action.STAY_DOWN),
])
def test_policy(policy: RestartPolicy, code: int, action: Action) -> None:
    decision, _ = decide(spec(restart=policy), RestartHistory(), code, 0.0, 1.0)
    assert decision.action is action


def test_exit_ends_bringup_wins_over_the_policy() -> None:
    decision, _ = decide(spec(restart=RestartPolicy.ALWAYS, exit_ends_bringup=True),
                         RestartHistory(), 0, 0.0, 1.0)
    assert decision.action is Action.END_BRINGUP


def test_quick_crashes_back_off_then_give_up_after_max_restarts() -> None:
    node = spec(max_restarts=3, restart_window_s=60.0)
    history, now, delays = RestartHistory(), 0.0, []
    for _ in range(3):
        decision, history = decide(node, history, 1, now, 0.1)
        assert decision.action is Action.RESTART
        delays.append(decision.delay_s)
        now += decision.delay_s + 0.1
    assert delays == pytest.approx([0.2, 0.4, 0.8])
    decision, _ = decide(node, history, 1, now, 0.1)
    assert decision.action is Action.GIVE_UP
    assert '3 restarts' in decision.reason


def test_restarts_outside_the_window_do_not_count() -> None:
    node = spec(max_restarts=1, restart_window_s=10.0)
    _, history = decide(node, RestartHistory(), 1, 0.0, 0.1)
    decision, history = decide(node, history, 1, 5.0, 0.1)
    assert decision.action is Action.GIVE_UP
    decision, _ = decide(node, history, 1, 10.5, 0.1)
    assert decision.action is Action.RESTART


def test_a_stable_run_resets_the_backoff() -> None:
    node = spec(max_restarts=100, restart_window_s=1.0)
    history = RestartHistory(streak=6)
    decision, history = decide(node, history, 1, 100.0, 0.5)
    assert decision.delay_s == pytest.approx(5.0)
    decision, history = decide(node, history, 1, 200.0, STABLE_UPTIME_S)
    assert decision.delay_s == pytest.approx(0.2) and history.streak == 1


def test_max_restarts_zero_never_restarts() -> None:
    decision, _ = decide(spec(max_restarts=0), RestartHistory(), 1, 0.0, 0.1)
    assert decision.action is Action.GIVE_UP
