"""Node tests: the planner publishes one /plan per map, stamped like it.

The probe publishes synthetic /odom, /map (with the /safety/scan_source of its scan), the
localisation and goals with explicit simulated stamps (use_sim_time stays false), in one fresh
rclpy Context spun until a condition holds or a wall deadline passes.
"""


import json
import math
import time

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from nav_harness import (
    INFLATION,
    MS,
    ORIGIN,
    REPO,
    Harness,
    overrides,
    wall_scan,
)
from std_msgs.msg import Header

from robo_edge.nodes import controller as controller_module
from robo_edge.nodes import mapper as mapper_module
from robo_edge.nodes import planner as planner_module
from robo_edge.nodes.mapper import MapperNode
from robo_edge.nodes.planner import PlannerNode
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.planning.path_checks import path_blocked
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D
from robo_edge.robot.profile import load_profile, node_parameters
from robo_edge.ros.diagnostics import status_level, status_values
from robo_edge.ros.nav_messages import (
    correction_msg,
    grid_from_msg,
    grid_msg,
    path_points,
    pose_with_covariance_msg,
    quaternion_yaw,
)
from robo_edge.ros.stamps import from_msg, to_msg

# Planner


CERTAIN = (1e-4, 1e-4, 1e-4)  # sigma 1 cm
VAGUE = (0.04, 0.01, 0.001)  # sigma 0.2 m: more than xy_tolerance / k_sigma (0.085 m)


def test_planner_uses_the_correction_stamped_like_its_map(context) -> None:
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[-4.0, 0.0, 0.0], input_wait_s=5.0))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.source, h.correction, h.pose, topics=('/plan',))
        h.send_odom(100 * MS, 0.0)
        h.send_map(box_map(), 100 * MS)
        assert not h.spin_until(lambda: h.plan_stamped(100 * MS) is not None, 0.5), (
            'planned before its correction came')
        h.correction.publish(correction_msg(Pose2D(0.3, -0.2, 0.0), 100 * MS))
        assert not h.spin_until(lambda: h.plan_stamped(100 * MS) is not None, 0.5), (
            'planned with the correction but without the covariance of its stamp')
        h.pose.publish(pose_with_covariance_msg(Pose2D(0.3, -0.2, 0.0), CERTAIN, 100 * MS))
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        assert points[0] == pytest.approx((0.3, -0.2)), 'the robot at the corrected pose'
        assert planner.counts['late_inputs'] == 0
    finally:
        h.close()


def test_planner_plans_around_the_mapped_wall_on_every_map(context, tmp_path) -> None:
    report = tmp_path / 'report.json'
    mapper = MapperNode(context=context)
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[4.0, 0.0, 0.5], report_path=str(report)))
    h = Harness(context, mapper, planner)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/plan'))
        stamps = [100 * MS, 200 * MS, 300 * MS]
        for stamp in stamps:
            h.send_odom(stamp, 0.0)
            h.send_scan(wall_scan(stamp))
            assert h.spin_until(lambda s=stamp: h.plan_stamped(s) is not None)
        assert [from_msg(p.header.stamp) for p in h.plans] == stamps, 'one plan per map'
        plan = h.plans[-1]
        points = path_points(plan)
        assert points[0] == pytest.approx((0.0, 0.0)) and points[-1] == pytest.approx((4.0, 0.0))
        assert quaternion_yaw(plan.poses[-1].pose.orientation) == pytest.approx(0.5)
        assert all(from_msg(p.header.stamp) == stamps[-1] for p in plan.poses)
        assert max(abs(y) for _, y in points) > 1.0, 'the path goes round the wall'
        costmap = inflate(grid_from_msg(h.maps[-1]), INFLATION)
        assert costmap.blocked.any() and path_blocked(costmap, points) is None
        assert planner.counts['late_inputs'] == 0
        goals = json.loads(report.read_text())['goals']
        assert [(g['index'], g['outcome']) for g in goals] == [(0, 'pending')]
    finally:
        h.close()


