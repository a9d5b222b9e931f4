"""Navigation in the twin: goals reached without collisions, failures reported."""

from pathlib import Path

from robo_edge import paths
from robo_edge.scenario.runner import RunOptions, run_scenarios
from robo_edge.scenario.spec import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / 'scenarios'


def test_goals_reached_and_an_unreachable_goal_reported(tmp_path: Path) -> None:
    runs = [
        load_scenario(paths.share_file('sim', 'scenarios', 'nav_empty_room.yaml')),
        load_scenario(SCENARIOS / 'nav_unreachable.yaml'),
    ]
    results = {r['name']: r for r in run_scenarios(runs, RunOptions(tmp_path, jobs=2,
                                                                     record=False))}
    room_run = results['nav_empty_room']
    assert room_run['passed'], room_run['failures']
    assert room_run['goals_reached'] == 3 and room_run['collision_count'] == 0
    # Bit-identical reruns with the navigation stack in the loop are not yet guaranteed: the
    # first scan can miss a mapper still discovering its peers (see docs/architecture.md).
    unreachable = results['nav_unreachable']
    assert unreachable['passed'], unreachable['failures']
    outcomes = [g['outcome'] for g in unreachable['planner_goals']]
    assert outcomes == ['reached', 'failed', 'reached']
    assert unreachable['planner_goals'][1]['reason'] == 'unreachable'
