"""Goal sequencing for the planner (pure): which goal is current, and how each one ended.

Goals are visited in order. The current goal is reached when the pose is within `xy_tolerance`
and `yaw_tolerance` of it; it fails with 'no progress' when the distance to it has not shrunk
by `progress_distance_m` (or down to the xy tolerance, when that is nearer) within
`progress_timeout_s` of simulated time, or with any reason the caller gives (the planner says
'unreachable'). Either way the next goal becomes current. A new goal from outside (RViz's
/goal_pose) replaces the remaining ones, which end as failed with reason 'replaced'.
Time is passed in as integer nanoseconds.
"""

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robo_edge.twin.kinematics import Pose2D, wrap_angle

NS_PER_S = 1_000_000_000
REASON_NO_PROGRESS = 'no progress'
REASON_UNREACHABLE = 'unreachable'
REASON_REPLACED = 'replaced'
Point = tuple[float, float]


class Outcome(enum.Enum):
    """How a goal ended (or that it has not yet)."""

    PENDING = 'pending'
    REACHED = 'reached'
    FAILED = 'failed'


@dataclass(frozen=True)
class GoalParams:
    """Tolerances of a reached goal and the progress check; metres, radians, seconds."""

    xy_tolerance: float = 0.2
    yaw_tolerance: float = 0.3
    progress_distance_m: float = 0.3
    progress_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ('xy_tolerance', 'yaw_tolerance', 'progress_distance_m', 'progress_timeout_s'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f'{name} must be a finite number > 0, got {value!r}')


@dataclass
class GoalRecord:
    """One goal and its outcome; `t_s` is the simulated time of the outcome."""

    index: int
    goal: Pose2D
    outcome: Outcome = Outcome.PENDING
    reason: str = ''
    t_s: float | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the record as written to the planner's JSON report."""
        return {
            'index': self.index,
            'goal': [self.goal.x, self.goal.y, self.goal.yaw],
            'outcome': self.outcome.value,
            'reason': self.reason,
            't': self.t_s,
        }


def goals_from_flat(flat: Sequence[float]) -> list[Pose2D]:
    """Return the goals of a flat [x, y, yaw, ...] list; [] and [0.0] mean none."""
    values = [float(v) for v in flat]
    if values in ([], [0.0]):
        return []
    if len(values) % 3 or not all(map(math.isfinite, values)):
        raise ValueError(f'goals must be finite [x, y, yaw, ...] triples, got {values}')
    return [Pose2D(*values[i:i + 3]) for i in range(0, len(values), 3)]


def goal_distance(pose: Pose2D, goal: Pose2D) -> float:
    """Return the planar distance from a pose to a goal."""
    return math.hypot(goal.x - pose.x, goal.y - pose.y)


class GoalSequence:
    """The goals in order, the current one, and the progress anchor of the current one."""

    def __init__(self, goals: Sequence[Pose2D], params: GoalParams | None = None) -> None:
        self.params = params or GoalParams()
        self.records = [GoalRecord(i, goal) for i, goal in enumerate(goals)]
        self._current = 0
        self._anchor: tuple[float, int] | None = None  # (distance, t_ns) of the last progress

    @property
    def current(self) -> GoalRecord | None:
        """Return the current goal's record, or None when every goal has an outcome."""
        return self.records[self._current] if self._current < len(self.records) else None

    @property
    def index(self) -> int | None:
        """Return the index of the current goal, or None when done."""
        return None if self.current is None else self._current

    def count(self, outcome: Outcome) -> int:
        """Return how many goals have this outcome."""
        return sum(1 for record in self.records if record.outcome is outcome)

    def update(self, pose: Pose2D, t_ns: int) -> list[GoalRecord]:
        """Check the current goal against the pose at `t_ns`; return the records that ended."""
        ended: list[GoalRecord] = []
        while (record := self.current) is not None:
            if self._reached(pose, record.goal):
                ended.append(self._finish(Outcome.REACHED, '', t_ns))
                continue
            if self._stalled(goal_distance(pose, record.goal), t_ns):
                ended.append(self._finish(Outcome.FAILED, REASON_NO_PROGRESS, t_ns))
                continue
            break
        return ended

    def fail_current(self, reason: str, t_ns: int) -> GoalRecord | None:
        """Mark the current goal failed with `reason` and move on; return its record."""
        return None if self.current is None else self._finish(Outcome.FAILED, reason, t_ns)

    def replace(self, goal: Pose2D, t_ns: int) -> list[GoalRecord]:
        """Replace the remaining goals with `goal`; return the records that ended (replaced)."""
        ended = []
        while self.current is not None:
            ended.append(self._finish(Outcome.FAILED, REASON_REPLACED, t_ns))
        self.records.append(GoalRecord(len(self.records), goal))
        return ended

    def _reached(self, pose: Pose2D, goal: Pose2D) -> bool:
        yaw_error = abs(wrap_angle(pose.yaw - goal.yaw))
        return (goal_distance(pose, goal) <= self.params.xy_tolerance
                and yaw_error <= self.params.yaw_tolerance)

    def _stalled(self, distance: float, t_ns: int) -> bool:
        """Update the progress anchor; whether the goal has seen no progress for too long."""
        if self._anchor is None:
            self._anchor = (distance, t_ns)
            return False
        anchor_distance, anchor_ns = self._anchor
        needed = min(self.params.progress_distance_m,
                     anchor_distance - self.params.xy_tolerance)
        # Within the xy tolerance there is no distance left to gain: only the timeout runs.
        if needed > 0 and distance <= anchor_distance - needed:
            self._anchor = (distance, t_ns)
            return False
        return t_ns - anchor_ns > self.params.progress_timeout_s * NS_PER_S

    def _finish(self, outcome: Outcome, reason: str, t_ns: int) -> GoalRecord:
        record = self.records[self._current]
        record.outcome, record.reason, record.t_s = outcome, reason, t_ns / NS_PER_S
        self._current += 1
        self._anchor = None
        return record


def nearest_segment(path: Sequence[Point], point: Point, first: int = 0) -> int:
    """Return the index of the path segment (from `first` on) nearest to `point`.

    A path of fewer than two points has segment 0. Starting at `first` keeps the index from
    jumping back where a path passes near itself.
    """
    if len(path) < 2:
        return 0
    first = min(max(first, 0), len(path) - 2)
    pts = np.asarray(path[first:], dtype=float).reshape(-1, 2)
    a, b = pts[:-1], pts[1:]
    ab = b - a
    length2 = np.einsum('ij,ij->i', ab, ab)
    p = np.asarray(point, dtype=float)
    t = np.einsum('ij,ij->i', p - a, ab) / np.where(length2 > 0, length2, 1.0)
    closest = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return first + int(np.argmin(np.hypot(*(closest - p).T)))