def test_planner_reports_a_goal_it_cannot_trust_as_uncertain(context, tmp_path) -> None:
    report = tmp_path / 'report.json'
    # Both goals 0.1 m ahead of the start; the second waits for the pose to become certain.
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[0.1, 0.0, 0.0, 0.1, 0.0, 0.0], input_wait_s=5.0, uncertain_wait_s=1.0,
        report_path=str(report), diagnostics_period_s=0.1))
    h = Harness(context, planner)

    def step(stamp_ns: int, variances: tuple[float, float, float]) -> list[dict]:
        h.send_odom(stamp_ns, 0.0)
        # The pose first, then the correction (the mapper's order; the join takes either).
        h.pose.publish(pose_with_covariance_msg(ORIGIN, variances, stamp_ns))
        h.correction.publish(correction_msg(ORIGIN, stamp_ns))
        h.send_map(box_map(), stamp_ns)
        assert h.spin_until(lambda: h.plan_stamped(stamp_ns) is not None)
        return json.loads(report.read_text())['goals']

    try:
        h.connect(h.odom, h.map, h.source, h.correction, h.pose, topics=('/plan',))
        assert step(100 * MS, VAGUE)[0]['outcome'] == 'pending', 'within tolerance, too vague'
        assert step(1000 * MS, VAGUE)[0]['outcome'] == 'pending', 'still inside the 1 s wait'
        goals = step(1100 * MS, VAGUE)
        assert (goals[0]['outcome'], goals[0]['t']) == ('uncertain', 1.1)
        assert goals[0]['covariance'] == pytest.approx(list(VAGUE))
        assert goals[1]['outcome'] == 'pending', 'the next goal now waits in turn'
        assert path_points(h.plan_stamped(1100 * MS)), 'and is planned for'
        goals = step(1200 * MS, CERTAIN)  # the LiDAR is back within the second goal's wait
        assert (goals[1]['outcome'], goals[1]['t']) == ('reached', 1.2)
        assert json.loads(report.read_text())['goals_uncertain'] == 1
        assert h.spin_until(lambda: h.status(
            'robo_edge/planner', 'goals_reached', lambda v: v == '1'))
        values = status_values(h.statuses['robo_edge/planner'][-1])
        assert (values['goals_uncertain'], values['goals_failed']) == ('1', '0')
        assert status_level(h.statuses['robo_edge/planner'][-1]) == 1
        assert planner.counts['late_inputs'] == 0
    finally:
        h.close()


def test_planner_takes_a_correction_without_its_covariance_as_unknown(context) -> None:
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[0.1, 0.0, 0.0], input_wait_s=0.3, uncertain_wait_s=0.0))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.source, h.correction, h.pose, topics=('/plan',))
        h.send_odom(100 * MS, 0.0)
        h.correction.publish(correction_msg(ORIGIN, 100 * MS))
        h.send_map(box_map(), 100 * MS)
        sent = time.monotonic()
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        assert time.monotonic() - sent >= 0.3, 'released before its wait was over'
        # At the goal, but the covariance is unknown: not reached (uncertain, no wait).
        record = planner.goals.records[0]
        assert record.outcome.value == 'uncertain' and math.isinf(record.covariance[0])
        assert planner.counts['late_inputs'] == 1
    finally:
        h.close()


def box_map() -> Grid:
    """10 m x 10 m of free space from (-5, -5) with a closed 1.2 m box around (3, 3)."""
    grid = Grid.filled(100, 100, 0.1, 0, origin_x=-5.0, origin_y=-5.0)
    c0, r0 = grid.world_to_cell(2.4, 2.4)
    c1, r1 = grid.world_to_cell(3.6, 3.6)
    grid.data[r0:r1 + 1, [c0, c1]] = 100
    grid.data[[r0, r1], c0:c1 + 1] = 100
    return grid


