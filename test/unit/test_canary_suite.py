"""The canary suite file and how an artifact enters a run (pure: no ROS, no Ray)."""

from pathlib import Path

import pytest
import yaml

from robo_edge.canary.plan import Case, arm_overrides, cases, policy_overrides
from robo_edge.canary.suite import METRICS, NOMINAL, load_suite, parse_suite
from robo_edge.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]
SILENCE = {'type': 'silence', 'target': 'lidar', 'start_s': 5.0, 'duration_s': 8.0}


def test_shipped_suite_has_worlds_faults_seeds_and_a_quick_section() -> None:
    suite = load_suite(REPO / 'config' / 'canary.yaml')
    assert len(suite.shipped_worlds) >= 2 and suite.generated_worlds >= 2
    assert NOMINAL in suite.faults and any(suite.faults[k] for k in suite.faults)
    assert len(suite.seeds) >= 2
    assert set(suite.thresholds.no_worse) == set(METRICS)
    quick = load_suite(REPO / 'config' / 'canary.yaml', quick=True)
    assert quick.scenario_files == ('empty_room_smoke',) and quick.faults == {NOMINAL: ()}


def test_plain_and_ros_forms_are_the_same_suite() -> None:
    plain = {'shipped_worlds': ['empty_room'], 'seeds': [0, 3],
             'faults': ['nominal', {'name': 'silence', 'faults': [SILENCE]}]}
    a = parse_suite(plain, 'plain')
    b = parse_suite({'canary': {'ros__parameters': plain}}, 'ros')
    assert (a.shipped_worlds, a.seeds, a.faults) == (b.shipped_worlds, b.seeds, b.faults)
    assert a.faults['silence'] == (SILENCE,)


@pytest.mark.parametrize(('doc', 'key'), [
    ({'shipped_worlds': ['empty_room'], 'seeds': []}, 'seeds'),
    ({'shipped_worlds': ['empty_room'], 'seeds': [1, 1]}, 'seeds'),
    ({'shipped_worlds': 'empty_room'}, 'shipped_worlds'),
    ({'generated_worlds': -1}, 'generated_worlds'),
    ({}, 'scenario_files'),
    ({'shipped_worlds': ['a'], 'worlds': 3}, 'worlds'),
    ({'shipped_worlds': ['a'], 'faults': ['lidar']}, 'faults[0]'),
    ({'shipped_worlds': ['a'], 'faults': [{'name': 'x', 'faults': [{'type': 'silence'}]}]},
     'faults[0].faults'),
    ({'shipped_worlds': ['a'], 'faults': ['nominal', 'nominal']}, 'faults[1]'),
    ({'shipped_worlds': ['a'], 'thresholds': {'no_worse': ['speed']}}, 'thresholds.no_worse'),
    ({'shipped_worlds': ['a'], 'thresholds': {'confidence': 1.5}}, 'thresholds.confidence'),
])
def test_malformed_suites_name_the_key(doc: dict, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_suite(doc, 'bad.yaml')
    assert error.value.key == key and 'bad.yaml' in str(error.value)


def test_quick_without_a_quick_section_is_refused() -> None:
    with pytest.raises(ConfigError, match='quick'):
        parse_suite({'shipped_worlds': ['a']}, 'x.yaml', quick=True)


def test_every_case_is_a_scenario_fault_and_seed() -> None:
    suite = parse_suite({'shipped_worlds': ['a'], 'seeds': [0, 1],
                         'faults': ['nominal', {'name': 'silence', 'faults': [SILENCE]}]}, 's')
    found = cases(suite, {'a': {}, 'gen100000': {}})
    assert len(found) == 8 and len({c.case_id for c in found}) == 8
    assert Case('gen100000', 'silence', 1) in found


def test_artifacts_enter_runs_as_node_overrides(tmp_path: Path) -> None:
    model, grid = tmp_path / 'm.onnx', tmp_path / 'map.yaml'
    model.write_bytes(b'x')
    grid.write_text('image: m.pgm\n')
    assert arm_overrides('model', model) == {'perception': {'model_path': str(model)}}
    assert arm_overrides('map', grid) == {'mapper': {'static_map': str(grid)}}
    assert arm_overrides('policy', None) == {}
    with pytest.raises(FileNotFoundError):
        arm_overrides('model', tmp_path / 'missing.onnx')
    with pytest.raises(ValueError, match='kind'):
        arm_overrides('firmware', model)


def test_policy_files_in_both_forms_and_unknown_nodes_refused(tmp_path: Path) -> None:
    policy = tmp_path / 'p.yaml'
    policy.write_text(yaml.safe_dump({'safety_gate': {'ros__parameters': {'crawl_speed': 0.1}},
                                      'planner': {'replan_s': 2.0}}))
    assert policy_overrides(policy) == {'safety_gate': {'crawl_speed': 0.1},
                                        'planner': {'replan_s': 2.0}}
    policy.write_text(yaml.safe_dump({'twin': {'rate': 1}}))
    with pytest.raises(ConfigError, match='twin'):
        policy_overrides(policy)
