"""Declared against running (supervisor/reconcile.py, graph_report.py): pure, no ROS."""

import json
from pathlib import Path

import pytest

from robo_edge.supervisor import graph_report
from robo_edge.supervisor.activations import activated_parameters, with_activations
from robo_edge.supervisor.bringup import RestartPolicy, load_bringup, parse_bringup
from robo_edge.supervisor.reconcile import (
    ERROR,
    OK,
    WARN,
    Action,
    DeclaredNode,
    NodeObservation,
    Observation,
    coerce,
    compare,
    declared_graph,
    declared_parameters,
    values_equal,
)

REPO = Path(__file__).resolve().parents[2]

GATE = DeclaredNode('safety_gate', {'max_linear': 0.5, 'tick_source': 'timer'},
                    RestartPolicy.ALWAYS, 5, safety_critical=True)
MODE = DeclaredNode('mode_manager', {'degraded_speed_cap': 0.3, 'required': ['odometry']})


def up(name: str, params: dict, read_only: frozenset[str] = frozenset(),
       restarts: int = 0) -> NodeObservation:
    return NodeObservation(name, 'running', restarts, True, None, params, read_only)


def as_declared() -> dict[str, NodeObservation]:
    return {'safety_gate': up('safety_gate', {'max_linear': 0.5, 'tick_source': 'timer',
                                              'use_sim_time': False},
                              frozenset({'tick_source'})),
            'mode_manager': up('mode_manager', {'degraded_speed_cap': 0.3,
                                                'required': ['odometry']})}


def only(report, kind: str):
    found = [d for d in report.divergences if d.kind == kind]
    assert len(found) == 1, report.divergences
    return found[0]


def test_a_graph_as_declared_has_no_divergence() -> None:
    report = compare((GATE, MODE), Observation(as_declared()))
    assert report.divergences == () and report.level == OK
    assert [r.status for r in report.nodes] == ['up', 'up']
    assert all(p.state == 'ok' for r in report.nodes for p in r.parameters)


def test_live_parameter_drift_is_reapplied() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = up('mode_manager', {'degraded_speed_cap': 0.7,
                                                'required': ['odometry']})
    d = only(compare((GATE, MODE), Observation(nodes)), 'parameter_drift')
    assert (d.node, d.parameter, d.action, d.level) == (
        'mode_manager', 'degraded_speed_cap', Action.REAPPLY, WARN)
    assert (d.declared, d.applied) == (0.3, 0.7)


def test_read_only_drift_is_escalated_never_reapplied() -> None:
    nodes = as_declared()
    nodes['safety_gate'] = up('safety_gate', {'max_linear': 0.5, 'tick_source': 'clock'},
                              frozenset({'tick_source'}))
    report = compare((GATE, MODE), Observation(nodes))
    d = only(report, 'parameter_drift')
    assert (d.parameter, d.action, d.level) == ('tick_source', Action.ESCALATE, ERROR)
    assert not report.actions(Action.REAPPLY) and report.level == ERROR


def test_a_refused_value_is_escalated() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = up('mode_manager', {'degraded_speed_cap': 0.7,
                                                'required': ['odometry']})
    refused = {('mode_manager', 'degraded_speed_cap'): 'out of range'}
    d = only(compare((GATE, MODE), Observation(nodes, refused=refused)), 'parameter_drift')
    assert d.action is Action.ESCALATE and 'out of range' in d.detail


def test_drift_on_a_safety_critical_node_says_so() -> None:
    nodes = as_declared()
    nodes['safety_gate'] = up('safety_gate', {'max_linear': 0.9, 'tick_source': 'timer'},
                              frozenset({'tick_source'}))
    d = only(compare((GATE, MODE), Observation(nodes)), 'parameter_drift')
    assert d.action is Action.REAPPLY and 'safety-critical' in d.detail