def test_planner_fails_an_unreachable_goal_and_ends_with_an_empty_plan(context, tmp_path):
    report = tmp_path / 'out' / 'report.json'
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[3.0, 3.0, 0.0, 1.0, 0.0, 0.0], initial_pose=[0.5, 0.0, 0.0],
        report_path=str(report), diagnostics_period_s=0.1, localization=False))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.source, topics=('/plan',))
        h.send_odom(100 * MS, -0.5)  # odom -0.5 from the initial pose 0.5: the map origin
        h.send_map(box_map(), 100 * MS)
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        assert points[0] == pytest.approx((0.0, 0.0)) and points[-1] == pytest.approx((1.0, 0.0))
        goals = json.loads(report.read_text())['goals']
        assert (goals[0]['outcome'], goals[0]['reason'], goals[0]['t']) == (
            'failed', 'unreachable', 0.1)
        assert goals[1]['outcome'] == 'pending'
        # The robot arrives at the second goal: it is reached and the plan is empty.
        h.send_odom(200 * MS, 0.45)
        h.send_map(box_map(), 200 * MS)
        assert h.spin_until(lambda: h.plan_stamped(200 * MS) is not None)
        assert h.plan_stamped(200 * MS).poses == []
        goals = json.loads(report.read_text())['goals']
        assert (goals[1]['outcome'], goals[1]['t']) == ('reached', 0.2)
        # A status published before the second map was handled may still arrive: wait for one
        # that has seen the arrival, then check the rest of it.
        assert h.spin_until(lambda: h.status(
            'robo_edge/planner', 'goals_reached', lambda v: v == '1'))
        values = status_values(h.statuses['robo_edge/planner'][-1])
        assert values['goals_failed'] == '1' and values['failures'] == '0: unreachable'
        assert values['goal_index'] == ''
    finally:
        h.close()


def box_with_door() -> Grid:
    """box_map with 0.6 m of free cells in its west wall (a 0.8 m door the LiDAR narrowed)."""
    grid = box_map()
    col, row = grid.world_to_cell(2.4, 2.75)
    grid.data[row:row + 6, col] = 0
    return grid


@pytest.mark.parametrize('narrow_margin', [0.05, 0.15])
def test_planner_crosses_a_door_the_band_closes_on_the_narrow_tier(context, narrow_margin):
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[3.0, 3.0, 0.0], localization=False, narrow_margin=narrow_margin))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.source, topics=('/plan',))
        h.send_odom(100 * MS, 0.0)
        h.send_map(box_with_door(), 100 * MS)
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        if narrow_margin >= 0.15:  # the node's inflation_margin: no tier, the goal is unreachable
            assert planner.goals.records[0].outcome.value == 'failed'
            return
        assert points[-1] == pytest.approx((3.0, 3.0)) and planner.keeper.narrow
        crossings = [y0 + (2.4 - x0) / (x1 - x0) * (y1 - y0)
                     for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False)
                     if min(x0, x1) < 2.4 <= max(x0, x1)]
        assert len(crossings) == 1 and 2.7 < crossings[0] < 3.3, 'through the door'
        costmap = inflate(box_with_door(), InflationParams(0.2, narrow_margin))
        assert path_blocked(costmap, points) is None, 'never inside radius + narrow margin'
    finally:
        h.close()


def test_goal_pose_replaces_the_goals_at_the_next_map(context) -> None:
    planner = PlannerNode(context=context, parameter_overrides=overrides(localization=False))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.source, h.goal, topics=('/plan',))
        goal = PoseStamped()
        goal.header.frame_id = 'map'
        goal.pose.position.x, goal.pose.position.y = -2.0, 1.0
        goal.pose.orientation.w = 1.0
        h.goal.publish(goal)
        assert h.spin_until(lambda: planner.new_goal is not None)
        h.send_odom(100 * MS, 0.0)
        h.send_map(box_map(), 100 * MS)
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        points = path_points(h.plan_stamped(100 * MS))
        assert points[-1] == pytest.approx((-2.0, 1.0)) and planner.goals.index == 0
    finally:
        h.close()


