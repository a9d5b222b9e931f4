"""Health of one sensor stream: rate, jitter, age, drops by reason, frozen payloads, a level.

Time is passed in as integer nanoseconds of the node clock. Rate and jitter are measured on the
stamps of accepted messages inside a sliding window of arrival times: the lockstep twin
delivers bursts whose arrival times say nothing about the sensor, while their stamps do.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from robo_edge.health.report import HealthReport, Level

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
# Enough for a 10 s window at 1 kHz; older samples fall out even if the clock stands still.
_MAX_SAMPLES = 10_000


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Thresholds of the level; `frozen_repeats` 0 disables the frozen check."""

    nominal_rate_hz: float
    window_s: float = 2.0
    stale_periods: float = 3.0
    rate_warn_fraction: float = 0.5
    frozen_repeats: int = 10

    @property
    def stale_ns(self) -> int:
        """Return the silence after which the stream is stale."""
        return int(self.stale_periods * NS_PER_S / self.nominal_rate_hz)

    @property
    def window_ns(self) -> int:
        """Return the length of the sliding window."""
        return int(self.window_s * NS_PER_S)


class StreamHealth:
    """Accumulates what happened to one stream and reports its health on demand."""

    def __init__(self, config: HealthConfig, reasons: Iterable[str] = ()) -> None:
        self._config = config
        self._drops = {reason: 0 for reason in reasons}
        self._accepted: deque[tuple[int, int]] = deque(maxlen=_MAX_SAMPLES)
        self._drop_times: deque[int] = deque(maxlen=_MAX_SAMPLES)
        self._received = 0
        self._republished = 0
        self._frozen = 0
        self._nan_readings = 0
        self._first_arrival_ns: int | None = None
        self._last_arrival_ns: int | None = None
        self._first_accept_ns: int | None = None
        self._last_accept_ns: int | None = None
        self._last_stamp_ns: int | None = None
        self._last_digest = b''
        self._repeats = 0
        self._last_drop = ('', '')

    @property
    def config(self) -> HealthConfig:
        """Return the thresholds in use."""
        return self._config

    @config.setter
    def config(self, config: HealthConfig) -> None:
        """Judge by new thresholds from now on; what was counted stays."""
        self._config = config

    def record_received(self, now_ns: int) -> None:
        """Count a message as it arrives, before it is judged."""
        self._received += 1
        if self._first_arrival_ns is None:
            self._first_arrival_ns = now_ns
        self._last_arrival_ns = now_ns

    def record_drop(self, now_ns: int, reason: str, detail: str) -> None:
        """Count a dropped message."""
        self._drops[reason] = self._drops.get(reason, 0) + 1
        self._drop_times.append(now_ns)
        self._last_drop = (reason, detail)

    def record_accept(self, now_ns: int, stamp_ns: int, digest: bytes, nan_count: int = 0) -> bool:
        """Count an accepted (republished) message; return True when the stream is frozen."""
        if self._last_stamp_ns is not None and stamp_ns <= self._last_stamp_ns:
            self._accepted.clear()  # the source's timeline restarted (a twin reset)
        self._accepted.append((now_ns, stamp_ns))
        self._last_stamp_ns = stamp_ns
        self._republished += 1
        self._nan_readings += nan_count
        if self._first_accept_ns is None:
            self._first_accept_ns = now_ns
        self._last_accept_ns = now_ns
        self._repeats = self._repeats + 1 if digest == self._last_digest else 1
        self._last_digest = digest
        frozen = self.frozen_now
        self._frozen += int(frozen)
        return frozen

    @property
    def frozen_now(self) -> bool:
        """Return True while the latest payloads are identical `frozen_repeats` times in a row."""
        limit = self._config.frozen_repeats
        return limit > 0 and self._repeats >= limit

    def level(self, now_ns: int) -> tuple[Level, str]:
        """Return the level and a one-line reason for it."""
        self._prune(now_ns)
        cfg = self._config
        if self._last_arrival_ns is None:
            return Level.STALE, 'no message received'
        silence_ns = now_ns - self._last_arrival_ns
        if silence_ns > cfg.stale_ns:
            return Level.STALE, f'no message for {silence_ns / NS_PER_MS:.0f} ms'
        if self.frozen_now:
            return Level.ERROR, f'frozen: {self._repeats} identical payloads in a row'
        valid_silence_ns = now_ns - self._valid_since_ns(now_ns)
        if valid_silence_ns > cfg.stale_ns:
            return Level.ERROR, f'no valid message for {valid_silence_ns / NS_PER_MS:.0f} ms' + (
                self._last_drop_text()
            )
        if self._drop_times:
            return Level.WARN, f'{len(self._drop_times)} drops in {cfg.window_s:g} s' + (
                self._last_drop_text()
            )
        return self._rate_level(now_ns)

    def report(self, now_ns: int) -> HealthReport:
        """Return the full report at `now_ns`."""
        level, message = self.level(now_ns)
        age_ms = float('inf')
        if self._last_stamp_ns is not None:
            age_ms = (now_ns - self._last_stamp_ns) / NS_PER_MS
        return HealthReport(
            level=level,
            message=message,
            rate_hz=self.rate_hz(now_ns),
            jitter_ms=self.jitter_ms(now_ns),
            age_ms=age_ms,
            received=self._received,
            republished=self._republished,
            drops=dict(self._drops),
            frozen=self._frozen,
            nan_readings=self._nan_readings,
            last_drop_reason=self._last_drop[0],
            last_drop_detail=self._last_drop[1],
        )

    def rate_hz(self, now_ns: int) -> float:
        """Return the rate of accepted messages in the window ending at `now_ns`."""
        self._prune(now_ns)
        if len(self._accepted) < 2:
            return 0.0
        span_ns = self._accepted[-1][1] - self._accepted[0][1]
        return (len(self._accepted) - 1) * NS_PER_S / span_ns if span_ns > 0 else 0.0

    def jitter_ms(self, now_ns: int) -> float:
        """Return the std dev of the stamp intervals in the window ending at `now_ns`."""
        self._prune(now_ns)
        if len(self._accepted) < 3:
            return 0.0
        stamps = np.fromiter((stamp for _, stamp in self._accepted), dtype=np.int64)
        return float(np.std(np.diff(stamps))) / NS_PER_MS

    def _rate_level(self, now_ns: int) -> tuple[Level, str]:
        cfg = self._config
        warming_up = (
            self._first_accept_ns is None or now_ns - self._first_accept_ns < cfg.window_ns
        )
        rate = self.rate_hz(now_ns)
        floor = cfg.rate_warn_fraction * cfg.nominal_rate_hz
        if not warming_up and rate < floor:
            return Level.WARN, f'rate {rate:.2f} Hz below {floor:.2f} Hz'
        return Level.OK, 'ok'

    def _valid_since_ns(self, now_ns: int) -> int:
        # Before the first valid message, the stream has been invalid since its first arrival.
        for since_ns in (self._last_accept_ns, self._first_arrival_ns):
            if since_ns is not None:
                return since_ns
        return now_ns

    def _last_drop_text(self) -> str:
        reason, detail = self._last_drop
        return f'; last drop: {reason} ({detail})' if reason else ''

    def _prune(self, now_ns: int) -> None:
        oldest_ns = now_ns - self._config.window_ns
        while self._accepted and self._accepted[0][0] < oldest_ns:
            self._accepted.popleft()
        while self._drop_times and self._drop_times[0] < oldest_ns:
            self._drop_times.popleft()
