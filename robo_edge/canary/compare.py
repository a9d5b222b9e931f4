"""Paired comparison of canary runs: per-metric differences, intervals and the verdict (pure).

Each case ran on both arms; a metric's difference is candidate minus release over the cases
where both runs report it. Its interval is a paired bootstrap of the mean difference (numpy,
a fixed seed, so a report is reproducible). A metric fails when the whole interval lies on
the worse side of its tolerance (zero unless the suite declares one); identical runs give a
zero-width interval at zero, which passes.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from robo_edge.canary.suite import METRICS, Thresholds

BOOTSTRAP_SEED = 14


def run_metrics(result: Mapping) -> dict[str, float | None]:
    """Return a run record's canary metrics (None where the run does not report one)."""
    localized = ((result.get('localization') or {}).get('localized') or {})
    total = result.get('goals_total', 0)
    reached = result.get('goals_reached', 0)
    times = [t for t in (result.get('goal_times_s') or []) if t is not None]
    return {
        'goals_reached': float(reached) if total else None,
        'collisions': float(result.get('collision_count', len(result.get('collisions', [])))),
        'min_clearance_m': _number(result.get('min_clearance_m')),
        # The time of the last goal, only when every goal was reached in truth.
        'time_to_goal_s': float(max(times)) if total and reached == total and times else None,
        'localization_error_m': _number(localized.get('xy_max_m')),
        'breaker_trips': float(result.get('breaker_trips', 0)),
        'perception_agreement': _number(result.get('perception_agreement')),
    }


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


def pair(release: Mapping[str, Mapping], candidate: Mapping[str, Mapping]
         ) -> tuple[list[str], list[str]]:
    """Return the case ids both arms ran, and those one arm is missing (sorted)."""
    both = sorted(set(release) & set(candidate))
    missing = sorted(set(release) ^ set(candidate))
    return both, missing


@dataclass(frozen=True)
class MetricDiff:
    """One metric's paired difference (candidate minus release) and its verdict."""

    metric: str
    n: int
    release_mean: float | None
    candidate_mean: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    better: int  # +1 larger is better, -1 smaller is better
    worse: bool  # the whole interval lies on the worse side of the tolerance
    wins: int  # cases where the candidate was better
    losses: int  # cases where the candidate was worse


def bootstrap_ci(diffs: np.ndarray, confidence: float, draws: int,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Return the percentile bootstrap interval of the mean of paired differences."""
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, diffs.size, size=(draws, diffs.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def diff_metric(metric: str, pairs: list[tuple[float | None, float | None]],
                thresholds: Thresholds) -> MetricDiff:
    """Return the paired difference of one metric over (release, candidate) values."""
    better = METRICS[metric]
    usable = [(r, c) for r, c in pairs if r is not None and c is not None]
    if not usable:
        return MetricDiff(metric, 0, None, None, None, None, None, better, False, 0, 0)
    rel, cand = (np.array(v, dtype=float) for v in zip(*usable, strict=True))
    diffs = cand - rel
    low, high = bootstrap_ci(diffs, thresholds.confidence, thresholds.bootstrap)
    tolerance = thresholds.tolerances.get(metric, 0.0)
    worse = bool(high < -tolerance) if better > 0 else bool(low > tolerance)
    return MetricDiff(
        metric, len(usable), float(rel.mean()), float(cand.mean()), float(diffs.mean()),
        low, high, better, worse,
        wins=int(np.sum(diffs * better > 0)), losses=int(np.sum(diffs * better < 0)),
    )


@dataclass(frozen=True)
class Verdict:
    """The canary's decision and its reasons."""

    passed: bool
    reasons: list[str]
    metrics: list[MetricDiff]

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {'passed': self.passed, 'reasons': self.reasons,
                'metrics': [asdict(m) for m in self.metrics]}


def compare(release: Mapping[str, Mapping], candidate: Mapping[str, Mapping],
            thresholds: Thresholds) -> Verdict:
    """Compare the arms' run records (keyed by case id) and decide by the thresholds."""
    cases, missing = pair(release, candidate)
    per_run = {arm: {c: run_metrics(runs[c]) for c in cases}
               for arm, runs in (('release', release), ('candidate', candidate))}
    diffs = [diff_metric(m, [(per_run['release'][c][m], per_run['candidate'][c][m])
                             for c in cases], thresholds) for m in METRICS]
    reasons = [f'{len(missing)} case(s) ran on one arm only: {missing[:5]}'] if missing else []
    if not cases:
        reasons.append('no case ran on both arms')
    new_collisions = sum(per_run['candidate'][c]['collisions']
                         - per_run['release'][c]['collisions'] for c in cases)
    if new_collisions > thresholds.max_new_collisions:
        reasons.append(f'{new_collisions:.0f} new collision(s) (allowed '
                       f'{thresholds.max_new_collisions})')
    for d in diffs:
        if d.worse and d.metric in thresholds.no_worse:
            reasons.append(f'{d.metric} worse beyond its interval: {d.mean_diff:+.3f} '
                           f'[{d.ci_low:+.3f}, {d.ci_high:+.3f}] over {d.n} pairs')
    return Verdict(not reasons, reasons, diffs)
