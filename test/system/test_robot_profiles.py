"""Two robots besides the default, from their profiles alone, navigate in lockstep and on the
wall clock.

Each profile changes the LiDAR's rate and beams, the camera's rate and size, the IMU and
odometry rates, the control rate, the footprint or the base limits. The stack's schedules follow
them: no lockstep wait runs out (a 15 Hz LiDAR on the old fixed 10 Hz schedule stalled every
tick), every goal is reached in truth, and the healthy LiDAR is never condemned. Known open:
with the fast profile (15 Hz LiDAR of 720 beams, 30 Hz camera) the cross-check opens the
perception breaker once near the start (the camera reads a far wall ~0.4 m farther than the
LiDAR); the slow profile runs without a trip.
"""

import dataclasses
from pathlib import Path

from robo_edge.scenario.runner import RunOptions, run_scenarios
from robo_edge.scenario.spec import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / 'scenarios'
WALL_EXTRA_S = 30.0


def breaker_events(result: dict) -> list[dict]:
    """Return the run's breaker events (each names the vote that decided it)."""
    return [e for e in result['events'] if e.get('kind') == 'breaker']


def test_other_robots_navigate_on_their_own_rates_without_a_stalled_tick(tmp_path: Path) -> None:
    runs = [load_scenario(SCENARIOS / f'robot_{name}.yaml') for name in ('fast_lidar',
                                                                         'slow_wide')]
    results = {r['name']: r for r in run_scenarios(runs, RunOptions(tmp_path, jobs=2,
                                                                     record=False))}
    for run in runs:
        result = results[run.name]
        assert result['passed'], (run.name, result['failures'], breaker_events(result))
        assert result['goals_reached'] == len(run.goals), run.name
        assert all(g['true_reached'] for g in result['goal_truth']), result['goal_truth']
        assert result['late_releases'] == {}, (run.name, result['late_releases'])
        assert not any(e.get('source') == 'lidar' and e.get('state') == 'open'
                       for e in result['events']), (run.name, result['events'])
    assert results['robot_slow_wide']['breaker_trips'] == 0, results['robot_slow_wide']['events']


def test_other_robots_navigate_on_the_wall_clock(tmp_path: Path) -> None:
    """The same robots with the twin free-running at real time and the robot's own timers."""
    lockstep = [load_scenario(SCENARIOS / f'robot_{name}.yaml')
                for name in ('fast_lidar', 'slow_wide')]
    # The robot's own timers answer what arrives when it arrives, so a route can take longer
    # than in lockstep; a run still ends 2 s after its last goal.
    runs = [dataclasses.replace(run, name=f'{run.name}_wall', clock_mode='free_run',
                                duration_s=run.duration_s + WALL_EXTRA_S) for run in lockstep]
    results = run_scenarios(runs, RunOptions(tmp_path, jobs=1, record=False))
    for run, result in zip(runs, results, strict=True):
        assert result['clock_mode'] == 'free_run'
        assert result['passed'], (run.name, result['failures'], breaker_events(result))
        assert all(g['true_reached'] for g in result['goal_truth']), result['goal_truth']
        assert not any(e.get('source') == 'lidar' and e.get('state') == 'open'
                       for e in result['events']), (run.name, result['events'])
