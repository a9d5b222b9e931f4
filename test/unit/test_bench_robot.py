"""bench/robot.py's figures: deceleration, fallback, aggregation and targets (no twin)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))

import _robot_report as report  # noqa: E402
import robot  # noqa: E402


def trajectory(speed_at: callable, end_s: float = 8.0, dt: float = 0.05) -> list[list[float]]:
    """A straight drive along x whose speed over each period is speed_at(period end)."""
    out, x = [[0.0, 0.0, 0.0, 0.0]], 0.0
    for k in range(1, int(round(end_s / dt)) + 1):
        t = round(k * dt, 6)
        x += speed_at(t) * dt
        out.append([t, x, 0.0, 0.0])
    return out


def ramp(kill_s: float, lag_s: float, v: float = 0.5, decel: float = 1.0) -> callable:
    """Cruise at v, then `lag_s` after the kill ramp down at `decel`."""
    return lambda t: v if t <= kill_s + lag_s else max(0.0, v - decel * (t - kill_s - lag_s))


def test_deceleration_starts_where_the_descent_to_a_stop_begins() -> None:
    out = report.deceleration(trajectory(ramp(4.0, 0.2)), 4.0)
    assert out['moving'] and not out['already_slowing']
    assert out['decel_latency_s'] == pytest.approx(0.25)  # first slower period ends at 4.25
    assert out['stop_latency_s'] == pytest.approx(0.7)


def test_deceleration_of_a_base_at_rest_or_never_stopping_is_not_timed() -> None:
    still = report.deceleration(trajectory(lambda t: 0.0), 4.0)
    assert not still['moving'] and still['decel_latency_s'] is None
    cruising = report.deceleration(trajectory(lambda t: 0.5), 4.0)
    assert cruising['moving'] and cruising['decel_latency_s'] is None


def test_a_descent_under_way_at_the_kill_counts_from_the_next_sample() -> None:
    out = report.deceleration(trajectory(ramp(4.0, -0.2)), 4.0)
    assert out['already_slowing'] and out['decel_latency_s'] == pytest.approx(0.05)


def test_the_controller_falls_silent_a_period_after_its_last_command() -> None:
    assert report.silent_at([3.95, 4.0, 4.3, 4.35, 8.0], 4.0) == pytest.approx(4.4)
    assert report.silent_at([3.95, 4.0, 4.05], 4.0) == pytest.approx(4.1)  # never back
    assert report.silent_at([1.0, 2.0], 4.0) is None  # nothing near the kill
    assert report.silent_at([], 4.0) is None


def test_fallback_is_the_first_fallback_source_after_injection() -> None:
    events = [{'t': 1.0, 'kind': 'source', 'source': 'perception', 'fallback': True},
              {'t': 4.1, 'kind': 'breaker', 'source': 'lidar', 'state': 'open'},
              {'t': 4.3, 'kind': 'source', 'source': 'perception', 'fallback': True}]
    assert report.fallback_at(events, 4.0) == 4.3
    assert report.fallback_at(events, 5.0) is None


def result(trips: int = 0, injected: float | None = 4.0, detect: float | None = 0.1,
           events: list | None = None, traj: list | None = None) -> dict:
    return {'passed': True, 'outcome': 'completed', 'sim_time_s': 30.0, 'wall_time_s': 31.0,
            'real_time_factor': 0.97, 'goals_total': 1, 'goals_reached': 1,
            'collision_count': 0, 'breaker_trips': trips, 'highest_mode': 'DEGRADED',
            'events': events or [], 'trajectory': traj or [],
            'fault_timing': [{'injected_s': injected, 'detected_by': 'lidar',
                              'detect_latency_s': detect,
                              'detected_s': None if detect is None else injected + detect}]}


def record(kind: str, mode: str, rep: int = 0, **kw) -> dict:
    meta = {'kind': kind, 'mode': mode, 'rep': rep, 'run_id': f'{kind}_{mode}_{rep}'}
    samples = kw.pop('samples', None)
    return report.run_record(result(**kw), meta, samples)


def test_run_record_times_fallback_and_kill_from_injection() -> None:
    events = [{'t': 4.25, 'kind': 'source', 'source': 'perception', 'fallback': True}]
    silent = record('lidar_silence', 'free_run', events=events)
    assert silent['fallback_latency_s'] == pytest.approx(0.25)
    assert 'deceleration' not in silent
    # the agent reports the kill at 4.0; the controller's last command is stamped 4.05
    stamps = {'controller_stamps': [3.9, 3.95, 4.0, 4.05, 7.5]}
    kill = record('controller_kill', 'free_run', traj=trajectory(ramp(4.1, 0.1)), detect=0.4,
                  samples=stamps)
    assert kill['controller_silent_s'] == pytest.approx(4.1)
    assert kill['detect_from_silence_s'] == pytest.approx(0.3)
    assert kill['deceleration']['decel_latency_s'] == pytest.approx(0.15)
    lost = record('controller_kill', 'free_run', samples={'controller_stamps': []})
    assert lost['deceleration'] is None
    side = report.fault_side([kill, lost])
    assert side['silence_found'] == 1 and side['decel_ms']['count'] == 1
    soak = record(report.NOMINAL, 'free_run', trips=2)
    assert soak['injected_s'] is None and soak['breaker_trips'] == 2


def test_targets_take_the_wall_clock_and_show_lockstep_beside() -> None:
    events = [{'t': 4.2, 'kind': 'source', 'source': 'perception', 'fallback': True}]
    records = [record('lidar_silence', 'free_run', rep=i, events=events) for i in range(3)]
    records += [record('lidar_silence', 'lockstep', events=events),
                record(report.NOMINAL, 'free_run', trips=0)]
    summary = report.summarise(records, ['lidar_silence', 'controller_kill'])
    out = report.targets(summary, 1800.0)
    silent = out['silent_lidar_fallback_p99_ms']
    assert silent['value'] == pytest.approx(200.0) and silent['met'] is True
    assert silent['n'] == 3 and silent['lockstep_n'] == 1
    decel = out['controller_silent_decel_p99_ms']
    assert decel['value'] is None and decel['met'] is None  # not measured
    assert out['free_run_real_time_factor_min']['met'] is True  # 0.97 >= 0.95
    trips = out['soak_false_trips']
    assert trips['met'] is True and trips['full_length'] is False  # 30 s of 1800
    assert report.targets(report.summarise(records[:3], ['lidar_silence']), 1800.0)[
        'soak_false_trips']['met'] is None


def test_a_soak_trip_or_a_slow_fallback_misses_its_target() -> None:
    events = [{'t': 4.5, 'kind': 'source', 'source': 'perception', 'fallback': True}]
    records = [record('lidar_silence', 'free_run', events=events),
               record(report.NOMINAL, 'free_run', trips=1)]
    out = report.targets(report.summarise(records, ['lidar_silence']), 1800.0)
    assert out['silent_lidar_fallback_p99_ms']['met'] is False
    assert out['soak_false_trips']['met'] is False


def test_jitter_resources_and_end_to_end_from_the_samples() -> None:
    samples = {'command_period_ms': {'controller': [50.0, 50.0, 60.0, 40.0], 'safety_gate': []},
               'tick_ms': {'controller': [[2.0, 9.0], [3.0, 12.0]], 'safety_gate': []},
               'resources': [{'twin': [90.0, 300.0], 'controller': [10.0, 80.0],
                              'safety_gate': [5.0, 70.0]}],
               'e2e_ms': [30.0, 40.0]}
    soak = record(report.NOMINAL, 'free_run', samples=samples)
    side = report.summarise([soak], [])['free_run']
    controller = side['jitter']['controller']
    assert controller['period_ms']['count'] == 4
    assert controller['period_deviation_ms']['max'] == pytest.approx(10.0)
    assert controller['diagnostics_tick_ms']['p99_max'] == 12.0
    assert side['jitter']['safety_gate']['period_ms']['count'] == 0
    graph = side['resources']['graph']
    assert graph['cpu_percent']['max'] == 15.0 and graph['rss_mb']['max'] == 150.0  # no twin
    assert side['resources']['nodes']['twin']['cpu_percent']['max'] == 90.0
    assert report.e2e([soak])['p50'] == 35.0
    lock = {**soak, 'mode': 'lockstep'}
    assert report.e2e([lock])['count'] == 0  # simulated time does not follow the wall


def test_plan_runs_both_modes_side_by_side_and_quick_is_small() -> None:
    args = robot.parse_args(['--quick'])
    runs = robot.plan(args)
    assert [r['run_id'] for r in runs][:3] == [
        'robot__nominal_20s__free_run_r0', 'robot__lidar_silence__free_run_r0',
        'robot__lidar_silence__lockstep_r0']
    assert len(runs) == 1 + 2 * len(robot.QUICK_KINDS)
    full = robot.plan(robot.parse_args([]))
    assert len(full) == 1 + 10 * len(robot.FAULT_KINDS) * 2
    scenario = robot.scenario_for(full[2], 1800.0)
    assert scenario.clock_mode == 'lockstep' and scenario.faults


def test_the_soak_loop_returns_to_its_start_and_outlasts_the_soak() -> None:
    doc = robot.soak_scenario(1800.0)
    loop = robot.SOAK_GOALS + 1
    assert doc['duration_s'] == 1800.0 and len(doc['goals']) % loop == 0
    assert doc['goals'][loop - 1] == doc['start']
    assert len(doc['goals']) > 2 * loop  # laps sized at twice goalgen's pace: never run out
