"""One circuit breaker per source: CLOSED -> OPEN -> HALF_OPEN -> CLOSED, in time (pure).

```
            fault (after grace)                   open_s elapsed, not latched
  CLOSED ──────────────────────────► OPEN ─────────────────────────────► HALF_OPEN
     ▲                              ▲  ▲ flap_count opens in flap_window_s:  │  │
     │                              │  └─ latched until reset()              │  │
     │                              └───────────── any fault ────────────────┘  │
     └──────────────── healthy (no fault) for close_after_s ────────────────────┘
```

Faults come from polled detectors (the stream detectors, plus any attached: model health, a
yaw cross-check) and from one-shot reports (`report`: a scan cross-check's verdict). Every time
is an integer nanosecond argument; nothing reads a clock. Before `start_ns + grace_s` nothing
trips (detectors keep filling their windows). Only CLOSED -> OPEN counts as a flap: a failed
probe (HALF_OPEN -> OPEN) does not, so a long outage never latches by itself.
"""

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from robo_edge.breakers.detectors import (
    FrozenDetector,
    InvalidDetector,
    SilenceDetector,
    StaleDetector,
    StreamDetectors,
)
from robo_edge.breakers.faults import (
    NS_PER_S,
    BreakerState,
    Detector,
    Fault,
    Source,
    Trip,
)
from robo_edge.breakers.params import param

_HISTORY = 32


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Thresholds and windows of one breaker; a 0 disables a detector (time in seconds)."""

    nominal_rate_hz: float = param(10.0, 'nominal message rate (Hz)', 0.01, 10_000.0)
    grace_s: float = param(2.0, 'startup grace: nothing trips before start + this', 0.0)
    silence_periods: float = param(3.5, 'silence: no message for this many nominal periods '
                                        '(0: off)', 0.0)
    max_age_s: float = param(0.5, 'stale: a stamp older than this on arrival (0: off)', 0.0)
    frozen_window_s: float = param(0.3, 'frozen: identical payloads spanning this long '
                                        '(0: off)', 0.0)
    invalid_window_s: float = param(1.0, 'invalid: window of the invalid share (0: off)', 0.0)
    invalid_fraction: float = param(0.5, 'invalid: trip above this share of messages', 0.0, 1.0)
    invalid_min_messages: int = param(5, 'invalid: messages needed in the window to judge', 1)
    open_s: float = param(2.0, 'time OPEN before probing (HALF_OPEN)', 0.0)
    close_after_s: float = param(1.0, 'healthy time in HALF_OPEN before CLOSED', 0.0)
    flap_count: int = param(3, 'this many openings within flap_window_s latch OPEN', 1)
    flap_window_s: float = param(60.0, 'window of the flap count', 0.0)

    @property
    def period_ns(self) -> int:
        """Return the nominal period."""
        return round(NS_PER_S / self.nominal_rate_hz)

    @property
    def silence_ns(self) -> int:
        """Return the silence limit (0: off)."""
        return round(self.silence_periods * self.period_ns)


def default_config(source: Source) -> BreakerConfig:
    """Return the default breaker of a source (see docs/architecture.md for the timing)."""
    return _DEFAULTS[source]


# Frozen is off where a healthy stream legitimately repeats itself: a stopped base publishes
# the same odometry (the twin's wheel noise is proportional to speed), a controller holds a
# command, a deterministic model repeats its output on repeated input (the camera's own frozen
# check covers a frozen pipeline). 100 Hz and 50 Hz streams allow two 20 Hz control periods of
# silence because in lockstep they arrive in bursts, one per control period.
_DEFAULTS = {
    Source.LIDAR: BreakerConfig(nominal_rate_hz=10.0, silence_periods=3.5, frozen_window_s=0.2),
    Source.CAMERA: BreakerConfig(nominal_rate_hz=15.0, silence_periods=3.5, frozen_window_s=0.3),
    Source.IMU: BreakerConfig(nominal_rate_hz=100.0, silence_periods=10.0, frozen_window_s=0.2),
    Source.ODOMETRY: BreakerConfig(nominal_rate_hz=50.0, silence_periods=5.0, frozen_window_s=0.0),
    Source.PERCEPTION: BreakerConfig(nominal_rate_hz=10.0, silence_periods=5.0,
                                     frozen_window_s=0.0),
    Source.CONTROLLER: BreakerConfig(nominal_rate_hz=20.0, silence_periods=5.0,
                                     frozen_window_s=0.0),
}


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change: when, from, to, and why."""

    time_ns: int
    before: BreakerState
    after: BreakerState
    detail: str


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """What a breaker says at one instant."""

    source: Source
    state: BreakerState
    since_ns: int
    latched: bool
    last_trip: Trip | None
    trips: int

    @property
    def closed(self) -> bool:
        """Return True when the source is trusted."""
        return self.state is BreakerState.CLOSED


