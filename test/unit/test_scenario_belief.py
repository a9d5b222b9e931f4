"""Belief against truth: goals the planner declared, the localised pose, and the report."""

import json
from pathlib import Path

import pytest

from robo_edge.exceptions import ScenarioError
from robo_edge.scenario import belief
from robo_edge.scenario.evaluate import evaluate, localization_errors
from robo_edge.scenario.plot import draw_believed_path, plot_run
from robo_edge.scenario.spec import parse_scenario
from robo_edge.twin.world import load_world

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {'name': 's', 'world': 'empty_room', 'start': [0, 0, 0], 'duration_s': 10}
# The robot passes x = 0.5 at 2 s and stops on the goal (1, 0, 0) from 5 s.
TRAJECTORY = [(i * 0.05, min(i * 0.05, 5.0) / 5.0, 0.0, 0.0) for i in range(201)]


def scenario(**expect: object) -> object:
    return parse_scenario({**MINIMAL, 'goals': [[1, 0, 0]], 'expect': expect}, 'mem')


def record(*goals: dict, poses: list | None = None) -> dict:
    out = {'outcome': 'completed', 'collisions': [], 'trajectory': TRAJECTORY,
           'planner_goals': [{'index': 0, 'goal': [1.0, 0.0, 0.0], 'reason': '', **g}
                             for g in goals]}
    if poses is not None:
        out['localization'] = localization_errors(TRAJECTORY, poses)
    return out


def poses(offset: float, odom_offset: float = 0.0) -> list[list[float]]:
    """1 Hz pose log rows whose localised x is off the truth by `offset` from 3 s on."""
    rows = []
    for t, x, y, yaw in TRAJECTORY[::20]:
        off = offset if t >= 3.0 else 0.0
        rows.append([t, x + off, y, yaw, x, y + odom_offset, yaw])
    return rows


def test_nearest_sample_picks_the_closest_stamp() -> None:
    assert belief.nearest_sample(TRAJECTORY, 2.01)[0] == pytest.approx(2.0)
    assert belief.nearest_sample(TRAJECTORY, 2.04)[0] == pytest.approx(2.05)
    assert belief.nearest_sample(TRAJECTORY, 99.0)[0] == pytest.approx(10.0)
    assert belief.nearest_sample([], 1.0) is None


def test_a_goal_declared_reached_where_the_robot_was_not_fails_the_run() -> None:
    verdict = evaluate(scenario(goals_reached='all', collisions=None),
                       record({'outcome': 'reached', 't': 2.0}))
    assert verdict.goals_reached == 1  # the truth reached it later: expect is satisfied
    assert not verdict.passed and verdict.believed_reached == 1
    assert len(verdict.failures) == 1
    line = verdict.failures[0]
    assert line.startswith('believed_reached: goal 0')
    assert '0.600 m' in line and 'tolerance 0.25 m' in line
    entry = verdict.goal_truth[0]
    assert entry['kind'] == 'believed_reached' and entry['true_reached'] is False
    assert entry['true_distance_m'] == pytest.approx(0.6)


def test_a_truly_reached_goal_passes() -> None:
    verdict = evaluate(scenario(goals_reached='all'), record({'outcome': 'reached', 't': 5.2}))
    assert verdict.passed and verdict.believed_reached == 0
    entry = verdict.goal_truth[0]
    assert entry['kind'] == 'reached' and entry['true_reached'] is True
    assert entry['true_distance_m'] == pytest.approx(0.0)
    assert entry['outcome'] == 'reached' and entry['t'] == 5.2


def test_an_uncertain_goal_is_counted_but_is_no_failure_by_itself() -> None:
    uncertain = {'outcome': 'uncertain', 't': 2.0, 'covariance': [0.09, 0.08, 0.01]}
    verdict = evaluate(scenario(), record(uncertain))
    assert verdict.passed
    assert (verdict.goals_uncertain, verdict.believed_reached) == (1, 0)
    entry = verdict.goal_truth[0]
    assert entry['kind'] == 'uncertain' and entry['covariance'] == [0.09, 0.08, 0.01]
    assert entry['true_reached'] is False  # where it really was, for the reader
    fields = verdict.belief_fields()
    assert fields['goals_uncertain'] == 1 and fields['goal_truth'] == verdict.goal_truth


