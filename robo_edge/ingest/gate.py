"""The ingest decision for one message: validate, check its stamp, hash it, update health.

Nothing a message contains can make `admit` raise: an exception while validating or hashing
becomes a drop with reason `exception`, so a node's callback never dies on bad input.
"""

from collections.abc import Callable
from dataclasses import dataclass

from robo_edge.health.stream import HealthConfig, StreamHealth
from robo_edge.ingest.timecheck import StampChecker, StampPolicy
from robo_edge.ingest.verdict import DropReason, Verdict, drop

DROP_REASONS = tuple(reason.value for reason in DropReason)


@dataclass(frozen=True, slots=True)
class Admission:
    """The decision on one message: republish it or not, and whether the stream is frozen."""

    verdict: Verdict
    frozen: bool = False

    @property
    def accepted(self) -> bool:
        """Return True when the message is to be republished."""
        return self.verdict.ok


class IngestGate:
    """Validation, stamp checks and health of one sensor stream."""

    def __init__(self, stamps: StampPolicy, health: HealthConfig) -> None:
        self._stamps = StampChecker(stamps)
        self._health = StreamHealth(health, DROP_REASONS)

    @property
    def health(self) -> StreamHealth:
        """Return the health accumulator of the stream."""
        return self._health

    def reconfigure(self, stamps: StampPolicy, health: HealthConfig) -> None:
        """Judge the next messages by new limits; counts, windows and the last stamp stay."""
        self._stamps.policy = stamps
        self._health.config = health

    def admit(
        self,
        now_ns: int,
        stamp_ns: int,
        validate: Callable[[], Verdict],
        digest: Callable[[], bytes],
    ) -> Admission:
        """Judge one message that arrived at `now_ns`; health is updated either way."""
        self._health.record_received(now_ns)
        payload = b''
        try:
            verdict = validate()
            if verdict.ok:
                verdict = self._merge(self._stamps.check(stamp_ns, now_ns), verdict)
            if verdict.ok:
                payload = digest()
        except Exception as e:  # any failure on bad input is a counted drop, never a crash
            verdict = drop(DropReason.EXCEPTION, f'{type(e).__name__}: {e}'[:200])
        if verdict.reason is not None:
            self._health.record_drop(now_ns, verdict.reason.value, verdict.detail)
            return Admission(verdict)
        self._stamps.accept(stamp_ns)
        frozen = self._health.record_accept(now_ns, stamp_ns, payload, verdict.nan_count)
        return Admission(verdict, frozen)

    @staticmethod
    def _merge(stamp_verdict: Verdict, content_verdict: Verdict) -> Verdict:
        # The stamp check decides; the content check carries the NaN count of a passing scan.
        return stamp_verdict if not stamp_verdict.ok else content_verdict
