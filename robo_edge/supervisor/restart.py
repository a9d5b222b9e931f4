"""What to do when a supervised process exits: restart after a backoff, give up, or stay down.

Pure: time is passed in, so the schedule is unit-tested without processes or clocks.
"""

import enum
from dataclasses import dataclass

from robo_edge.supervisor.bringup import NodeSpec

BACKOFF_BASE_S = 0.2
BACKOFF_FACTOR = 2.0
BACKOFF_CAP_S = 5.0
# A process that ran this long before exiting counts as healthy: its backoff starts over.
STABLE_UPTIME_S = 10.0


class Action(enum.Enum):
    """The supervisor's answer to one exit."""

    RESTART = 'restart'
    GIVE_UP = 'give_up'
    STAY_DOWN = 'stay_down'
    END_BRINGUP = 'end_bringup'


@dataclass(frozen=True)
class RestartHistory:
    """The restarts of one node: when they were decided, and the current run of quick exits."""

    restart_times: tuple[float, ...] = ()
    streak: int = 0


@dataclass(frozen=True)
class Decision:
    """The action for one exit, its delay, and why (for the log and the events)."""

    action: Action
    delay_s: float = 0.0
    reason: str = ''


def backoff_delay(streak: int, base_s: float = BACKOFF_BASE_S, factor: float = BACKOFF_FACTOR,
                  cap_s: float = BACKOFF_CAP_S) -> float:
    """Return the wait before the `streak`-th consecutive restart (1: the first one)."""
    exponent = max(0, streak - 1)
    # Cap the exponent too: a long streak must not overflow the float.
    return min(cap_s, base_s * factor ** min(exponent, 64))


def decide(spec: NodeSpec, history: RestartHistory, exit_code: int, now: float,
           uptime_s: float) -> tuple[Decision, RestartHistory]:
    """Return the decision for an exit of `spec` with `exit_code`, and the updated history."""
    if spec.exit_ends_bringup:
        return Decision(Action.END_BRINGUP, reason='exit_ends_bringup'), history
    if not spec.restart.wants_restart(exit_code):
        return Decision(Action.STAY_DOWN, reason=f'restart policy {spec.restart.value}'), history
    recent = tuple(t for t in history.restart_times if now - t < spec.restart_window_s)
    if len(recent) >= spec.max_restarts:
        reason = (f'{len(recent)} restarts within {spec.restart_window_s:g} s '
                  f'(max_restarts {spec.max_restarts})')
        return Decision(Action.GIVE_UP, reason=reason), RestartHistory(recent, history.streak)
    streak = 1 if uptime_s >= STABLE_UPTIME_S else history.streak + 1
    delay = backoff_delay(streak)
    decision = Decision(Action.RESTART, delay, f'exit code {exit_code}, restart in {delay:.1f} s')
    return decision, RestartHistory((*recent, now), streak)