def test_missing_node_is_escalated() -> None:
    nodes = as_declared()
    del nodes['mode_manager']  # no supervisor figures, not in the graph
    report = compare((GATE, MODE), Observation(nodes))
    d = only(report, 'node_down')
    assert (d.node, d.action, d.level) == ('mode_manager', Action.ESCALATE, ERROR)
    assert report.nodes[1].status == 'down' and report.nodes[1].parameters == ()


def test_extra_node_is_escalated_and_left_alone() -> None:
    d = only(compare((GATE, MODE), Observation(as_declared(), ('rogue_teleop',))),
             'extra_node')
    assert (d.node, d.action, d.level) == ('rogue_teleop', Action.ESCALATE, ERROR)


def test_a_node_being_restarted_is_the_supervisors_restart() -> None:
    nodes = as_declared()
    nodes['safety_gate'] = NodeObservation('safety_gate', 'restarting', 2, False, -9)
    report = compare((GATE, MODE), Observation(nodes))
    d = only(report, 'node_down')
    assert (d.action, d.level) == (Action.RESTART, WARN)
    assert 'safety-critical' in d.detail and report.nodes[0].restarts == 2


def test_restart_budget_exhausted_is_escalated() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = NodeObservation('mode_manager', 'given_up', 5, False, -9)
    d = only(compare((GATE, MODE), Observation(nodes)), 'restart_budget')
    assert (d.action, d.level) == (Action.ESCALATE, ERROR)


def test_a_node_that_finished_cleanly_is_not_a_divergence() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = NodeObservation('mode_manager', 'exited', 0, False, 0)
    report = compare((GATE, MODE), Observation(nodes))
    assert report.divergences == () and report.nodes[1].status == 'exited'


def test_a_declared_parameter_the_node_lacks_is_escalated() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = up('mode_manager', {'degraded_speed_cap': 0.3})
    d = only(compare((GATE, MODE), Observation(nodes)), 'unknown_parameter')
    assert (d.parameter, d.action) == ('required', Action.ESCALATE)


def test_unread_parameters_are_a_warning_not_a_drift() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = NodeObservation('mode_manager', 'running', 0, True)
    report = compare((GATE, MODE), Observation(nodes))
    d = only(report, 'parameters_unread')
    assert d.action is Action.NONE and report.level == WARN


@pytest.mark.parametrize(('declared', 'applied', 'equal'), [
    (0.3, 0.30000000000000004, True), (0.3, 0.31, False), (10, 10.0, True),
    (1e-15, 0.0, True), ([0.0, 1.0], [0.0, 1.0 + 1e-12], True), ([0.0, 1.0], [0.0], False),
    ([1, 2], (1.0, 2.0), True), (True, 1, False), (True, True, True), ('a', 'a', True),
    ('1', 1, False), ([0.5], 0.5, False), (['x', 'y'], ['x', 'y'], True),
])
def test_value_equality(declared: object, applied: object, equal: bool) -> None:
    assert values_equal(declared, applied) is equal


def test_the_declared_value_takes_the_applied_type() -> None:
    assert coerce(1, 0.5) == 1.0 and isinstance(coerce(1, 0.5), float)
    assert coerce([1, 2], [0.5, 0.5]) == [1.0, 2.0]
    assert coerce(True, False) is True and coerce('x', 'y') == 'x'


def test_declared_parameters_are_files_in_order_then_overrides(tmp_path: Path) -> None:
    first = tmp_path / 'a.yaml'
    first.write_text('/**:\n  ros__parameters: {shared: 1}\n'
                     'mode_manager:\n  ros__parameters:\n    guard: {timeout_s: 0.5}\n'
                     '    cap: 0.3\nother:\n  ros__parameters: {cap: 9.0}\n')
    second = tmp_path / 'b.yaml'
    second.write_text('/mode_manager:\n  ros__parameters: {cap: 0.4}\n')
    bringup = parse_bringup({'bringup': {'name': 't', 'nodes': [
        {'name': 'mode_manager', 'executable': 'mode_manager',
         'parameters': [str(first), str(second)], 'overrides': {'shared': 2}}]}}, 't',
        config_dirs=[])
    assert declared_parameters(bringup.nodes[0]) == {
        'shared': 2, 'guard.timeout_s': 0.5, 'cap': 0.4}