def test_failed_and_pending_goals_keep_the_planners_word() -> None:
    verdict = evaluate(scenario(), record({'outcome': 'failed', 't': 2.0}))
    assert verdict.passed and verdict.goal_truth[0]['kind'] == 'failed'
    pending = evaluate(scenario(), record({'outcome': 'pending', 't': None})).goal_truth[0]
    assert pending['kind'] == 'pending' and pending['true_reached'] is None
    unverified = belief.goal_truth(scenario(), [{'index': 0, 'outcome': 'reached', 't': 1.0}],
                                   [])
    assert unverified[0]['kind'] == 'unverified' and unverified[0]['goal'] == [1.0, 0.0, 0.0]


def test_localisation_summary_and_divergence_flag() -> None:
    close = evaluate(scenario(), record({'outcome': 'reached', 't': 5.0}, poses=poses(0.05)))
    assert close.localization_divergence is False and close.passed
    far = evaluate(scenario(), record({'outcome': 'reached', 't': 5.0}, poses=poses(0.7)))
    assert far.localization_divergence is True and far.passed  # flagged, not failed
    assert str(belief.DIVERGENCE_XY_M) in far.localization_divergence_reason
    diverged, why = belief.localization_divergence(localization_errors(TRAJECTORY, poses(0.3)))
    assert diverged and 'dead reckoning' in why  # worse than odometry by more than the margin
    drifting = localization_errors(TRAJECTORY, poses(0.3, odom_offset=0.4))
    assert drifting['dead_reckoning']['xy_max_m'] == pytest.approx(0.4)
    assert belief.localization_divergence(drifting) == (False, '')
    assert belief.localization_divergence(localization_errors(TRAJECTORY, [])) == (None, '')
    assert evaluate(scenario(), record({'outcome': 'reached', 't': 5.0})
                    ).localization_divergence is None


def test_max_localization_error_expectation() -> None:
    reached = {'outcome': 'reached', 't': 5.0}
    assert evaluate(scenario(max_localization_error_m=0.1),
                    record(reached, poses=poses(0.05))).passed
    verdict = evaluate(scenario(max_localization_error_m=0.1), record(reached, poses=poses(0.2)))
    assert verdict.failures == ['max_localization_error_m: expected at most 0.1, got 0.200']
    missing = evaluate(scenario(max_localization_error_m=0.1), record(reached))
    assert missing.failures[0].startswith('max_localization_error_m: the run logged no')
    for bad in (-1, 'far'):
        with pytest.raises(ScenarioError, match='max_localization_error_m'):
            scenario(max_localization_error_m=bad)


def test_the_verdict_line_and_title_name_uncertain_and_believed_goals() -> None:
    result = {'goal_truth': [{'outcome': 'reached'}, {'outcome': 'uncertain'}],
              'goals_reached': 1, 'goals_total': 2, 'goals_uncertain': 1, 'believed_reached': 0,
              'localization': localization_errors(TRAJECTORY, poses(0.7)),
              'localization_divergence': True, 'localization_divergence_reason': 'why'}
    line = belief.belief_line(result)
    assert 'planner: 1 reached, 1 uncertain, 0 believed reached' in line
    assert 'localised xy error max 0.70 m (dead reckoning 0.00 m)' in line
    assert line.endswith('LOCALISATION DIVERGED: why')
    assert belief.belief_line({'passed': False, 'failures': ['x']}) == ''
    assert belief.belief_title(result) == ('planner: uncertain 1, believed reached 0 | '
                                           'LOCALISATION DIVERGED (why)')
    calm = {**result, 'localization_divergence': False}
    assert belief.belief_title(calm).endswith('localised xy error max 0.70 m '
                                              '(dead reckoning 0.00 m)')
    assert belief.belief_title({}) == ''


