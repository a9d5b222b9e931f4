"""Health of the perception model over a time window: latency, NaN outputs, confidence (pure).

The node reports each inference (its latency, how many outputs were NaN, a confidence in
[0, 1]); the perception breaker polls `check`. Silence and staleness of the model's output are
the stream detectors' business, as for any source.
"""

import math
from collections import deque
from dataclasses import dataclass

from robo_edge.breakers.faults import NS_PER_MS, NS_PER_S, Fault, TripReason
from robo_edge.breakers.params import param


@dataclass(frozen=True, slots=True)
class ModelHealthConfig:
    """Budgets of the perception model (time in seconds)."""

    latency_budget_s: float = param(0.1, 'an inference slower than this is late (0: off)', 0.0)
    window_s: float = param(1.0, 'window of every share and mean', 0.0)
    min_inferences: int = param(5, 'inferences needed in the window to judge', 1)
    max_late_fraction: float = param(0.5, 'latency: trip above this share of late inferences',
                                     0.0, 1.0)
    max_nan_fraction: float = param(0.2, 'NaN: trip above this share of inferences with NaN '
                                         'outputs', 0.0, 1.0)
    min_confidence: float = param(0.2, 'confidence collapse: trip when the mean confidence '
                                       'falls below this (0: off)', 0.0, 1.0)


class ModelHealth:
    """Windowed judgement of the model's inferences; a Detector."""

    def __init__(self, config: ModelHealthConfig) -> None:
        self.config = config
        self._window_ns = round(config.window_s * NS_PER_S)
        self._budget_ns = round(config.latency_budget_s * NS_PER_S)
        # (arrival, late, has NaN, confidence or NaN)
        self._samples: deque[tuple[int, bool, bool, float]] = deque()

    def observe(self, now_ns: int, latency_ns: int, nan_outputs: int, confidence: float) -> None:
        """Record one inference."""
        nan = nan_outputs > 0 or math.isnan(confidence)
        late = self._budget_ns > 0 and latency_ns > self._budget_ns
        self._samples.append((now_ns, late, nan, confidence))
        self._prune(now_ns)

    def check(self, now_ns: int) -> Fault | None:
        """Return NAN_OUTPUT, LATENCY or LOW_CONFIDENCE (in that order), or None."""
        self._prune(now_ns)
        cfg, total = self.config, len(self._samples)
        if total < cfg.min_inferences:
            return None
        nans = sum(1 for s in self._samples if s[2])
        if nans > cfg.max_nan_fraction * total:
            return Fault(TripReason.NAN_OUTPUT, f'{nans} of {total} inferences with NaN output')
        late = sum(1 for s in self._samples if s[1])
        if late > cfg.max_late_fraction * total:
            return Fault(TripReason.LATENCY, f'{late} of {total} inferences over '
                                             f'{self._budget_ns / NS_PER_MS:.0f} ms')
        confidences = [s[3] for s in self._samples if not s[2]]
        if cfg.min_confidence > 0 and confidences:
            mean = sum(confidences) / len(confidences)
            if mean < cfg.min_confidence:
                return Fault(TripReason.LOW_CONFIDENCE, f'mean confidence {mean:.2f} below '
                                                        f'{cfg.min_confidence:.2f}')
        return None

    def _prune(self, now_ns: int) -> None:
        oldest = now_ns - self._window_ns
        while self._samples and self._samples[0][0] < oldest:
            self._samples.popleft()
