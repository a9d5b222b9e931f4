"""Goal sequencing for the planner (pure): which goal is current, and how each one ended.

Goals are visited in order. The current goal is reached when the pose is within `xy_tolerance`
and `yaw_tolerance` of it and, when the pose's variances are given (localisation), its position
sigma is at most `xy_tolerance / k_sigma`. Within the tolerances but more uncertain than that,
the goal waits up to `uncertain_wait_s` of simulated time for the sigma to shrink (a LiDAR
coming back), then ends `uncertain` with the variances. Without variances (dead reckoning) the
pose alone is judged. A goal fails with 'no progress' when the distance to it has not shrunk by
`progress_distance_m` (or down to the xy tolerance, when that is nearer) within
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

from robo_edge.control.uncertainty import Variances, position_sigma
from robo_edge.robot.kinematics import Pose2D, wrap_angle

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
    UNCERTAIN = 'uncertain'  # at the goal as far as the pose says, but too uncertain to trust


@dataclass(frozen=True)
class GoalParams:
    """Tolerances of a reached goal and the progress check; metres, radians, seconds."""

    xy_tolerance: float = 0.2
    yaw_tolerance: float = 0.3
    progress_distance_m: float = 0.3
    progress_timeout_s: float = 30.0
    k_sigma: float = 2.0
    uncertain_wait_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ('xy_tolerance', 'yaw_tolerance', 'progress_distance_m', 'progress_timeout_s',
                     'k_sigma'):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f'{name} must be a finite number > 0, got {value!r}')
        if not (math.isfinite(self.uncertain_wait_s) and self.uncertain_wait_s >= 0):
            raise ValueError(
                f'uncertain_wait_s must be a finite number >= 0, got {self.uncertain_wait_s!r}')

    @property
    def max_sigma(self) -> float:
        """The largest position sigma at which a goal within the tolerance counts reached."""
        return self.xy_tolerance / self.k_sigma


@dataclass
class GoalRecord:
    """One goal and its outcome; `t_s` is the simulated time of the outcome.

    `covariance`: the variances of x, y, yaw of the pose the outcome was judged on (None: not
    known, as without localisation or for a goal failed or replaced from outside).
    """

    index: int
    goal: Pose2D
    outcome: Outcome = Outcome.PENDING
    reason: str = ''
    t_s: float | None = None
    covariance: Variances | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the record as written to the planner's JSON report."""
        return {
            'index': self.index,
            'goal': [self.goal.x, self.goal.y, self.goal.yaw],
            'outcome': self.outcome.value,
            'reason': self.reason,
            't': self.t_s,
            'covariance': None if self.covariance is None else [
                json_float(v) for v in self.covariance],
        }


def json_float(value: float) -> float | str:
    """Return the value for strict JSON: non-finite ones as the strings 'inf', '-inf', 'nan'."""
    return value if math.isfinite(value) else str(float(value))


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
        self._uncertain_since: int | None = None  # t_ns the pose came within, too uncertain

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

    def report(self) -> dict[str, object]:
        """Return the planner's JSON report: every record, and how many ended uncertain."""
        return {'goals': [record.as_dict() for record in self.records],
                'goals_uncertain': self.count(Outcome.UNCERTAIN)}

    def status_values(self) -> dict[str, str]:
        """Return the goals' part of the planner's diagnostics."""
        failed = [record for record in self.records if record.outcome is Outcome.FAILED]
        return {
            'goal_index': '' if self.index is None else str(self.index),
            'goals': str(len(self.records)),
            'goals_reached': str(self.count(Outcome.REACHED)),
            'goals_failed': str(len(failed)),
            'goals_uncertain': str(self.count(Outcome.UNCERTAIN)),
            'failures': '; '.join(f'{r.index}: {r.reason}' for r in failed),
        }

    def update(self, pose: Pose2D, t_ns: int,
               variances: Variances | None = None) -> list[GoalRecord]:
        """Check the current goal against the pose at `t_ns`; return the records that ended.

        `variances` are those of the pose (None: not known; the pose alone is judged).
        """
        ended: list[GoalRecord] = []
        while (record := self.current) is not None:
            outcome = self._judge(pose, record.goal, t_ns, variances)
            if outcome is None and self._stalled(goal_distance(pose, record.goal), t_ns):
                ended.append(self._finish(Outcome.FAILED, REASON_NO_PROGRESS, t_ns, variances))
                continue
            if outcome is None:
                break
            ended.append(self._finish(outcome, '', t_ns, variances))
        return ended

    def _judge(self, pose: Pose2D, goal: Pose2D, t_ns: int,
               variances: Variances | None) -> Outcome | None:
        """REACHED, UNCERTAIN once the wait for a smaller sigma is over, or None (go on)."""
        if not self._reached(pose, goal):
            self._uncertain_since = None
            return None
        if variances is None or position_sigma(variances) <= self.params.max_sigma:
            return Outcome.REACHED
        if self._uncertain_since is None:
            self._uncertain_since = t_ns
        if t_ns - self._uncertain_since >= self.params.uncertain_wait_s * NS_PER_S:
            return Outcome.UNCERTAIN
        return None

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

    def _finish(self, outcome: Outcome, reason: str, t_ns: int,
                variances: Variances | None = None) -> GoalRecord:
        record = self.records[self._current]
        record.outcome, record.reason, record.t_s = outcome, reason, t_ns / NS_PER_S
        record.covariance = None if variances is None else tuple(float(v) for v in variances)
        self._current += 1
        self._anchor, self._uncertain_since = None, None
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
