"""Navigation in the twin: goals reached without collisions, failures reported, repeatable."""

from pathlib import Path

import yaml

from robo_edge import paths
from robo_edge.scenario.runner import RunOptions, run_scenarios
from robo_edge.scenario.spec import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / 'scenarios'


def test_goals_reached_failures_reported_and_runs_repeat(tmp_path: Path) -> None:
    room = paths.share_file('sim', 'scenarios', 'nav_empty_room.yaml')
    document = yaml.safe_load(room.read_text())
    runs = [
        load_scenario(room),
        parse_scenario({**document, 'name': 'nav_empty_room_again'}, str(room)),
        load_scenario(SCENARIOS / 'nav_unreachable.yaml'),
    ]
    results = {r['name']: r for r in run_scenarios(runs, RunOptions(tmp_path, jobs=2,
                                                                     record=False))}
    room_run = results['nav_empty_room']
    assert room_run['passed'], room_run['failures']
    assert room_run['goals_reached'] == 3 and room_run['collision_count'] == 0
    # Mapper, planner, controller and gate are all in the lockstep loop: still bit-identical.
    assert results['nav_empty_room_again']['trajectory_hash'] == room_run['trajectory_hash']
    unreachable = results['nav_unreachable']
    assert unreachable['passed'], unreachable['failures']
    outcomes = [g['outcome'] for g in unreachable['planner_goals']]
    assert outcomes == ['reached', 'failed', 'reached']
    assert unreachable['planner_goals'][1]['reason'] == 'unreachable'
