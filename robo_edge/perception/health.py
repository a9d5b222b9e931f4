"""Health of the perception pipeline: latency against a budget, bad outputs, drops, confidence.

Time is passed in as integer nanoseconds of the node clock; latencies are wall milliseconds
measured by the caller. Latency and confidence statistics cover the last `window_frames`
inferences, drops the last `drop_window_s` seconds.
"""

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from robo_edge.health.report import Level
from robo_edge.perception.model import ReferenceOutput

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
# Fewer inferences than this in the window say nothing about p99 or a drift.
MIN_FRAMES_FOR_STATS = 20
DRIFT_STD = 3.0  # floor fraction this many reference std devs away is a drift
DRIFT_MIN_STD = 0.02  # ... with the std floored so a near-constant reference is not brittle
# Why a frame produced no output; the value names the diagnostics key drops_<reason>.
DROP_REASONS = ('no_camera_info', 'camera_info', 'encoding', 'structure', 'size_mismatch',
                'zero_stamp', 'nan_output', 'output_shape', 'exception')


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Thresholds of the level."""

    budget_ms: float = 25.0
    window_frames: int = 150
    drop_window_s: float = 2.0
    stale_s: float = 1.0


@dataclass(frozen=True, slots=True)
class Inference:
    """What one frame measured.

    `latency_ms` runs from the image callback to the outputs published (the budgeted figure),
    `inference_ms` is the onnxruntime call alone.
    """

    now_ns: int
    latency_ms: float
    inference_ms: float
    confidence_mean: float
    floor_fraction: float
    non_finite: int


@dataclass(frozen=True, slots=True)
class PerceptionReport:
    """The level, a one-line reason, and the diagnostics key-values in a stable order."""

    level: Level
    message: str
    values: list[tuple[str, str]] = field(default_factory=list)


class PerceptionHealth:
    """Accumulates what happened to the pipeline and reports its health on demand."""

    def __init__(self, config: HealthConfig, reasons: Iterable[str] = DROP_REASONS) -> None:
        self.config = config
        self._frames: deque[Inference] = deque(maxlen=max(1, config.window_frames))
        self._drops = {reason: 0 for reason in reasons}
        self._drop_times: deque[int] = deque(maxlen=10_000)
        self._last_drop = ('', '')
        self._error = ''
        self._reference: ReferenceOutput | None = None
        self.received = 0
        self.inferences = 0
        self.skipped_stale = 0
        self.over_budget = 0
        self.nan_outputs = 0
        self._last_arrival_ns: int | None = None
        self._last_inference_ns: int | None = None
        self._since_ns: int | None = None

    # -- recording ------------------------------------------------------------------------
    def start(self, now_ns: int, reference: ReferenceOutput | None) -> None:
        """Begin watching (the node became active); clear an earlier error."""
        self._since_ns = now_ns
        self._reference = reference
        self._error = ''

    def stop(self) -> None:
        """Stop watching (the node is no longer active): no staleness while inactive."""
        self._since_ns = None

    def set_error(self, message: str) -> None:
        """Report ERROR with `message` until `start` (a model that failed to load)."""
        self._error = message

    def record_received(self, now_ns: int) -> None:
        """Count an image as it arrives."""
        self.received += 1
        self._last_arrival_ns = now_ns

    def record_skipped(self) -> None:
        """Count a frame replaced by a newer one before it was processed."""
        self.skipped_stale += 1

    def drop_count(self, reason: str) -> int:
        """Return how many frames were dropped for `reason` so far."""
        return self._drops.get(reason, 0)

    def record_drop(self, now_ns: int, reason: str, detail: str) -> None:
        """Count an image that could not be used, with the reason."""
        self._drops[reason] = self._drops.get(reason, 0) + 1
        self._drop_times.append(now_ns)
        self._last_drop = (reason, detail)

    def record_inference(self, inference: Inference) -> None:
        """Count one inference."""
        self.inferences += 1
        self._frames.append(inference)
        self._last_inference_ns = inference.now_ns
        self.over_budget += int(inference.latency_ms > self.config.budget_ms)
        self.nan_outputs += int(inference.non_finite > 0)

    # -- reporting ------------------------------------------------------------------------
    def latency_ms(self, what: str = 'latency_ms') -> dict[str, float]:
        """Return p50, p99 and max of `what` (latency_ms, inference_ms) over the window."""
        if not self._frames:
            return {'p50': math.nan, 'p99': math.nan, 'max': math.nan}
        values = np.fromiter((getattr(f, what) for f in self._frames), float)
        p50, p99 = np.percentile(values, [50, 99])
        return {'p50': float(p50), 'p99': float(p99), 'max': float(values.max())}

    def confidence(self) -> tuple[float, float]:
        """Return the window means of confidence and floor fraction of finite outputs."""
        good = [f for f in self._frames if f.non_finite == 0]
        if not good:
            return math.nan, math.nan
        return (float(np.mean([f.confidence_mean for f in good])),
                float(np.mean([f.floor_fraction for f in good])))

    def level(self, now_ns: int) -> tuple[Level, str]:
        """Return the level and a one-line reason for it."""
        self._prune(now_ns)
        if self._error:
            return Level.ERROR, self._error
        if self._since_ns is None:
            return Level.OK, 'inactive'
        stale = self._stale(now_ns)
        if stale is not None:
            return stale
        if any(f.non_finite for f in self._frames):
            count = sum(1 for f in self._frames if f.non_finite)
            return Level.ERROR, f'{count} of the last {len(self._frames)} outputs not finite'
        return self._warning() or (Level.OK, 'ok')

    def _stale(self, now_ns: int) -> tuple[Level, str] | None:
        limit_ns = int(self.config.stale_s * NS_PER_S)
        if self._last_arrival_ns is None or self._last_arrival_ns < self._since_ns:
            if now_ns - self._since_ns > limit_ns:
                return Level.STALE, 'no image received'
            return None
        if now_ns - self._last_arrival_ns > limit_ns:
            silence_ms = (now_ns - self._last_arrival_ns) / NS_PER_MS
            return Level.STALE, f'no image for {silence_ms:.0f} ms'
        last_ok = self._last_inference_ns or self._since_ns
        if now_ns - max(last_ok, self._since_ns) > limit_ns:
            return Level.ERROR, 'images arrive but none is processed' + self._last_drop_text()
        return None

    def _warning(self) -> tuple[Level, str] | None:
        latency = self.latency_ms()
        budget = self.config.budget_ms
        if len(self._frames) >= MIN_FRAMES_FOR_STATS and latency['p99'] > budget:
            return Level.WARN, f'inference p99 {latency["p99"]:.1f} ms over budget {budget:g} ms'
        if self._drop_times:
            return Level.WARN, (f'{len(self._drop_times)} drops in '
                                f'{self.config.drop_window_s:g} s' + self._last_drop_text())
        return self._drift()

    def _drift(self) -> tuple[Level, str] | None:
        ref = self._reference
        good = sum(1 for f in self._frames if f.non_finite == 0)
        if ref is None or good < MIN_FRAMES_FOR_STATS:
            return None
        confidence, floor = self.confidence()
        if confidence < ref.confidence_p05:
            return Level.WARN, (f'confidence {confidence:.3f} below the reference p05 '
                                f'{ref.confidence_p05:.3f}: unfamiliar scenes?')
        spread = DRIFT_STD * max(ref.floor_fraction_std, DRIFT_MIN_STD)
        if abs(floor - ref.floor_fraction_mean) > spread:
            return Level.WARN, (f'floor fraction {floor:.3f} far from the reference '
                                f'{ref.floor_fraction_mean:.3f}')
        return None

    def report(self, now_ns: int) -> PerceptionReport:
        """Return the level and every figure as diagnostics key-values."""
        level, message = self.level(now_ns)
        latency = self.latency_ms()
        inference = self.latency_ms('inference_ms')
        confidence, floor = self.confidence()
        window_over = sum(1 for f in self._frames if f.latency_ms > self.config.budget_ms)
        values = [
            ('received', str(self.received)),
            ('inferences', str(self.inferences)),
            ('latency_p50_ms', _number(latency['p50'])),
            ('latency_p99_ms', _number(latency['p99'])),
            ('latency_max_ms', _number(latency['max'])),
            ('inference_p50_ms', _number(inference['p50'])),
            ('inference_p99_ms', _number(inference['p99'])),
            ('budget_ms', _number(self.config.budget_ms)),
            ('over_budget', str(self.over_budget)),
            ('over_budget_window', str(window_over)),
            ('window_frames', str(len(self._frames))),
            ('nan_outputs', str(self.nan_outputs)),
            ('skipped_stale', str(self.skipped_stale)),
            ('drops', str(sum(self._drops.values()))),
            *[(f'drops_{reason}', str(count)) for reason, count in self._drops.items()],
            ('last_drop_reason', self._last_drop[0] or 'none'),
            ('last_drop_detail', self._last_drop[1]),
            ('confidence_mean', _number(confidence)),
            ('floor_fraction', _number(floor)),
        ]
        if self._reference is not None:
            values += [
                ('reference_confidence_mean', _number(self._reference.confidence_mean)),
                ('reference_confidence_p05', _number(self._reference.confidence_p05)),
                ('reference_floor_fraction', _number(self._reference.floor_fraction_mean)),
            ]
        return PerceptionReport(level, message, values)

    def _last_drop_text(self) -> str:
        reason, detail = self._last_drop
        return f'; last drop: {reason} ({detail})' if reason else ''

    def _prune(self, now_ns: int) -> None:
        oldest_ns = now_ns - int(self.config.drop_window_s * NS_PER_S)
        while self._drop_times and self._drop_times[0] < oldest_ns:
            self._drop_times.popleft()


def _number(value: float) -> str:
    return f'{value:.3f}' if math.isfinite(value) else str(value)
