"""Node tests: the planner's live parameters apply at the next map, or are refused.

The probe publishes /odom and /map with explicit simulated stamps (nav_harness); each test sets
parameters on the running PlannerNode and watches the goal outcomes and plans that follow.
"""

import json

import pytest
from nav_harness import MS, Harness, overrides
from rclpy.parameter import Parameter
from test_planner_node import box_map, box_with_door

from robo_edge.nodes.planner import PlannerNode
from robo_edge.robot.grid import Grid
from robo_edge.ros.nav_messages import path_points


def outcomes(report) -> list[str]:
    return [goal['outcome'] for goal in json.loads(report.read_text())['goals']]


def step(h: Harness, stamp_ns: int, grid: Grid, x: float) -> list[tuple[float, float]]:
    """Send the odometry (robot at x) and the map stamped s; return the plan stamped s."""
    h.send_odom(stamp_ns, x)
    h.send_map(grid, stamp_ns)
    assert h.spin_until(lambda: h.plan_stamped(stamp_ns) is not None)
    return path_points(h.plan_stamped(stamp_ns))


def planner_on(context, report, goal: list[float]) -> tuple[PlannerNode, Harness]:
    """A planner with one goal, dead reckoning, reporting to `report`, and its probe."""
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=goal, localization=False, report_path=str(report)))
    h = Harness(context, planner)
    h.connect(h.odom, h.map, h.source, topics=('/plan',))
    return planner, h


def test_a_changed_xy_tolerance_decides_when_a_goal_is_reached(context, tmp_path) -> None:
    report = tmp_path / 'report.json'
    planner, h = planner_on(context, report, [1.0, 0.0, 0.0])
    try:
        step(h, 100 * MS, box_map(), 0.7)  # 0.3 m short of the goal
        assert outcomes(report) == ['pending'], '0.3 m is beyond xy_tolerance 0.17'
        # Refused as a whole: k_sigma out of its range, so xy_tolerance is not taken either.
        refused = planner.set_parameters_atomically([Parameter('xy_tolerance', value=0.4),
                                                     Parameter('k_sigma', value=0.0)])
        assert not refused.successful and 'k_sigma' in refused.reason
        assert planner.get_parameter('xy_tolerance').value == pytest.approx(0.17)
        step(h, 200 * MS, box_map(), 0.7)
        assert outcomes(report) == ['pending'], 'the old tolerance is still in force'
        # Read-only: the goals are the run's (/goal_pose replaces them at run time).
        fixed = planner.set_parameters([Parameter('goals', value=[0.7, 0.0, 0.0])])[0]
        assert not fixed.successful and 'read-only' in fixed.reason
        assert planner.set_parameters([Parameter('xy_tolerance', value=0.4)])[0].successful
        step(h, 300 * MS, box_map(), 0.7)
        goals = json.loads(report.read_text())['goals']
        assert (goals[0]['outcome'], goals[0]['t']) == ('reached', 0.3)
        assert h.plan_stamped(300 * MS).poses == [], 'no goal left'
    finally:
        h.close()


def test_a_changed_narrow_margin_judges_the_kept_path_at_the_next_map(context,
                                                                       tmp_path) -> None:
    report = tmp_path / 'report.json'
    planner, h = planner_on(context, report, [3.0, 3.0, 0.0])
    try:
        assert step(h, 100 * MS, box_with_door(), 0.0)[-1] == pytest.approx((3.0, 3.0))
        assert planner.keeper.narrow, 'through the door on the 0.05 m tier'
        # A narrow band as wide as the normal one: no narrow tier from the next map on, the
        # kept path is blocked there, and the door closes the only way.
        assert planner.set_parameters([Parameter('narrow_margin', value=0.15)])[0].successful
        step(h, 200 * MS, box_with_door(), 0.0)
        goal = json.loads(report.read_text())['goals'][0]
        assert (goal['outcome'], goal['reason'], goal['t']) == ('failed', 'unreachable', 0.2)
    finally:
        h.close()