class Breaker:
    """The breaker of one source."""

    def __init__(self, source: Source, config: BreakerConfig, start_ns: int,
                 detectors: Sequence[Detector] = ()) -> None:
        self.source = source
        self.config = config
        self.stream = StreamDetectors(
            SilenceDetector(config.silence_ns, start_ns),
            StaleDetector(round(config.max_age_s * NS_PER_S)),
            FrozenDetector(round(config.frozen_window_s * NS_PER_S)),
            InvalidDetector(round(config.invalid_window_s * NS_PER_S), config.invalid_fraction,
                            config.invalid_min_messages),
        )
        self.detectors: list[Detector] = [self.stream, *detectors]
        self.state = BreakerState.CLOSED
        self.since_ns = start_ns
        self.latched = False
        self.last_trip: Trip | None = None
        self.trips: deque[Trip] = deque(maxlen=_HISTORY)
        self.transitions: deque[Transition] = deque(maxlen=_HISTORY)
        self.trip_count = 0
        self._grace_end_ns = start_ns + round(config.grace_s * NS_PER_S)
        self._healthy_since_ns = start_ns
        self._opens: deque[int] = deque()
        self._reported: Fault | None = None
        self._status: BreakerStatus | None = None

    def on_message(self, now_ns: int, stamp_ns: int, digest: bytes = b'',
                   valid: bool = True) -> None:
        """Record an arrival: `digest` of the payload (b'': none), `valid` per the ingest rules."""
        self.stream.observe(now_ns, stamp_ns, digest, valid)

    def report(self, fault: Fault) -> None:
        """Report a fault found elsewhere (a cross-check); it counts at the next update."""
        if self._reported is None:
            self._reported = fault

    def attach(self, detector: Detector) -> None:
        """Poll another detector at every update."""
        self.detectors.append(detector)

    def fault(self, now_ns: int) -> Fault | None:
        """Return the fault that holds now (polled detectors first), consuming any report."""
        reported, self._reported = self._reported, None
        for detector in self.detectors:
            found = detector.check(now_ns)
            if found is not None:
                return found
        return reported

    def update(self, now_ns: int) -> BreakerState:
        """Evaluate the detectors and advance the state machine; return the state."""
        fault = self.fault(now_ns)
        if now_ns < self._grace_end_ns:
            return self.state
        if self.state is BreakerState.OPEN and not self.latched:
            if now_ns - self.since_ns >= round(self.config.open_s * NS_PER_S):
                self._move(now_ns, BreakerState.HALF_OPEN, 'probing')
                self._healthy_since_ns = now_ns
        if fault is not None:
            self._on_fault(now_ns, fault)
        elif self.state is BreakerState.HALF_OPEN:
            healthy_ns = now_ns - self._healthy_since_ns
            if healthy_ns >= round(self.config.close_after_s * NS_PER_S):
                self._move(now_ns, BreakerState.CLOSED,
                           f'healthy for {healthy_ns / NS_PER_S:.2f} s')
        return self.state

    def clock_went_back(self, now_ns: int) -> None:
        """Take a jump back of the clock to `now_ns` (a system clock set back): unlock nothing.

        Times recorded "in the future" would hide a silence, end no grace and keep a breaker
        open for as long as the jump: the grace counts as served, an open or probing state
        starts its wait again from the jump, and every detector is brought back to it.
        """
        self.stream.clock_went_back(now_ns)
        self._grace_end_ns = min(self._grace_end_ns, now_ns)
        self.since_ns = min(self.since_ns, now_ns)
        self._healthy_since_ns = min(self._healthy_since_ns, now_ns)

    def reset(self, now_ns: int) -> None:
        """Clear a latch (an operator's decision): the breaker probes again (HALF_OPEN)."""
        self.latched = False
        self._status = None
        self._opens.clear()
        if self.state is not BreakerState.CLOSED:
            self._move(now_ns, BreakerState.HALF_OPEN, 'reset')
            self._healthy_since_ns = now_ns

    def status(self) -> BreakerStatus:
        """Return the current status."""
        if self._status is None:
            self._status = BreakerStatus(self.source, self.state, self.since_ns, self.latched,
                                         self.last_trip, self.trip_count)
        return self._status

    def _on_fault(self, now_ns: int, fault: Fault) -> None:
        if self.state is BreakerState.OPEN:
            return
        trip = Trip(fault.reason, fault.detail, now_ns)
        self._status = None
        self.last_trip = trip
        self.trips.append(trip)
        self.trip_count += 1
        if self.state is BreakerState.HALF_OPEN:
            self._move(now_ns, BreakerState.OPEN, f'probe failed: {trip.text()}')
            return
        self._opens.append(now_ns)
        window_ns = round(self.config.flap_window_s * NS_PER_S)
        while self._opens and self._opens[0] < now_ns - window_ns:
            self._opens.popleft()
        detail = trip.text()
        if len(self._opens) >= self.config.flap_count:
            self.latched = True
            detail += f'; latched: {len(self._opens)} openings in {self.config.flap_window_s:g} s'
        self._move(now_ns, BreakerState.OPEN, detail)

    def _move(self, now_ns: int, after: BreakerState, detail: str) -> None:
        self._status = None
        self.transitions.append(Transition(now_ns, self.state, after, detail))
        self.state = after
        self.since_ns = now_ns
