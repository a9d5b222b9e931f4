"""A baseline monitor for side-by-side benchmarks: arrival rate and timeout only, no fallback.

Configured like Autoware's topic_state_monitor (per topic: the rate over the last `window_size`
arrivals against `warn_rate` / `error_rate`, a `timeout` since the last arrival) combined with
Nav2's collision monitor `source_timeout` (data older than the timeout is no data): 1.0 s
timeout, error below 10% of the nominal rate, and any error stops the robot (SAFE_STOP) until
every topic is OK again, at once (no hysteresis, no latch, no cross-check, no model checks).
It has the interface of `guard.BreakerGuard`, so a bench can feed both the same streams.
"""

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from robo_edge.breakers.breaker import BreakerStatus, default_config
from robo_edge.breakers.cross_check import BeamScan
from robo_edge.breakers.fallback import FallbackChain
from robo_edge.breakers.faults import NS_PER_MS, NS_PER_S, BreakerState, Source, Trip, TripReason
from robo_edge.breakers.guard import GuardOutput
from robo_edge.breakers.mode import Mode, ModeOutput
from robo_edge.breakers.params import param
from robo_edge.health.report import Level


def _default_rates() -> dict[Source, float]:
    return {source: default_config(source).nominal_rate_hz for source in Source}


@dataclass(frozen=True)
class BaselineConfig:
    """topic_state_monitor-style thresholds, shared by every topic."""

    timeout_s: float = param(1.0, 'no message (or a stamp older than this): error', 0.0)
    window_size: int = param(10, 'arrivals the rate is measured over', 2)
    warn_rate_fraction: float = param(0.5, 'warn below this share of the nominal rate', 0.0)
    error_rate_fraction: float = param(0.1, 'error below this share of the nominal rate', 0.0)
    grace_s: float = param(2.0, 'startup: nothing is judged before start + this', 0.0)
    rates_hz: Mapping[Source, float] = field(default_factory=_default_rates)


class TopicMonitor:
    """One topic: rate over the last arrivals, time since the last arrival and stamp."""

    def __init__(self, nominal_rate_hz: float, config: BaselineConfig) -> None:
        self.config = config
        self.nominal_rate_hz = nominal_rate_hz
        self._arrivals: deque[int] = deque(maxlen=config.window_size)
        self._last_stamp_ns: int | None = None

    def on_message(self, now_ns: int, stamp_ns: int) -> None:
        """Record an arrival."""
        self._arrivals.append(now_ns)
        self._last_stamp_ns = stamp_ns

    def clock_went_back(self, now_ns: int) -> None:
        """Keep the arrivals, none later than the jump (a future one hides a timeout)."""
        self._arrivals = deque((min(t, now_ns) for t in self._arrivals),
                               maxlen=self._arrivals.maxlen)

    def rate_hz(self) -> float:
        """Return the rate over the arrivals in the window (0 with fewer than two)."""
        if len(self._arrivals) < 2:
            return 0.0
        span = self._arrivals[-1] - self._arrivals[0]
        return (len(self._arrivals) - 1) * NS_PER_S / span if span > 0 else float('inf')

    def level(self, now_ns: int) -> tuple[Level, TripReason | None, str]:
        """Return OK, WARN (low rate) or ERROR (not received, timeout, rate), and why."""
        cfg = self.config
        if not self._arrivals or self._last_stamp_ns is None:
            return Level.ERROR, TripReason.SILENCE, 'not received'
        timeout_ns = round(cfg.timeout_s * NS_PER_S)
        age_ns = now_ns - min(self._arrivals[-1], self._last_stamp_ns)
        if age_ns > timeout_ns:
            return Level.ERROR, TripReason.SILENCE, f'timeout: {age_ns / NS_PER_MS:.0f} ms'
        if len(self._arrivals) < cfg.window_size:
            return Level.OK, None, 'ok'  # as topic_state_monitor: no rate before a full window
        rate = self.rate_hz()
        if rate < cfg.error_rate_fraction * self.nominal_rate_hz:
            return Level.ERROR, TripReason.SILENCE, f'rate {rate:.2f} Hz'
        if rate < cfg.warn_rate_fraction * self.nominal_rate_hz:
            return Level.WARN, None, f'rate {rate:.2f} Hz'
        return Level.OK, None, 'ok'


class BaselineGuard:
    """Every source's TopicMonitor; any error stops, nothing falls back."""

    def __init__(self, config: BaselineConfig, start_ns: int) -> None:
        self.config = config
        self.topics = {s: TopicMonitor(config.rates_hz[s], config) for s in Source}
        self._grace_end_ns = start_ns + round(config.grace_s * NS_PER_S)
        self._states = {s: BreakerState.CLOSED for s in Source}
        self._since = {s: start_ns for s in Source}
        self._trips: dict[Source, Trip | None] = {s: None for s in Source}
        self._counts = {s: 0 for s in Source}
        self.chain = FallbackChain((Source.LIDAR,), start_ns)
        self._mode = ModeOutput(Mode.NOMINAL, 'start', None, start_ns, False)

    def clock_went_back(self, now_ns: int) -> None:
        """Take a jump back to `now_ns`: the grace counts as served, timeouts still run."""
        self._grace_end_ns = min(self._grace_end_ns, now_ns)
        self._since = {s: min(t, now_ns) for s, t in self._since.items()}
        for topic in self.topics.values():
            topic.clock_went_back(now_ns)

    def on_message(self, source: Source, now_ns: int, stamp_ns: int, digest: bytes = b'',
                   valid: bool = True) -> None:
        """Record an arrival (payload and validity are not looked at)."""
        self.topics[source].on_message(now_ns, stamp_ns)

    def on_inference(self, now_ns: int, latency_ns: int, nan_outputs: int,
                     confidence: float) -> None:
        """Ignored: the baseline has no model checks."""

    def on_scans(self, now_ns: int, lidar: BeamScan, virtual: BeamScan,
                 votes: object = None) -> None:
        """Ignored: the baseline has no cross-check."""

    def on_virtual_alone(self, now_ns: int, vote: object) -> None:
        """Ignored: the baseline has no cross-check."""

    def on_yaw_rate(self, source: Source, stamp_ns: int, yaw_rate: float) -> None:
        """Ignored: the baseline has no cross-check."""

    def update(self, now_ns: int) -> GuardOutput:
        """Judge every topic; SAFE_STOP while any is in error."""
        errors = []
        for source, topic in self.topics.items():
            level, reason, detail = topic.level(now_ns)
            failed = level is Level.ERROR and now_ns >= self._grace_end_ns
            state = BreakerState.OPEN if failed else BreakerState.CLOSED
            if failed:
                errors.append(f'{source.value} {detail}')
            if state is not self._states[source]:
                self._states[source], self._since[source] = state, now_ns
                if failed and reason is not None:
                    self._trips[source] = Trip(reason, detail, now_ns)
                    self._counts[source] += 1
        statuses = {
            s: BreakerStatus(s, self._states[s], self._since[s], False, self._trips[s],
                             self._counts[s])
            for s in Source
        }
        selection = self.chain.select(now_ns, self._states)
        mode = Mode.SAFE_STOP if errors else Mode.NOMINAL
        reason = ', '.join(errors) if errors else 'all topics ok'
        changed = mode is not self._mode.mode
        self._mode = ModeOutput(mode, reason, 0.0 if errors else None,
                                now_ns if changed else self._mode.since_ns, changed)
        return GuardOutput(statuses, selection, self._mode)
