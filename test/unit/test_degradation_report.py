"""bench/degradation.py's aggregation and targets, on synthetic run records (no twin)."""

import math
import sys
from pathlib import Path

import pytest

from robo_edge.twin.world import parse_world

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))

import _degradation_plan as plan  # noqa: E402
import _degradation_report as report  # noqa: E402


def record(kind: str = 'nominal', monitor: str = 'breakers', world: str = 'gen100000',
           seed: int = 0, reached: int = 3, total: int = 3, collisions: int = 0,
           loc: float | None = 0.05, trips: int = 0, faults: list | None = None) -> dict:
    return {'run_id': f'{world}__{kind}__{monitor}_s{seed}', 'world': world, 'kind': kind,
            'monitor': monitor, 'seed': seed, 'goals_total': total, 'goals_reached': reached,
            'collisions': collisions, 'believed_reached': 0, 'goals_uncertain': 0,
            'loc_xy_max_m': loc, 'breaker_trips': trips, 'fault_timing': faults or [],
            'outcome': 'completed'}


def timing(blamed: str | None, right: bool | None, detect: float | None = 0.1,
           react: float | None = 0.2, injected: float | None = 5.0) -> dict:
    return {'type': 'lie', 'target': 'lidar', 'injected_s': injected, 'blamed': blamed,
            'blamed_right': right, 'detected_by': blamed if right else None,
            'detect_latency_s': detect if right else None, 'react_latency_s': react}


def test_run_record_takes_the_key_figures_from_a_result() -> None:
    result = {'passed': False, 'failures': ['x'] * 9, 'goals_total': 3, 'goals_reached': 2,
              'goal_truth': [{'outcome': 'reached'}, {'outcome': 'uncertain'}],
              'believed_reached': 1, 'goals_uncertain': 1, 'collision_count': 2,
              'localization': {'localized': {'xy_max_m': 0.12},
                               'dead_reckoning': {'xy_max_m': 0.4}},
              'breaker_trips': 1, 'highest_mode': 'DEGRADED',
              'events': [{'kind': 'breaker', 'state': 'open', 'source': 'lidar', 't': 5.1},
                         {'kind': 'breaker', 'state': 'closed', 'source': 'lidar'},
                         {'kind': 'mode', 'mode': 'DEGRADED'}],
              'fault_timing': [{**timing('lidar', True), 'index': 0, 'affected': True}]}
    out = report.run_record(result, {'run_id': 'r', 'goals_total': 3})
    assert out['goals_reached'] == 2 and out['planner_reached'] == 1
    assert out['collisions'] == 2 and out['loc_xy_max_m'] == 0.12
    assert len(out['failures']) == 5 and out['trip_sources'] == {'lidar': 1}
    assert 'index' not in out['fault_timing'][0] and out['fault_timing'][0]['blamed'] == 'lidar'


def test_a_run_without_a_twin_record_keeps_the_planned_goal_count() -> None:
    out = report.run_record({'passed': False, 'failures': ['no record']}, {'goals_total': 3})
    assert out['goals_total'] == 3 and out['goals_reached'] == 0
    assert out['loc_xy_max_m'] is None


def test_summary_puts_the_monitors_side_by_side_per_category() -> None:
    runs = [record(), {**record(seed=1, reached=2, loc=0.2, trips=2),
                                'trip_sources': {'imu': 2}},
            record('lidar_freeze', faults=[timing('lidar', True)]),
            record('lidar_freeze', 'baseline', reached=1, collisions=1,
                   faults=[timing('imu', False)])]
    summary = report.summarise(runs)
    assert list(summary) == ['nominal', 'lidar_freeze']
    nominal = summary['nominal']['breakers']
    assert nominal['runs'] == 2 and nominal['goals_reached_truth'] == 5
    assert nominal['goals_reached_share'] == pytest.approx(5 / 6)
    assert nominal['runs_all_goals_truth'] == 1
    assert nominal['runs_above_loc_limit'] == 1 and nominal['loc_limit_m'] == 0.10
    assert nominal['breaker_trips'] == 2 and nominal['runs_with_trips'] == 1
    assert nominal['trips_by_source'] == {'imu': 2}
    assert summary['nominal']['baseline']['runs'] == 0
    fault = summary['lidar_freeze']
    assert fault['breakers']['loc_limit_m'] == 0.15
    assert fault['breakers']['detect_ms']['p50'] == pytest.approx(100.0)
    assert fault['baseline']['blame'] == {'injected': 1, 'by_source': {'imu': 1},
                                          'blamed_right': 0, 'blamed_right_share': 0.0,
                                          'undetected': 1}
    assert fault['baseline']['runs_with_collisions'] == 1


def test_blame_ignores_faults_that_changed_nothing_and_counts_silence_as_none() -> None:
    runs = [record(faults=[timing(None, None), timing('lidar', True),
                           timing('lidar', True, injected=None)])]
    blame = report.blame(runs)
    assert blame['injected'] == 2 and blame['by_source'] == {'lidar': 1, 'none': 1}
    assert blame['blamed_right_share'] == 0.5


