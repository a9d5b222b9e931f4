"""Stamp checks: zero, in the future, too old, or not advancing past the last accepted stamp.

Time is passed in as integer nanoseconds of the node clock (sim time in the twin). A clock
reading of zero or less means "not known yet" (sim time before the first /clock): the future
and age checks are skipped then, the zero and ordering checks still apply.
"""

from dataclasses import dataclass

from robo_edge.ingest.verdict import ACCEPT, DropReason, Verdict, drop

NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class StampPolicy:
    """How far a stamp may lead the clock and how far it may lag behind it."""

    max_future_ns: int
    max_age_ns: int


class StampChecker:
    """Checks each stamp against the clock and against the last accepted stamp."""

    def __init__(self, policy: StampPolicy) -> None:
        self._policy = policy
        self._last_ns: int | None = None

    @property
    def policy(self) -> StampPolicy:
        """Return the limits in use."""
        return self._policy

    @policy.setter
    def policy(self, policy: StampPolicy) -> None:
        """Check the next stamps against new limits (the last accepted stamp stays)."""
        self._policy = policy

    @property
    def last_ns(self) -> int | None:
        """Return the last accepted stamp, or None before the first one."""
        return self._last_ns

    def check(self, stamp_ns: int, now_ns: int) -> Verdict:
        """Return ACCEPT or the reason the stamp is unusable; does not record the stamp."""
        if stamp_ns <= 0:
            return drop(DropReason.ZERO_STAMP, f'stamp is {stamp_ns} ns (unset)')
        clock_known = now_ns > 0
        if clock_known:
            self._forget_if_clock_jumped_back(now_ns)
            lead_ns = stamp_ns - now_ns
            if lead_ns > self._policy.max_future_ns:
                return drop(DropReason.FUTURE_STAMP, f'stamp {_ms(lead_ns)} ms ahead of the clock')
            if -lead_ns > self._policy.max_age_ns:
                return drop(DropReason.TOO_OLD, f'stamp {_ms(-lead_ns)} ms old')
        return self._check_order(stamp_ns)

    def accept(self, stamp_ns: int) -> None:
        """Record the stamp of a message that was accepted."""
        self._last_ns = stamp_ns

    def _check_order(self, stamp_ns: int) -> Verdict:
        if self._last_ns is None or stamp_ns > self._last_ns:
            return ACCEPT
        if stamp_ns == self._last_ns:
            return drop(DropReason.DUPLICATE_STAMP, f'stamp {stamp_ns} ns repeated')
        back_ns = self._last_ns - stamp_ns
        return drop(DropReason.BACKWARDS, f'stamp {_ms(back_ns)} ms before the previous one')

    def _forget_if_clock_jumped_back(self, now_ns: int) -> None:
        # A restarted twin restarts sim time: without this every later stamp would be
        # "backwards" for ever. A last stamp beyond the allowed lead means the clock jumped.
        if self._last_ns is not None and self._last_ns - now_ns > self._policy.max_future_ns:
            self._last_ns = None


def _ms(ns: int) -> str:
    return f'{ns / NS_PER_MS:.1f}'