def test_the_plot_draws_the_believed_path_and_goal_outcomes(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    log = poses(0.7)
    figure, axes = plt.subplots()
    lines = draw_believed_path(axes, log)
    assert [line.get_label() for line in lines] == ['localised pose (belief, 1 Hz)',
                                                    'dead reckoning']
    assert list(lines[0].get_xdata()) == [row[1] for row in log]
    assert draw_believed_path(axes, []) == []
    plt.close(figure)
    goals = [(1.0, 0.0, 0.0), (2.0, 1.0, 0.0), (0.0, 2.0, 0.0), (1.0, 2.0, 0.0)]
    truth = belief.goal_truth(parse_scenario({**MINIMAL, 'goals': [list(g) for g in goals]},
                                             'mem'),
                              [{'index': 0, 'outcome': 'reached', 't': 5.0},
                               {'index': 1, 'outcome': 'reached', 't': 6.0},
                               {'index': 2, 'outcome': 'uncertain', 't': 7.0},
                               {'index': 3, 'outcome': 'failed', 't': 8.0}], TRAJECTORY)
    path = tmp_path / 'run.png'
    labels = plot_run(path, load_world(REPO / 'sim' / 'worlds' / 'empty_room.yaml'),
                      TRAJECTORY, goals, [], 'title', 0.25, None,
                      {'pose_log': log, 'goal_truth': truth})
    assert path.stat().st_size > 0
    for label in ('true path (twin)', 'localised pose (belief, 1 Hz)', 'dead reckoning',
                  'goal reached (truth agrees)', 'goal believed reached (truth disagrees)',
                  'goal uncertain (covariance too large)', 'goal failed',
                  'true pose when declared'):
        assert label in labels
    assert 'localised pose (belief, 1 Hz)' not in plot_run(
        tmp_path / 'plain.png', load_world(REPO / 'sim' / 'worlds' / 'empty_room.yaml'),
        TRAJECTORY, goals[:1], [], 'title', 0.25)


def test_every_report_carries_belief_and_localisation(tmp_path: Path) -> None:
    from robo_edge.scenario.runner import _score

    twin = {**record(), 'lockstep_wait_ms': [1.0], 'wall_time_s': 1.0, 'faults': []}
    del twin['planner_goals']
    (tmp_path / 'twin_record.json').write_text(json.dumps(twin))
    report = tmp_path / 'planner_report.json'
    report.write_text(json.dumps({'goals': [{'index': 0, 'goal': [1, 0, 0], 'reason': '',
                                             'outcome': 'reached', 't': 2.0}]}))
    result = _score(scenario(), tmp_path / 'twin_record.json', {}, 1.0, None, report)
    assert result['localization']['samples'] == 0  # no mapper: present, empty
    assert result['pose_log'] == [] and result['localization_divergence'] is None
    assert result['believed_reached'] == 1 and not result['passed']
    (tmp_path / 'localization.json').write_text(json.dumps({'poses': poses(0.7)}))
    result = _score(scenario(), tmp_path / 'twin_record.json', {}, 1.0, None, report)
    assert result['localization']['localized']['xy_max_m'] == pytest.approx(0.7)
    assert result['localization_divergence'] is True and len(result['pose_log']) == 11


def test_an_uncertain_goal_counts_if_truly_reached_and_is_skipped_if_not():
    from robo_edge.scenario.evaluate import goals_reached
    from robo_edge.scenario.spec import parse_scenario
    scenario = parse_scenario({'name': 'u', 'world': {'name': 'w', 'obstacles': []},
                               'start': [0, 0, 0], 'duration_s': 10,
                               'goals': [[1, 0, 0], [2, 0, 0]]}, 'inline')
    past_first = [(0.5 * k, 0.2 * k, 0.0, 0.0) for k in range(12)]  # passes 1 m and 2 m
    assert len(goals_reached(scenario, past_first, left_at={0: 3.0})) == 2
    wide = [(0.5 * k, 0.2 * k, 0.6, 0.0) for k in range(6)]  # beside the first goal
    wide += [(3.0 + 0.5 * k, 2.0, 0.0, 0.0) for k in range(3)]  # then at the second
    assert goals_reached(scenario, wide) == []  # waiting for the first forever
    assert goals_reached(scenario, wide, left_at={0: 2.0}) == [3.0]