def test_the_robot_bringup_declares_the_gate_safety_critical() -> None:
    declared = {d.name: d for d in declared_graph(
        load_bringup(REPO / 'config' / 'bringup' / 'robot.yaml',
                     config_dirs=[REPO / 'config']))}
    assert declared['safety_gate'].safety_critical
    assert not declared['planner'].safety_critical
    # the profile's values are declared too (the bringup's overrides)
    assert 'scan_rate_hz' in declared['safety_gate'].parameters


def test_report_text_json_and_diagnostics_show_both_sides() -> None:
    nodes = as_declared()
    nodes['mode_manager'] = up('mode_manager', {'degraded_speed_cap': 0.7,
                                                'required': ['odometry']}, restarts=3)
    report = compare((GATE, MODE), Observation(nodes))
    versions = graph_report.versions(
        {'robo_edge/perception': {'model_version': 'floor_seg-2', 'model_path': '/m.onnx'},
         'robo_edge/cloud_sync': {'active/policy/limits.yaml': '7 (release 7)',
                                  'active/model/floor_seg.onnx': ''}}, nodes)
    assert versions == {'map': 'unknown', 'model': 'floor_seg-2 (/m.onnx, perception)',
                        'policy': '7 (release 7) (policy/limits.yaml, cloud_sync)'}
    text = graph_report.table(report, versions)
    assert 'mode_manager.degraded_speed_cap' in text and '0.7' in text and 'reapply' in text
    data = json.loads(graph_report.to_json(report, versions))
    assert data['level'] == 'WARN' and data['nodes'][1]['restarts'] == 3
    assert data['divergences'][0]['action'] == 'reapply'
    values = dict(graph_report.diagnostic_values(report, versions))
    assert values['param/mode_manager.degraded_speed_cap'].startswith('declared 0.3, applied 0.7')
    assert values['node/mode_manager'] == 'up, restarts 3'
    assert values['version/map'] == 'unknown'


def test_the_map_version_falls_back_to_the_mappers_static_map() -> None:
    nodes = {'mapper': up('mapper', {'static_map': '/maps/floor2.yaml'})}
    assert graph_report.versions({}, nodes)['map'] == 'static_map /maps/floor2.yaml (mapper)'


def test_what_cloud_sync_activated_is_declared_and_never_undone(tmp_path: Path) -> None:
    policy = tmp_path / 'payload'
    policy.write_text('mode_manager.degraded_speed_cap: 0.2\nplanner.xy_tolerance: 0.2\n')
    bad = tmp_path / 'bad'
    bad.write_text('[1, 2]\n')
    activated = activated_parameters([
        {'kind': 'policy', 'target': 'policy/limits.yaml', 'path': str(policy)},
        {'kind': 'policy', 'target': 'policy/other.yaml', 'path': str(bad)},
        {'kind': 'model', 'target': 'model/floor_seg.onnx', 'path': '/store/a/payload'},
        {'kind': 'map', 'target': 'map/floor.tar', 'path': '/store/b/map/map.yaml'}])
    assert activated == {'mode_manager': {'degraded_speed_cap': 0.2},
                         'planner': {'xy_tolerance': 0.2},
                         'perception': {'model_path': '/store/a/payload'},
                         'mapper': {'static_map': '/store/b/map/map.yaml'}}
    declared = with_activations((GATE, MODE), activated)
    nodes = as_declared()
    nodes['mode_manager'] = up('mode_manager', {'degraded_speed_cap': 0.2,
                                                'required': ['odometry']})
    assert compare(declared, Observation(nodes)).divergences == ()
    assert compare((GATE, MODE), Observation(nodes)).actions(Action.REAPPLY)
