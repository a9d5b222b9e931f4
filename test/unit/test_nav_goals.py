"""Goal sequencing: goals reached in order, failed without progress, replaced from outside."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.navigation.goals import (
    REASON_NO_PROGRESS,
    REASON_REPLACED,
    REASON_UNREACHABLE,
    GoalParams,
    GoalSequence,
    Outcome,
    goals_from_flat,
    nearest_segment,
)
from robo_edge.planning.path_checks import distance_to_path
from robo_edge.robot.kinematics import Pose2D

S = 1_000_000_000
A, B, C = Pose2D(2.0, 0.0, 0.0), Pose2D(2.0, 3.0, math.pi / 2), Pose2D(-1.0, -1.0, math.pi)
PARAMS = GoalParams(xy_tolerance=0.2, yaw_tolerance=0.3, progress_distance_m=0.3,
                    progress_timeout_s=30.0)


def test_goals_are_reached_in_order_within_both_tolerances() -> None:
    seq = GoalSequence([A, B], PARAMS)
    assert seq.update(Pose2D(0.0, 0.0, 0.0), 0) == []
    assert seq.index == 0
    assert seq.update(Pose2D(2.0, 3.0, math.pi / 2), 1 * S) == [], 'B is not current yet'
    ended = seq.update(Pose2D(1.85, 0.1, 0.25), 2 * S)
    assert [(r.index, r.outcome, r.t_s) for r in ended] == [(0, Outcome.REACHED, 2.0)]
    assert seq.index == 1
    assert seq.update(Pose2D(2.0, 3.0, 0.0), 3 * S) == [], 'in place but facing the wrong way'
    ended = seq.update(Pose2D(2.0, 3.1, math.pi / 2 - 0.2), 4 * S)
    assert [r.index for r in ended] == [1]
    assert seq.current is None and seq.index is None
    assert seq.count(Outcome.REACHED) == 2


def test_coinciding_goals_are_all_reached_in_one_update() -> None:
    seq = GoalSequence([A, A, B], PARAMS)
    ended = seq.update(A, 5 * S)
    assert [r.index for r in ended] == [0, 1]
    assert seq.index == 2


def test_goal_fails_without_progress_and_the_next_one_starts() -> None:
    seq = GoalSequence([A, B], PARAMS)
    stuck = Pose2D(0.0, 0.0, 0.0)
    assert seq.update(stuck, 0) == []
    assert seq.update(Pose2D(0.2, 0.0, 0.0), 30 * S) == [], 'not past the timeout yet'
    ended = seq.update(Pose2D(0.2, 0.0, 0.0), 30 * S + 1)
    assert [(r.index, r.outcome, r.reason) for r in ended] == [
        (0, Outcome.FAILED, REASON_NO_PROGRESS)]
    assert seq.index == 1
    # The next goal's progress clock starts now, not at t = 0.
    assert seq.update(stuck, 31 * S) == []


def test_steady_progress_keeps_a_goal_alive() -> None:
    seq = GoalSequence([Pose2D(10.0, 0.0, 0.0)], PARAMS)
    for step in range(8):
        assert seq.update(Pose2D(0.31 * step, 0.0, 0.0), step * 25 * S) == []
    assert seq.index == 0


def test_turning_in_place_at_the_goal_still_times_out() -> None:
    seq = GoalSequence([A], PARAMS)
    assert seq.update(Pose2D(1.5, 0.0, 0.0), 0) == []
    assert seq.update(Pose2D(1.9, 0.0, 2.0), 1 * S) == [], 'progress: now within tolerance'
    assert seq.update(Pose2D(1.9, 0.0, 2.0), 31 * S) == []
    ended = seq.update(Pose2D(1.9, 0.0, 2.0), 32 * S)
    assert [r.reason for r in ended] == [REASON_NO_PROGRESS]


def test_failing_the_current_goal_moves_on() -> None:
    seq = GoalSequence([A, B], PARAMS)
    record = seq.fail_current(REASON_UNREACHABLE, 3 * S)
    assert (record.index, record.outcome, record.reason, record.t_s) == (
        0, Outcome.FAILED, REASON_UNREACHABLE, 3.0)
    assert seq.index == 1
    seq.fail_current(REASON_UNREACHABLE, 4 * S)
    assert seq.fail_current(REASON_UNREACHABLE, 5 * S) is None


def test_goal_pose_replaces_the_remaining_goals() -> None:
    seq = GoalSequence([A, B], PARAMS)
    seq.update(A, 1 * S)
    ended = seq.replace(C, 2 * S)
    assert [(r.index, r.reason) for r in ended] == [(1, REASON_REPLACED)]
    assert seq.index == 2 and seq.current.goal == C
    assert [r.outcome for r in seq.records] == [Outcome.REACHED, Outcome.FAILED, Outcome.PENDING]
    assert seq.records[2].as_dict() == {
        'index': 2, 'goal': [-1.0, -1.0, math.pi], 'outcome': 'pending', 'reason': '', 't': None,
        'covariance': None}


def test_goal_pose_after_the_last_goal_starts_a_new_one() -> None:
    seq = GoalSequence([], PARAMS)
    assert seq.current is None
    assert seq.replace(A, 0) == []
    assert seq.index == 0


def test_goals_from_flat() -> None:
    assert goals_from_flat([]) == []
    assert goals_from_flat([0.0]) == []
    assert goals_from_flat([1, 2, 3, 4.0, 5.0, 6.0]) == [Pose2D(1, 2, 3), Pose2D(4, 5, 6)]
    with pytest.raises(ValueError, match='triples'):
        goals_from_flat([1.0, 2.0])
    with pytest.raises(ValueError):
        goals_from_flat([1.0, math.nan, 0.0])


def test_goal_params_are_validated() -> None:
    with pytest.raises(ValueError, match='xy_tolerance'):
        GoalParams(xy_tolerance=0.0)
    with pytest.raises(ValueError, match='k_sigma'):
        GoalParams(k_sigma=0.0)
    with pytest.raises(ValueError, match='uncertain_wait_s'):
        GoalParams(uncertain_wait_s=-1.0)
    assert GoalParams(xy_tolerance=0.17, k_sigma=2.0).max_sigma == pytest.approx(0.085)


# -- localisation uncertainty: reached only when the pose can be trusted -----------------------
UNCERTAIN_PARAMS = GoalParams(xy_tolerance=0.2, yaw_tolerance=0.3, k_sigma=2.0,
                              uncertain_wait_s=5.0)  # sigma up to 0.1 m
CERTAIN = (0.0025, 0.0016, 0.001)  # sigma 0.05 m
VAGUE = (0.04, 0.01, 0.001)  # sigma 0.2 m


def test_a_goal_within_tolerance_is_reached_when_the_pose_is_certain() -> None:
    seq = GoalSequence([A, B], UNCERTAIN_PARAMS)
    ended = seq.update(Pose2D(1.9, 0.0, 0.0), 1 * S, CERTAIN)
    assert [(r.index, r.outcome, r.covariance) for r in ended] == [
        (0, Outcome.REACHED, CERTAIN)]
    assert ended[0].as_dict()['covariance'] == list(CERTAIN)


def test_a_goal_within_tolerance_but_too_uncertain_ends_uncertain_after_the_wait() -> None:
    seq = GoalSequence([A, B], UNCERTAIN_PARAMS)
    at_goal = Pose2D(1.9, 0.0, 0.0)
    assert seq.update(at_goal, 1 * S, VAGUE) == [], 'waits for the uncertainty to shrink'
    assert seq.update(at_goal, 5 * S, VAGUE) == []
    assert seq.update(at_goal, 6 * S - 1, (math.inf, math.inf, math.inf)) == []
    ended = seq.update(at_goal, 6 * S, (math.inf, math.nan, 0.001))
    assert [(r.index, r.outcome, r.reason, r.t_s) for r in ended] == [
        (0, Outcome.UNCERTAIN, '', 6.0)]
    assert ended[0].as_dict()['covariance'] == ['inf', 'nan', 0.001], 'strict JSON'
    assert ended[0].as_dict()['outcome'] == 'uncertain'
    assert seq.index == 1, 'the next goal is current'
    assert seq.count(Outcome.UNCERTAIN) == 1 and seq.count(Outcome.REACHED) == 0
    assert seq.report()['goals_uncertain'] == 1
    assert seq.status_values()['goals_uncertain'] == '1'


def test_a_goal_is_reached_when_the_uncertainty_shrinks_within_the_wait() -> None:
    seq = GoalSequence([A], UNCERTAIN_PARAMS)
    at_goal = Pose2D(2.05, 0.05, 0.1)
    assert seq.update(at_goal, 1 * S, VAGUE) == []
    ended = seq.update(at_goal, 5 * S, CERTAIN)  # the LiDAR is back
    assert [(r.outcome, r.t_s) for r in ended] == [(Outcome.REACHED, 5.0)]


def test_the_uncertain_wait_starts_over_when_the_pose_leaves_the_tolerance() -> None:
    seq = GoalSequence([A], UNCERTAIN_PARAMS)
    assert seq.update(Pose2D(1.9, 0.0, 0.0), 1 * S, VAGUE) == []
    assert seq.update(Pose2D(1.5, 0.0, 0.0), 3 * S, VAGUE) == []
    assert seq.update(Pose2D(1.9, 0.0, 0.0), 4 * S, VAGUE) == []
    assert seq.update(Pose2D(1.9, 0.0, 0.0), 8 * S, VAGUE) == [], 'only 4 s since it came back'
    ended = seq.update(Pose2D(1.9, 0.0, 0.0), 9 * S, VAGUE)
    assert [r.outcome for r in ended] == [Outcome.UNCERTAIN]


def test_without_a_covariance_the_pose_alone_is_judged() -> None:
    seq = GoalSequence([A], UNCERTAIN_PARAMS)
    ended = seq.update(Pose2D(1.9, 0.0, 0.0), 1 * S)
    assert [(r.outcome, r.covariance) for r in ended] == [(Outcome.REACHED, None)]
    assert ended[0].as_dict()['covariance'] is None


def test_an_uncertain_pose_away_from_the_goal_keeps_the_progress_rules() -> None:
    seq = GoalSequence([A], UNCERTAIN_PARAMS)
    assert seq.update(Pose2D(0.0, 0.0, 0.0), 0, VAGUE) == []
    ended = seq.update(Pose2D(0.1, 0.0, 0.0), 30 * S + 1, VAGUE)
    assert [(r.outcome, r.reason) for r in ended] == [(Outcome.FAILED, REASON_NO_PROGRESS)]


def test_a_zero_wait_ends_an_uncertain_goal_at_once() -> None:
    params = GoalParams(xy_tolerance=0.2, uncertain_wait_s=0.0)
    seq = GoalSequence([A], params)
    ended = seq.update(Pose2D(1.9, 0.0, 0.0), 1 * S, VAGUE)
    assert [r.outcome for r in ended] == [Outcome.UNCERTAIN]


def test_nearest_segment_does_not_jump_back() -> None:
    # A hairpin: the way back passes 0.1 m from the way out.
    path = [(0.0, 0.0), (5.0, 0.0), (5.0, 0.1), (0.0, 0.1)]
    assert nearest_segment(path, (1.0, -0.01)) == 0
    assert nearest_segment(path, (1.0, 0.11)) == 2
    assert nearest_segment(path, (1.0, -0.01), first=2) == 2
    assert nearest_segment([(1.0, 1.0)], (0.0, 0.0)) == 0


coords = st.floats(-50, 50, allow_nan=False)


@given(st.lists(st.tuples(coords, coords), min_size=2, max_size=8), st.tuples(coords, coords))
def test_nearest_segment_is_at_the_distance_to_the_path(path, point) -> None:
    i = nearest_segment(path, point)
    assert 0 <= i < len(path) - 1
    assert distance_to_path(path[i:i + 2], point) == pytest.approx(
        distance_to_path(path, point), abs=1e-9)
