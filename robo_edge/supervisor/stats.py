"""Per-node state and resource figures, and how they read as a diagnostic status (pure)."""

import enum
from dataclasses import dataclass

# diagnostic_msgs/DiagnosticStatus levels, without importing the message package here.
OK, WARN, ERROR = 0, 1, 2


class NodeState(enum.Enum):
    """Where a supervised node is in its life."""

    PENDING = 'pending'
    RUNNING = 'running'
    RESTARTING = 'restarting'
    GIVEN_UP = 'given_up'
    EXITED = 'exited'
    STOPPED = 'stopped'


@dataclass(frozen=True)
class NodeStats:
    """One node's latest sample: process, state, restarts, CPU and memory (with its children)."""

    name: str
    pid: int | None
    state: NodeState
    restarts: int
    cpu_percent: float | None
    rss_mb: float | None
    last_exit_code: int | None


def status_level(stats: NodeStats) -> int:
    """Return the diagnostic level of a node: running is OK, restarting WARN, given up ERROR."""
    if stats.state is NodeState.GIVEN_UP:
        return ERROR
    if stats.state in (NodeState.RESTARTING, NodeState.PENDING):
        return WARN
    if stats.state is NodeState.EXITED and stats.last_exit_code not in (0, None):
        return WARN
    return OK


def status_values(stats: NodeStats) -> list[tuple[str, str]]:
    """Return the key/value pairs of a node's diagnostic status."""
    def number(value: float | None) -> str:
        return '' if value is None else f'{value:.1f}'

    return [
        ('pid', '' if stats.pid is None else str(stats.pid)),
        ('state', stats.state.value),
        ('restarts', str(stats.restarts)),
        ('cpu_percent', number(stats.cpu_percent)),
        ('rss_mb', number(stats.rss_mb)),
        ('last_exit_code', '' if stats.last_exit_code is None else str(stats.last_exit_code)),
    ]


def status_name(node: str) -> str:
    """Return the diagnostic status name of a node."""
    return f'robo_edge/supervisor/{node}'