def test_comparisons_list_where_the_breakers_did_worse_and_where_the_baseline_failed() -> None:
    runs = [record('odom_lie', reached=2), record('odom_lie', 'baseline', reached=3),
            record('lidar_silence'), record('lidar_silence', 'baseline', reached=0),
            record('imu_silence', collisions=1), record('imu_silence', 'baseline'),
            record('camera_missed')]  # no baseline run yet: not a pair
    out = report.comparisons(runs)
    assert out['pairs'] == 3
    assert sorted(w['breakers']['kind'] for w in out['breakers_worse']) == [
        'imu_silence', 'odom_lie']
    assert [f['kind'] for f in out['baseline_failed']] == ['lidar_silence']


def test_targets_met_on_clean_runs() -> None:
    runs = [record(), record('lidar_lie_inf', faults=[timing('lidar', True)]),
            record('camera_phantom', faults=[{**timing('perception', True),
                                              'target': 'camera'}]),
            record('lidar_lie_inf', 'baseline', reached=0)]
    out = report.targets(runs, report.comparisons(runs))
    assert all(t['met'] for t in out.values()), out
    assert out['lidar_failures_goals_truth']['value'] == 1.0
    assert out['breakers_never_worse']['runs'] == 1


def test_targets_fail_with_their_figures() -> None:
    runs = [record(trips=1, loc=0.11, reached=2),
            record('lidar_silence', reached=2, collisions=1, loc=0.3),
            record('lidar_silence', 'baseline'),
            record('lidar_lie_offset', faults=[timing('lidar', True)] * 99
                   + [timing('odometry', False)])]
    out = report.targets(runs, report.comparisons(runs))
    assert out['nominal_zero_trips'] == {'met': False, 'value': 1, 'limit': 0, 'runs': 1}
    assert out['nominal_loc_error']['met'] is False
    assert out['nominal_loc_error']['value'] == pytest.approx(0.11)
    assert out['nominal_all_goals_truth']['met'] is False
    assert out['lidar_failures_goals_truth']['value'] == pytest.approx(5 / 6)
    assert out['lidar_failures_collisions']['value'] == 1
    assert out['lidar_failures_loc_error']['met'] is False
    assert out['lying_lidar_blamed_right']['value'] == pytest.approx(0.99)
    assert out['lying_lidar_blamed_right']['met'] is True
    assert out['breakers_never_worse']['met'] is False
    assert out['lying_camera_blamed_right']['met'] is None  # no runs: not judged


def test_a_run_that_did_not_complete_or_raised_fails_the_benchmark() -> None:
    runs = [record(), {**record('lidar_freeze', 'baseline'), 'outcome': 'crashed'}]
    out = report.targets(runs, report.comparisons(runs))
    assert out['every_run_completed'] == {'met': False, 'value': 1, 'limit': 0, 'runs': 2}
    out = report.targets([record()], report.comparisons([record()]), errors=2)
    assert out['every_run_completed'] == {'met': False, 'value': 2, 'limit': 0, 'runs': 3}
    unknown = {**record(), 'outcome': None}  # no outcome recorded: not completed
    assert report.targets([unknown], {'breakers_worse': [], 'pairs': 0})[
        'every_run_completed']['met'] is False


def test_a_run_without_localisation_fails_the_localisation_target() -> None:
    out = report.targets([record(loc=None)], {'breakers_worse': [], 'pairs': 0})
    assert out['nominal_loc_error']['met'] is False
    assert out['breakers_never_worse']['met'] is None


def test_plan_interleaves_nominal_and_fault_pairs() -> None:
    runs = plan.build_plan(2, 1, 1, baseline_nominal=False, kinds=['lidar_freeze', 'odom_lie'])
    assert [(r.kind, r.monitor) for r in runs[:6]] == [
        ('nominal', 'breakers'), ('lidar_freeze', 'breakers'), ('lidar_freeze', 'baseline'),
        ('nominal', 'breakers'), ('odom_lie', 'breakers'), ('odom_lie', 'baseline')]
    assert len({r.run_id for r in runs}) == len(runs) == 2 + len(plan.shipped_worlds()) + 4
    assert all(r.world.startswith('gen1000') or r.kind == 'nominal' for r in runs)


def test_fault_start_is_the_first_approach_less_a_lead() -> None:
    world = parse_world({'world': {'name': 'w', 'obstacles': [
        {'type': 'box', 'name': 'b', 'pose': [5.0, 0.0, 0.0], 'size': [1.0, 1.0, 1.0],
         'color': [1, 1, 1]}]}}, 'test')
    samples = [(t, 0.35 * t, 0.0) for t in range(0, 30)]
    start, why = plan.fault_start(world, samples)
    # The box's near face is at x = 4.5: within 0.8 m from x = 3.7 (t = 10.57 s -> 11 s).
    assert start == pytest.approx(11 - plan.LEAD_S) and 'within 0.8 m' in why
    assert plan.fault_start(world, samples[:3])[0] == plan.MIN_START_S


def test_jsonable_writes_infinite_values_as_strings() -> None:
    faults = plan.faults_of('lidar_lie_inf', 4.123)
    assert faults[0]['start_s'] == 4.12 and math.isinf(faults[0]['value'])
    assert plan.jsonable(faults)[0]['value'] == 'inf'
    assert plan.faults_of('nominal', 4.0) == []


def test_plot_draws_the_categories_side_by_side(tmp_path: Path) -> None:
    runs = [record(), record('lidar_freeze'), record('lidar_freeze', 'baseline', collisions=1)]
    path = report.plot(report.summarise(runs), tmp_path / 'out' / 'degradation.png')
    assert path.stat().st_size > 1000
