"""EndAfterGoals: a goal run ends a hold after the planner's goal list ran out, not before."""

from robo_edge.twin.run_end import EndAfterGoals

S = 1_000_000_000


def test_ends_after_the_hold_following_the_first_empty_plan_after_a_goal() -> None:
    end = EndAfterGoals(2 * S)
    end.on_plan(1 * S, has_poses=True)
    end.on_plan(10 * S, has_poses=False)
    end.on_plan(11 * S, has_poses=False)  # later empty plans do not move the end
    assert not end.due(11 * S)
    assert end.due(12 * S)


def test_empty_plans_before_any_goal_never_end_the_run() -> None:
    end = EndAfterGoals(2 * S)
    end.on_plan(1 * S, has_poses=False)
    assert not end.due(100 * S)


def test_a_new_goal_cancels_the_end() -> None:
    end = EndAfterGoals(2 * S)
    end.on_plan(1 * S, has_poses=True)
    end.on_plan(5 * S, has_poses=False)
    end.on_plan(6 * S, has_poses=True)
    assert not end.due(8 * S)


def test_zero_hold_disables_the_early_end() -> None:
    end = EndAfterGoals(0)
    end.on_plan(1 * S, has_poses=True)
    end.on_plan(2 * S, has_poses=False)
    assert not end.due(100 * S)
