"""Probation after an activation: watch model output and breaker trips; decide rollback.

Fed once per perception frame (or per diagnostics update) with the floor fraction and mean
confidence, and the breaker trip count so far. Over a sliding window of `window_s` the
floor-fraction mean is compared with the reference in the model's metadata: a distance above
`drift_std` reference standard deviations (floored at `min_std`), or a mean confidence below
`confidence_floor` x the reference p05, is a drift. A drift held for `hold_s`, or more than
`max_trips` breaker trips, decides a rollback. After `duration_s` without one, the candidate
is confirmed. Time is passed in (nanoseconds).
"""

from collections import deque
from dataclasses import dataclass

from robo_edge.perception.model import ReferenceOutput

NS = 1_000_000_000


@dataclass(frozen=True)
class ProbationConfig:
    """Thresholds of the probation window."""

    duration_s: float = 300.0
    window_s: float = 5.0
    min_frames: int = 20
    drift_std: float = 3.0
    min_std: float = 0.02
    confidence_floor: float = 0.9
    hold_s: float = 5.0
    max_trips: int = 2


@dataclass(frozen=True)
class ProbationDecision:
    """Rollback now, confirmed, or still watching; and why."""

    rollback: bool = False
    confirmed: bool = False
    reason: str = ''


class Probation:
    """The probation of one activated candidate."""

    def __init__(self, config: ProbationConfig, reference: ReferenceOutput | None,
                 start_ns: int, trips_at_start: int = 0) -> None:
        self.config = config
        self.reference = reference
        self.start_ns = start_ns
        self.trips_at_start = trips_at_start
        self._frames: deque[tuple[int, float, float]] = deque()
        self._drift_since: int | None = None
        self.decision = ProbationDecision()

    def _drift(self) -> str | None:
        if self.reference is None or len(self._frames) < self.config.min_frames:
            return None
        ref, cfg = self.reference, self.config
        floor = sum(f[1] for f in self._frames) / len(self._frames)
        confidence = sum(f[2] for f in self._frames) / len(self._frames)
        spread = cfg.drift_std * max(ref.floor_fraction_std, cfg.min_std)
        if abs(floor - ref.floor_fraction_mean) > spread:
            return f'floor fraction {floor:.3f} vs reference {ref.floor_fraction_mean:.3f}'
        if confidence < cfg.confidence_floor * ref.confidence_p05:
            return f'confidence {confidence:.3f} below reference p05 {ref.confidence_p05:.3f}'
        return None

    def observe(self, now_ns: int, floor_fraction: float, confidence: float,
                breaker_trips: int) -> ProbationDecision:
        """Add one observation; return the decision (final once rollback or confirmed)."""
        if self.decision.rollback or self.decision.confirmed:
            return self.decision
        cfg = self.config
        trips = breaker_trips - self.trips_at_start
        if trips > cfg.max_trips:
            self.decision = ProbationDecision(rollback=True, reason=f'{trips} breaker trips')
            return self.decision
        self._frames.append((now_ns, floor_fraction, confidence))
        while self._frames and self._frames[0][0] < now_ns - cfg.window_s * NS:
            self._frames.popleft()
        drift = self._drift()
        if drift is None:
            self._drift_since = None
        else:
            self._drift_since = now_ns if self._drift_since is None else self._drift_since
            if now_ns - self._drift_since >= cfg.hold_s * NS:
                self.decision = ProbationDecision(rollback=True, reason=f'drift: {drift}')
                return self.decision
        if now_ns - self.start_ns >= cfg.duration_s * NS:
            self.decision = ProbationDecision(confirmed=True, reason='probation passed')
        return self.decision
