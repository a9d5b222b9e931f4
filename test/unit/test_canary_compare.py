"""Pairing, paired intervals and the canary verdict (pure: run records as dicts)."""

import numpy as np
import pytest

from robo_edge.canary.compare import bootstrap_ci, compare, diff_metric, pair, run_metrics
from robo_edge.canary.suite import Thresholds

FAST = Thresholds(bootstrap=500)


def record(goals: int = 2, collisions: int = 0, clearance: float = 0.5, last_goal: float = 30.0,
           loc: float = 0.05, trips: int = 0) -> dict:
    """A run record with the fields the runner writes."""
    return {'goals_total': 2, 'goals_reached': goals, 'collision_count': collisions,
            'min_clearance_m': clearance, 'goal_times_s': [10.0, last_goal][:goals],
            'localization': {'localized': {'xy_max_m': loc}}, 'breaker_trips': trips}


def arms(release: list[dict], candidate: list[dict]) -> tuple[dict, dict]:
    return ({f'c{i}': r for i, r in enumerate(release)},
            {f'c{i}': r for i, r in enumerate(candidate)})


def metric(verdict: object, name: str) -> object:
    return next(m for m in verdict.metrics if m.metric == name)


def test_run_metrics_read_the_runner_record() -> None:
    m = run_metrics(record(goals=1, clearance=float('inf')))
    assert m['goals_reached'] == 1.0 and m['collisions'] == 0.0
    assert m['min_clearance_m'] is None  # no finite clearance reported
    assert m['time_to_goal_s'] is None  # not every goal reached: not comparable
    assert run_metrics(record())['time_to_goal_s'] == 30.0
    assert run_metrics({'collisions': [{}], 'goals_total': 0})['goals_reached'] is None


def test_pairing_keeps_cases_both_arms_ran() -> None:
    both, missing = pair({'a': {}, 'b': {}}, {'b': {}, 'c': {}})
    assert both == ['b'] and missing == ['a', 'c']


def test_identical_runs_pass_with_a_zero_interval() -> None:
    runs = [record(last_goal=30.0 + i) for i in range(4)]
    verdict = compare(*arms(runs, runs), FAST)
    assert verdict.passed, verdict.reasons
    for m in verdict.metrics:
        if m.n:
            assert m.mean_diff == 0.0 and m.ci_low == 0.0 and m.ci_high == 0.0


def test_a_new_collision_fails_even_within_noise() -> None:
    release = [record() for _ in range(4)]
    candidate = [record(collisions=1)] + [record() for _ in range(3)]
    verdict = compare(*arms(release, candidate), FAST)
    assert not verdict.passed and any('new collision' in r for r in verdict.reasons)


def test_consistently_slower_candidate_fails_on_time_to_goal() -> None:
    release = [record(last_goal=30.0 + i) for i in range(6)]
    candidate = [record(last_goal=36.0 + i) for i in range(6)]
    verdict = compare(*arms(release, candidate), FAST)
    slow = metric(verdict, 'time_to_goal_s')
    assert slow.worse and slow.mean_diff == pytest.approx(6.0) and slow.losses == 6
    assert not verdict.passed and any('time_to_goal_s' in r for r in verdict.reasons)


def test_noise_either_way_is_not_a_regression() -> None:
    release = [record(loc=0.05) for _ in range(6)]
    candidate = [record(loc=0.05 + d) for d in (0.01, -0.01, 0.02, -0.02, 0.01, -0.01)]
    verdict = compare(*arms(release, candidate), FAST)
    loc = metric(verdict, 'localization_error_m')
    assert loc.ci_low < 0.0 < loc.ci_high and not loc.worse and verdict.passed


def test_better_candidate_passes_and_counts_wins() -> None:
    release = [record(goals=1, clearance=0.3) for _ in range(5)]
    candidate = [record(goals=2, clearance=0.4) for _ in range(5)]
    verdict = compare(*arms(release, candidate), FAST)
    assert verdict.passed and metric(verdict, 'goals_reached').wins == 5


def test_metrics_outside_no_worse_do_not_decide() -> None:
    release = [record(trips=0) for _ in range(4)]
    candidate = [record(trips=2) for _ in range(4)]
    assert not compare(*arms(release, candidate), FAST).passed
    lenient = Thresholds(bootstrap=500, no_worse=('collisions',))
    assert compare(*arms(release, candidate), lenient).passed


def test_a_case_missing_on_one_arm_fails_the_verdict() -> None:
    release, candidate = arms([record(), record()], [record()])
    verdict = compare(release, candidate, FAST)
    assert not verdict.passed and 'one arm only' in verdict.reasons[0]


def test_bootstrap_interval_covers_the_mean_and_is_reproducible() -> None:
    diffs = np.random.default_rng(1).normal(2.0, 1.0, size=40)
    low, high = bootstrap_ci(diffs, 0.95, 2000)
    assert low < diffs.mean() < high and high - low < 1.5
    assert bootstrap_ci(diffs, 0.95, 2000) == (low, high)
    assert diff_metric('collisions', [(None, 1.0)], FAST).n == 0


def test_a_declared_tolerance_absorbs_a_small_consistent_loss() -> None:
    release = [record(clearance=0.50) for _ in range(4)]
    candidate = [record(clearance=0.49) for _ in range(4)]
    assert not compare(*arms(release, candidate), FAST).passed
    tolerant = Thresholds(bootstrap=500, tolerances={'min_clearance_m': 0.02})
    assert compare(*arms(release, candidate), tolerant).passed
