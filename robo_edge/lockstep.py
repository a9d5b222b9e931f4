"""Which inputs exist at a control tick, so a node computes on exactly those (pure).

In lockstep the twin publishes each sensor at known rates; a node answering tick t_k must
compute from the inputs the schedule says exist at t_k, not from whatever callback order gave
it (see docs/architecture.md, Navigation lockstep). On a real robot the same checks hold with
wall-clock stamps and a zero wait: the node uses the newest input not later than t_k.
"""

import functools
from dataclasses import dataclass, field
from fractions import Fraction

NS_PER_S = 1_000_000_000
# Wall period at which a node looks for held inputs or ticks whose wait has run out. Arrivals
# are answered at once in their callbacks, so this only bounds how late an overdue release is
# (the waits are 0.3 s or more), and each check wakes a Python executor, which a loaded host
# pays for in every node.
OVERDUE_CHECK_PERIOD_S = 0.05
# Starts every warning of a lockstep input wait that ran out, so a scenario run can count them
# in the node logs (robo_edge/scenario/late_releases.py): a run without one repeats exactly.
LATE_RELEASE = '[lockstep late]'


def latest_due(tick_ns: int, rate_hz: float, first_ns: int | None = None) -> int | None:
    """Return the stamp of the newest sample of a `rate_hz` stream due at or before `tick_ns`.

    Sample n is stamped floor(n * 1 s / rate) in integer nanoseconds, as the twin stamps it (a
    15 Hz stream: 66666666, 133333333, 200000000, ...); a rounded period would drift off those
    stamps for any rate that does not divide 1e9. The first sample is n = 1 (or at `first_ns`).
    None when no sample is due yet.
    """
    first = sample_stamp(1, rate_hz) if first_ns is None else first_ns
    if tick_ns < first:
        return None
    num, den = _rate(rate_hz)  # rate = num / den Hz
    # The largest n with floor(n * 1e9 * den / num) <= t, i.e. n * 1e9 * den < (t + 1) * num.
    n = ((tick_ns + 1) * num - 1) // (NS_PER_S * den)
    return sample_stamp(n, rate_hz)


def sample_stamp(n: int, rate_hz: float) -> int:
    """Return the stamp of sample `n` of a `rate_hz` stream: floor(n * 1 s / rate)."""
    num, den = _rate(rate_hz)
    return (n * NS_PER_S * den) // num


@functools.cache
def _rate(rate_hz: float) -> tuple[int, int]:
    """Return a rate as an exact fraction (15.0 -> 15/1, 7.5 -> 15/2)."""
    fraction = Fraction(rate_hz).limit_denominator(1000)
    if fraction <= 0:
        raise ValueError(f'a rate must be > 0 Hz, got {rate_hz}')
    return fraction.numerator, fraction.denominator


@dataclass
class StampedBuffer:
    """The last few messages of one stream, keyed by stamp, for exact-stamp lookups."""

    keep: int = 64
    items: dict[int, object] = field(default_factory=dict)

    def add(self, stamp_ns: int, item: object) -> None:
        """Store an item; drop the oldest beyond `keep`."""
        self.items[stamp_ns] = item
        if len(self.items) > self.keep:
            for stamp in sorted(self.items)[: len(self.items) - self.keep]:
                del self.items[stamp]

    def at(self, stamp_ns: int | None) -> object | None:
        """Return the item stamped exactly `stamp_ns`, if held."""
        return None if stamp_ns is None else self.items.get(stamp_ns)

    def latest_not_after(self, stamp_ns: int) -> tuple[int, object] | None:
        """Return (stamp, item) of the newest item not later than `stamp_ns` (the fallback)."""
        stamps = [s for s in self.items if s <= stamp_ns]
        if not stamps:
            return None
        newest = max(stamps)
        return newest, self.items[newest]


@dataclass
class PendingTick:
    """A tick waiting for its inputs, with the wall-clock time it started waiting."""

    tick_ns: int
    since_wall_s: float

    def overdue(self, now_wall_s: float, bound_s: float) -> bool:
        """Whether the wait has exceeded its bound: compute with what is there, and say so."""
        return now_wall_s - self.since_wall_s > bound_s


class TickEvent:
    """What enqueueing a tick did."""

    REPEAT = 'repeat'  # a re-sent tick, already pending or answered: ignored
    QUEUED = 'queued'
    RESTART = 'restart'  # the clock went back (a new run): the caller drops its state first


@dataclass
class TickQueue:
    """Control ticks waiting to be answered, in order; re-sent ticks are ignored."""

    pending: list[PendingTick] = field(default_factory=list)
    last_tick_ns: int = -1

    def behind(self) -> bool:
        """Whether a newer tick waits behind the head: the clock has moved on without it.

        In lockstep the twin only publishes t_k+1 once the gate has answered t_k, so this holds
        only after the graph went on without this node (it was late, or it was restarted and
        joined mid-run): the head then waits no more, and the node catches up at once.
        """
        return len(self.pending) > 1

    def enqueue(self, tick_ns: int, now_wall_s: float) -> str:
        """Queue a tick and return a TickEvent value."""
        if tick_ns == self.last_tick_ns:
            return TickEvent.REPEAT
        event = TickEvent.RESTART if tick_ns < self.last_tick_ns else TickEvent.QUEUED
        if event == TickEvent.RESTART:
            self.pending.clear()
        self.last_tick_ns = tick_ns
        self.pending.append(PendingTick(tick_ns, now_wall_s))
        return event
