"""Navigation in the twin: every world and goal list, and an unreachable goal reported.

Each run also compares the mapper's localised poses (1 Hz) with the twin's ground truth.
"""

import dataclasses
from pathlib import Path

from robo_edge import paths
from robo_edge.scenario.runner import RunOptions, run_scenarios
from robo_edge.scenario.spec import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / 'scenarios'
WORLDS = ('empty_room', 'warehouse', 'corridors', 'cluttered_room')
LOCALIZATION_XY_M = 0.1  # the planner's goal tolerance is 0.2 m, the scoring's 0.25 m
LOCALIZATION_YAW_RAD = 0.05


def test_every_world_and_goal_list_and_an_unreachable_goal(tmp_path: Path) -> None:
    suite = [paths.share_file('sim', 'scenarios', f'nav_{world}{goal_list}.yaml')
             for world in WORLDS for goal_list in ('', '_b')]
    runs = [load_scenario(path) for path in suite]
    rerun = dataclasses.replace(runs[0], name=f'{runs[0].name}_rerun')
    runs += [rerun, load_scenario(SCENARIOS / 'nav_unreachable.yaml')]
    results = {r['name']: r for r in run_scenarios(runs, RunOptions(tmp_path, jobs=2,
                                                                     record=False))}
    for run in runs[:-2]:
        result = results[run.name]
        assert result['passed'], (run.name, result['failures'])
        assert result['goals_reached'] == len(run.goals), run.name
        assert result['collision_count'] == 0, run.name
        # The run ends shortly after its last goal instead of idling to duration_s.
        assert result['sim_time_s'] < run.duration_s, run.name
        # Scan-to-map localisation keeps the pose within a few centimetres of the truth.
        localized = result['localization']['localized']
        assert result['localization']['samples'] >= 10, run.name
        assert localized['xy_max_m'] < LOCALIZATION_XY_M, (run.name, result['localization'])
        assert localized['yaw_max_rad'] < LOCALIZATION_YAW_RAD, (run.name, localized)
    # Lockstep with the whole stack in the loop: a rerun, later in the suite and beside other
    # runs, drives the same trajectory bit for bit. The breakers take each sensor sample at the
    # tick it belongs to, so a busy host trips none of them in a nominal run.
    first, again = results[runs[0].name], results[rerun.name]
    waits = {'first': first['late_releases'], 'rerun': again['late_releases']}
    assert again['trajectory_hash'] == first['trajectory_hash'], waits
    assert again['stream_hashes'] == first['stream_hashes'], waits
    for run in runs[:-2]:
        assert results[run.name]['breaker_trips'] == 0, (run.name, results[run.name]['events'])
    unreachable = results['nav_unreachable']
    assert unreachable['passed'], unreachable['failures']
    outcomes = [g['outcome'] for g in unreachable['planner_goals']]
    assert outcomes == ['reached', 'failed', 'reached']
    assert unreachable['planner_goals'][1]['reason'] == 'unreachable'
