"""Time-windowed detectors of one stream: silence, staleness, frozen payloads, invalid share.

Each detector is fed arrivals (`now_ns`: the caller's clock at arrival; `stamp_ns`: the
message's header stamp) and polled with `check(now_ns)`. Windows are in time, not message
counts, so one configuration holds at any rate. The ingest nodes' `health.StreamHealth` reports
levels for diagnostics; these detectors answer a narrower question, "is there a fault now, and
which one", with the time semantics the breakers need (frozen over a duration, not a count;
staleness from the stamp, silence from the arrival).
"""

from collections import deque

from robo_edge.breakers.faults import NS_PER_MS, Fault, TripReason


def _ms(ns: int) -> str:
    return f'{ns / NS_PER_MS:.0f} ms'


class SilenceDetector:
    """No arrival for longer than `limit_ns` (counted from `start_ns` before the first)."""

    __slots__ = ('limit_ns', 'last_ns')

    def __init__(self, limit_ns: int, start_ns: int) -> None:
        self.limit_ns = limit_ns
        self.last_ns = start_ns

    def observe(self, now_ns: int) -> None:
        """Record an arrival."""
        self.last_ns = now_ns

    def clock_went_back(self, now_ns: int) -> None:
        """Count silence from the jump at the latest: an arrival "in the future" hides none."""
        self.last_ns = min(self.last_ns, now_ns)

    def check(self, now_ns: int) -> Fault | None:
        """Return SILENCE when the last arrival is older than the limit."""
        silent_ns = now_ns - self.last_ns
        if self.limit_ns > 0 and silent_ns > self.limit_ns:
            return Fault(TripReason.SILENCE, f'no message for {_ms(silent_ns)} '
                                             f'(limit {_ms(self.limit_ns)})')
        return None


class StaleDetector:
    """The newest message's stamp was older than `max_age_ns` when it arrived."""

    __slots__ = ('max_age_ns', 'age_ns')

    def __init__(self, max_age_ns: int) -> None:
        self.max_age_ns = max_age_ns
        self.age_ns = 0

    def observe(self, now_ns: int, stamp_ns: int) -> None:
        """Record the age of an arrival."""
        self.age_ns = now_ns - stamp_ns

    def check(self, now_ns: int) -> Fault | None:
        """Return STALE while the newest message arrived too old."""
        if self.max_age_ns > 0 and self.age_ns > self.max_age_ns:
            return Fault(TripReason.STALE, f'stamp {_ms(self.age_ns)} old on arrival '
                                           f'(limit {_ms(self.max_age_ns)})')
        return None


class FrozenDetector:
    """Identical payload digests in a row spanning at least `window_ns` of arrivals.

    An empty digest (the caller has none) neither extends nor breaks a run.
    """

    __slots__ = ('window_ns', 'digest', 'run_start_ns', 'run_end_ns', 'repeats')

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self.digest = b''
        self.run_start_ns = 0
        self.run_end_ns = 0
        self.repeats = 0

    def observe(self, now_ns: int, digest: bytes) -> None:
        """Record an arrival's payload digest."""
        if not digest:
            return
        if digest == self.digest:
            self.repeats += 1
        else:
            self.digest, self.run_start_ns, self.repeats = digest, now_ns, 0
        self.run_end_ns = now_ns

    def clock_went_back(self, now_ns: int) -> None:
        """Keep the run's span: move it to end at the jump (a negative span hides none)."""
        span_ns = self.run_end_ns - self.run_start_ns
        if self.run_end_ns > now_ns:
            self.run_start_ns, self.run_end_ns = now_ns - span_ns, now_ns

    def check(self, now_ns: int) -> Fault | None:
        """Return FROZEN while the current run of identical payloads spans the window."""
        span_ns = self.run_end_ns - self.run_start_ns
        if self.window_ns > 0 and self.repeats > 0 and span_ns >= self.window_ns:
            return Fault(TripReason.FROZEN, f'{self.repeats + 1} identical payloads over '
                                            f'{_ms(span_ns)}')
        return None


class InvalidDetector:
    """The share of invalid messages among the arrivals of the last `window_ns`."""

    __slots__ = ('window_ns', 'max_fraction', 'min_messages', 'arrivals', 'invalid')

    def __init__(self, window_ns: int, max_fraction: float, min_messages: int) -> None:
        self.window_ns = window_ns
        self.max_fraction = max_fraction
        self.min_messages = min_messages
        self.arrivals: deque[tuple[int, bool]] = deque()
        self.invalid = 0  # invalid arrivals in `arrivals`

    def observe(self, now_ns: int, valid: bool) -> None:
        """Record an arrival and whether it was valid."""
        if self.window_ns <= 0:
            return
        self.arrivals.append((now_ns, valid))
        self.invalid += not valid
        self._prune(now_ns)

    def check(self, now_ns: int) -> Fault | None:
        """Return INVALID when the invalid share in the window exceeds the limit."""
        if self.window_ns <= 0 or not self.invalid:
            return None
        self._prune(now_ns)
        total, bad = len(self.arrivals), self.invalid
        if total >= self.min_messages and bad > self.max_fraction * total:
            return Fault(TripReason.INVALID, f'{bad} of {total} messages invalid in '
                                             f'{_ms(self.window_ns)}')
        return None

    def clock_went_back(self, now_ns: int) -> None:
        """Keep every arrival in the window, none later than the jump."""
        self.arrivals = deque((min(t, now_ns), valid) for t, valid in self.arrivals)

    def _prune(self, now_ns: int) -> None:
        oldest, arrivals = now_ns - self.window_ns, self.arrivals
        while arrivals and arrivals[0][0] < oldest:
            self.invalid -= not arrivals.popleft()[1]


class StreamDetectors:
    """The four stream detectors of one source, fed together and checked in priority order."""

    __slots__ = ('silence', 'stale', 'frozen', 'invalid')

    def __init__(self, silence: SilenceDetector, stale: StaleDetector, frozen: FrozenDetector,
                 invalid: InvalidDetector) -> None:
        self.silence, self.stale, self.frozen, self.invalid = silence, stale, frozen, invalid

    def observe(self, now_ns: int, stamp_ns: int, digest: bytes = b'', valid: bool = True) -> None:
        """Record one arrival."""
        self.silence.observe(now_ns)
        self.stale.observe(now_ns, stamp_ns)
        self.frozen.observe(now_ns, digest)
        self.invalid.observe(now_ns, valid)

    def clock_went_back(self, now_ns: int) -> None:
        """Take a jump back to `now_ns`: nothing recorded may lie after it."""
        self.silence.clock_went_back(now_ns)
        self.frozen.clock_went_back(now_ns)
        self.invalid.clock_went_back(now_ns)

    def check(self, now_ns: int) -> Fault | None:
        """Return the first fault: silence, then stale, frozen, invalid."""
        return (self.silence.check(now_ns) or self.stale.check(now_ns)
                or self.frozen.check(now_ns) or self.invalid.check(now_ns))