def test_navigation_yaml_matches_the_node_defaults() -> None:
    config = yaml.safe_load((REPO / 'config' / 'navigation.yaml').read_text())
    robot = node_parameters(load_profile(REPO / 'config' / 'robot' / 'default.yaml'))
    for name, module in (('mapper', mapper_module), ('planner', planner_module),
                         ('controller', controller_module)):
        # required_readers: set per run by the bringup that knows the graph; the robot's
        # values: by its profile, never here.
        defaults = {p.name: p.default for p in module.PARAMS
                    if p.name != 'required_readers' and p.name not in robot[name]}
        values = config[name]['ros__parameters']
        assert set(values) == set(defaults), name
        for key, value in values.items():
            assert value == defaults[key], f'{name}.{key}'


def known_patch_map() -> Grid:
    """10 m x 10 m from (-5, -5), unknown but for a free 3 m square around the origin."""
    grid = Grid.filled(100, 100, 0.1, -1, origin_x=-5.0, origin_y=-5.0)
    c0, r0 = grid.world_to_cell(-1.5, -1.5)
    c1, r1 = grid.world_to_cell(1.5, 1.5)
    grid.data[r0:r1 + 1, c0:c1 + 1] = 0
    return grid


def test_planner_holds_on_unknown_cells_only_without_any_source(context, tmp_path):
    report = tmp_path / 'report.json'
    planner = PlannerNode(context=context, parameter_overrides=overrides(
        goals=[4.0, 0.0, 0.0], report_path=str(report), diagnostics_period_s=0.1,
        localization=False))
    h = Harness(context, planner)
    try:
        h.connect(h.odom, h.map, h.source, topics=('/plan',))
        # A source that says nothing backs nothing (fail closed): unknown cells are obstacles
        # and the goal beyond them waits (a plan of one pose where the robot stands), neither
        # planned through them nor failed.
        h.send_odom(100 * MS, 0.0, yaw=0.5)
        h.source.publish(DiagnosticArray(header=Header(stamp=to_msg(100 * MS))))
        h.map.publish(grid_msg(known_patch_map(), 100 * MS))
        assert h.spin_until(lambda: h.plan_stamped(100 * MS) is not None)
        held = h.plan_stamped(100 * MS)
        assert path_points(held) == [pytest.approx((0.0, 0.0))]
        assert quaternion_yaw(held.poses[0].pose.orientation) == pytest.approx(0.5)
        assert json.loads(report.read_text())['goals'][0]['outcome'] == 'pending'
        assert planner.holding and planner.counts['maps_without_lidar'] == 1
        assert h.spin_until(lambda: h.status('robo_edge/planner', 'holding',
                                             lambda v: v == 'true'))
        # The camera backs the map: it sees ahead as the robot goes, and what it sees lies
        # over the map (the mapper's short-lived layer), so unknown cells may be planned
        # through at the degraded speed.
        h.send_odom(200 * MS, 0.0)
        h.send_map(known_patch_map(), 200 * MS, origin='perception')
        assert h.spin_until(lambda: h.plan_stamped(200 * MS) is not None)
        points = path_points(h.plan_stamped(200 * MS))
        assert points[-1] == pytest.approx((4.0, 0.0)) and not planner.holding
        assert planner.counts['maps_without_lidar'] == 2
        # The camera's layer walls the goal in: held, not failed (the layer expires, the
        # LiDAR may come back).
        walled = known_patch_map()
        c0, r0 = walled.world_to_cell(2.5, -5.0)
        c1, _ = walled.world_to_cell(2.8, 5.0)
        walled.data[:, c0:c1 + 1] = 100
        h.send_odom(300 * MS, 0.0)
        h.send_map(walled, 300 * MS, origin='perception')
        assert h.spin_until(lambda: h.plan_stamped(300 * MS) is not None)
        assert len(h.plan_stamped(300 * MS).poses) == 1 and planner.holding
        assert json.loads(report.read_text())['goals'][0]['outcome'] == 'pending'
        # The LiDAR is back: a goal walled in is unreachable, and fails.
        h.send_odom(400 * MS, 0.0)
        h.send_map(walled, 400 * MS, origin='lidar')
        assert h.spin_until(lambda: json.loads(report.read_text())['goals'][0]['outcome']
                            == 'failed')
    finally:
        h.close()
