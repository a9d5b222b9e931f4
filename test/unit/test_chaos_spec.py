"""Fault specs: all types parse; bad ones name file, key and expectation; params round-trip."""

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.chaos.spec import (
    FAULT_TYPES,
    SENSOR_TARGETS,
    FaultSpec,
    from_params,
    parse_faults,
    to_params,
)
from robo_edge.cli import EXIT_USAGE, main
from robo_edge.exceptions import ConfigError, ScenarioError
from robo_edge.scenario import stack
from robo_edge.scenario.spec import load_scenario, parse_scenario
from robo_edge.yaml_fields import Fields

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {'name': 's', 'world': 'empty_room', 'start': [0, 0, 0], 'duration_s': 5}
EXTRA = {
    'silence': {}, 'freeze': {}, 'delay': {'delay_s': 0.3}, 'drop': {'probability': 0.2},
    'noise': {'std': 0.05}, 'nan': {'fraction': 0.5}, 'lie': {'mode': 'offset', 'value': 0.5},
    'clock_skew': {'skew_s': -0.5},
}


def faults(*items: dict) -> tuple[FaultSpec, ...]:
    return parse_faults(Fields({'faults': list(items)}, 'scenarios/f.yaml', '', ScenarioError))


def one(**item: object) -> FaultSpec:
    return faults({'start_s': 1.0, **item})[0]


# Every sensor type on every target it applies to (nan is refused on the camera; a camera lie
# has keys of its own: both tested below).
APPLICABLE = [(kind, target) for kind in sorted(EXTRA) for target in SENSOR_TARGETS
              if not (target == 'camera' and kind in ('nan', 'lie'))]


@pytest.mark.parametrize(('kind', 'target'), APPLICABLE)
def test_every_sensor_type_parses_on_every_target_it_applies_to(kind: str, target: str) -> None:
    fault = one(type=kind, target=target, duration_s=2.0, **EXTRA[kind])
    assert (fault.type, fault.target, fault.start_s, fault.duration_s) == (kind, target, 1.0, 2.0)
    assert (fault.start_ns, fault.end_ns) == (1_000_000_000, 3_000_000_000)
    for key, value in EXTRA[kind].items():
        assert getattr(fault, key) == value
    assert fault.injected_by == 'twin'


def test_defaults_duration_until_the_end_and_nan_fraction_one() -> None:
    fault = one(type='nan', target='lidar')
    assert fault.duration_s == 0.0 and fault.end_ns is None and fault.fraction == 1.0
    assert fault.active(10**18) and not fault.active(999_999_999) and fault.active(10**9)


def test_window_is_half_open() -> None:
    fault = one(type='silence', target='imu', duration_s=0.5)
    assert not fault.active(999_999_999)
    assert fault.active(1_000_000_000) and fault.active(1_499_999_999)
    assert not fault.active(1_500_000_000)


def test_kill_and_cut_link_are_parsed_for_the_runner_and_cloud_sync() -> None:
    kill, cut = faults({'type': 'kill', 'target': 'controller', 'start_s': 5},
                       {'type': 'cut_link', 'target': 'cloud', 'start_s': 1, 'duration_s': 9})
    assert (kill.type, kill.target, kill.injected_by) == ('kill', 'controller', 'scenario_runner')
    assert (cut.target, cut.duration_s, cut.injected_by) == ('cloud', 9.0, 'cloud_sync')


def test_camera_lies_parse_with_their_own_keys_and_defaults() -> None:
    phantom = one(type='lie', target='camera', mode='phantom', duration_s=3.0)
    assert (phantom.mode, phantom.columns, phantom.bottom) == ('phantom', (0.35, 0.65), 0.5)
    assert phantom.to_dict() == {'type': 'lie', 'target': 'camera', 'start_s': 1.0,
                                 'duration_s': 3.0, 'mode': 'phantom', 'columns': [0.35, 0.65],
                                 'bottom': 0.5}
    missed = one(type='lie', target='camera', mode='missed', columns=[0, 1], top=0.2)
    assert (missed.mode, missed.columns, missed.top) == ('missed', (0.0, 1.0), 0.2)
    assert missed.to_dict() == {'type': 'lie', 'target': 'camera', 'start_s': 1.0,
                                'mode': 'missed', 'columns': [0.0, 1.0], 'top': 0.2}
    assert one(type='lie', target='camera', mode='missed').top == 0.25
    narrow = one(type='lie', target='camera', mode='phantom', columns=[0.4, 0.45], bottom=1)
    assert (narrow.columns, narrow.bottom, narrow.injected_by) == ((0.4, 0.45), 1.0, 'twin')


def test_lidar_constant_lie_may_be_infinite() -> None:
    assert one(type='lie', target='lidar', mode='constant', value=math.inf).value == math.inf
    assert one(type='lie', target='lidar', mode='constant', value=-math.inf).value == -math.inf


@pytest.mark.parametrize('item, key, expectation', [
    ({'type': 'boom', 'target': 'lidar'}, 'type', 'one of'),
    ({'target': 'lidar'}, 'type', 'required'),
    ({'type': 'silence'}, 'target', 'required'),
    ({'type': 'silence', 'target': 'sonar'}, 'target', "'lidar', 'camera', 'imu', 'odom'"),
    ({'type': 'silence', 'target': 'lidar', 'std': 1}, 'std', 'unknown key'),
    ({'type': 'silence', 'target': 'lidar', 'start_s': -1}, 'start_s', '[0.0, 86400.0]'),
    ({'type': 'silence', 'target': 'lidar', 'duration_s': -1}, 'duration_s', '[0.0'),
    ({'type': 'silence', 'target': 'lidar', 'start_s': 'soon'}, 'start_s', 'finite number'),
    ({'type': 'delay', 'target': 'lidar'}, 'delay_s', 'required'),
    ({'type': 'delay', 'target': 'lidar', 'delay_s': 0}, 'delay_s', 'finite number'),
    ({'type': 'drop', 'target': 'imu', 'probability': 1.5}, 'probability', '[0.0, 1.0]'),
    ({'type': 'drop', 'target': 'imu', 'probability': -0.1}, 'probability', '[0.0, 1.0]'),
    ({'type': 'noise', 'target': 'odom', 'std': 0}, 'std', 'finite number'),
    ({'type': 'noise', 'target': 'odom', 'std': math.nan}, 'std', 'finite number'),
    ({'type': 'nan', 'target': 'camera'}, 'target', 'images have no NaN'),
    ({'type': 'nan', 'target': 'imu', 'fraction': 2}, 'fraction', '1.0]'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'offset'}, 'mode',
     "one of ['phantom', 'missed'] for the camera"),
    ({'type': 'lie', 'target': 'camera', 'mode': 'offset', 'value': 1}, 'value', 'unknown key'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'value': 1}, 'value',
     "one of ['bottom', 'columns', 'duration_s', 'mode'"),
    ({'type': 'lie', 'target': 'camera', 'columns': [0.1, 0.2]}, 'mode', 'required'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'top': 0.2}, 'top', 'unknown key'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'missed', 'bottom': 0.2}, 'bottom',
     'unknown key'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'columns': [0.6, 0.4]}, 'columns',
     '0 <= c0 < c1 <= 1'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'missed', 'columns': [-0.1, 0.4]}, 'columns',
     '0 <= c0 < c1 <= 1'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'missed', 'columns': [0.5, 1.5]}, 'columns',
     '0 <= c0 < c1 <= 1'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'columns': 0.5}, 'columns',
     'a list of 2 numbers'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'columns': [0.1, True]}, 'columns',
     'a list of 2 numbers'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'bottom': 0}, 'bottom', '1.0]'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'bottom': 1.2}, 'bottom', '1.0]'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'missed', 'top': 1}, 'top', '[0.0, 1.0)'),
    ({'type': 'lie', 'target': 'camera', 'mode': 'missed', 'top': -0.1}, 'top', '[0.0, 1.0]'),
    ({'type': 'lie', 'target': 'lidar', 'value': 1}, 'mode', 'required'),
    ({'type': 'lie', 'target': 'lidar', 'mode': 'scale', 'value': 1}, 'mode', 'constant'),
    ({'type': 'lie', 'target': 'lidar', 'mode': 'constant'}, 'value', 'required'),
    ({'type': 'lie', 'target': 'lidar', 'mode': 'constant', 'value': math.nan}, 'value',
     '.inf'),
    ({'type': 'lie', 'target': 'lidar', 'mode': 'offset', 'value': math.inf}, 'value',
     'a finite number'),
    ({'type': 'lie', 'target': 'imu', 'mode': 'constant', 'value': math.inf}, 'value',
     'a finite number'),
    ({'type': 'lie', 'target': 'odom', 'mode': 'constant', 'value': True}, 'value', 'number'),
    ({'type': 'lie', 'target': 'odom', 'mode': 'offset', 'value': 10**400}, 'value', 'finite'),
    ({'type': 'lie', 'target': 'odom', 'mode': 'offset', 'value': 'big'}, 'value', 'finite'),
    ({'type': 'clock_skew', 'target': 'imu', 'skew_s': 0}, 'skew_s', 'non-zero'),
    ({'type': 'clock_skew', 'target': 'imu', 'skew_s': -1.0}, 'skew_s', 'start_s + skew_s > 0'),
    ({'type': 'kill', 'target': 'no such node'}, 'target', 'a node name'),
    ({'type': 'kill', 'target': 'controller', 'delay_s': 1}, 'delay_s', 'unknown key'),
    ({'type': 'cut_link', 'target': 'lidar'}, 'target', 'cloud'),
])
def test_bad_faults_name_the_file_key_and_expectation(
    item: dict, key: str, expectation: str
) -> None:
    with pytest.raises(ScenarioError) as error:
        parse_scenario({**MINIMAL, 'faults': [{'start_s': 1.0, **item}]}, 'scenarios/bad.yaml')
    message = str(error.value)
    assert 'scenarios/bad.yaml' in message and f'"faults[0].{key}"' in message
    assert expectation in message


def test_a_fault_that_is_not_a_mapping_or_a_list_that_is_not_a_list() -> None:
    with pytest.raises(ScenarioError, match=r'"faults\[1\]": expected a mapping'):
        parse_scenario({**MINIMAL, 'faults': [{'type': 'silence', 'target': 'imu',
                                                'start_s': 0}, 'silence']}, 'f.yaml')
    with pytest.raises(ScenarioError, match='"faults": expected a list'):
        parse_scenario({**MINIMAL, 'faults': {'type': 'silence'}}, 'f.yaml')


def test_scenario_holds_fault_specs() -> None:
    scenario = parse_scenario({**MINIMAL, 'faults': [
        {'type': 'silence', 'target': 'lidar', 'start_s': 10.0, 'duration_s': 5.0}]}, 'f')
    assert scenario.faults == (FaultSpec('silence', 'lidar', 10.0, 5.0),)


def band() -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(st.floats(0.0, 0.5), st.floats(0.5, 1.0)).filter(lambda c: c[0] < c[1])


def fault_specs() -> st.SearchStrategy[FaultSpec]:
    times = st.floats(0.0, 1000.0)
    sensor = st.sampled_from(SENSOR_TARGETS)
    common = {'start_s': st.floats(1.0, 1000.0), 'duration_s': times}
    return st.one_of(
        st.builds(FaultSpec, st.sampled_from(['silence', 'freeze']), sensor, **common),
        st.builds(FaultSpec, st.just('delay'), sensor, delay_s=st.floats(1e-3, 10.0), **common),
        st.builds(FaultSpec, st.just('drop'), sensor, probability=st.floats(0.0, 1.0), **common),
        st.builds(FaultSpec, st.just('noise'), sensor, std=st.floats(1e-3, 100.0), **common),
        st.builds(FaultSpec, st.just('nan'), st.sampled_from(['lidar', 'imu', 'odom']),
                  fraction=st.floats(1e-3, 1.0), **common),
        st.builds(FaultSpec, st.just('lie'), st.just('lidar'), mode=st.just('constant'),
                  value=st.sampled_from([math.inf, -math.inf, 0.5]), **common),
        st.builds(FaultSpec, st.just('lie'), st.sampled_from(['lidar', 'imu', 'odom']),
                  mode=st.just('offset'), value=st.floats(-5.0, 5.0), **common),
        st.builds(FaultSpec, st.just('clock_skew'), sensor, skew_s=st.floats(0.001, 5.0),
                  **common),
        st.builds(FaultSpec, st.just('lie'), st.just('camera'), mode=st.just('phantom'),
                  columns=band(), bottom=st.floats(1e-3, 1.0), **common),
        st.builds(FaultSpec, st.just('lie'), st.just('camera'), mode=st.just('missed'),
                  columns=band(), top=st.floats(0.0, 0.999), **common),
        st.builds(FaultSpec, st.just('kill'), st.just('controller'), **common),
        st.builds(FaultSpec, st.just('cut_link'), st.just('cloud'), **common),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(fault_specs(), max_size=5))
def test_params_round_trip(specs: list[FaultSpec]) -> None:
    text = to_params(specs)
    assert isinstance(text, str)
    assert from_params(text) == tuple(specs)


def test_no_faults_is_an_empty_parameter() -> None:
    assert to_params(()) == '' and from_params('') == () and from_params('  ') == ()


def test_a_bad_parameter_names_the_parameter() -> None:
    with pytest.raises(ConfigError, match='"faults": expected a JSON list'):
        from_params('[{')
    with pytest.raises(ConfigError, match=r'twin parameters: key "faults\[0\].target"'):
        from_params('[{"type": "silence", "target": "sonar", "start_s": 1}]')


def test_every_type_is_known() -> None:
    assert set(FAULT_TYPES) == {*EXTRA, 'kill', 'cut_link'}


def test_stack_passes_the_faults_to_the_twin(tmp_path: Path) -> None:
    scenario = load_scenario(REPO / 'sim' / 'scenarios' / 'chaos_sensor_faults.yaml')
    assert len(scenario.faults) == 4
    params = stack.node_parameters(scenario, tmp_path / 'w.yaml', tmp_path / 'r.json', None,
                                   tmp_path / 'p.json')
    assert from_params(params['twin']['ros__parameters']['faults']) == scenario.faults
    plain = load_scenario(REPO / 'sim' / 'scenarios' / 'empty_room_smoke.yaml')
    params = stack.node_parameters(plain, tmp_path / 'w.yaml', tmp_path / 'r.json', None,
                                   tmp_path / 'p.json')
    assert params['twin']['ros__parameters']['faults'] == ''


def test_scenario_check_accepts_faults_and_names_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shipped = REPO / 'sim' / 'scenarios' / 'chaos_sensor_faults.yaml'
    assert main(['scenario', 'check', str(shipped)]) == 0
    assert ': ok (chaos_sensor_faults)' in capsys.readouterr().out
    bad = tmp_path / 'bad_chaos.yaml'
    bad.write_text(shipped.read_text().replace('probability: 0.2', 'x')
                   .replace('std: 0.05', 'std: 0.05, probability: 0.2'))
    assert main(['scenario', 'check', str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert 'bad_chaos.yaml' in err and '"faults[1].probability"' in err


VALUES = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True)
          | st.text(max_size=4) | st.sampled_from([*FAULT_TYPES, *SENSOR_TARGETS, 'constant',
                                                   'offset', 'phantom', 'missed', 'controller',
                                                   'cloud'])
          | st.lists(st.integers(), max_size=2) | st.lists(st.floats(-0.5, 1.5), max_size=3))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({'type': st.sampled_from(FAULT_TYPES), 'target': VALUES},
                             optional={k: VALUES for k in ('start_s', 'duration_s', 'delay_s',
                                                           'probability', 'std', 'fraction',
                                                           'mode', 'value', 'skew_s', 'columns',
                                                           'bottom', 'top', 'x')}))
def test_any_fault_mapping_is_a_fault_or_a_scenario_error(item: dict) -> None:
    try:
        fault = faults(item)[0]
    except ScenarioError as e:
        assert 'scenarios/f.yaml' in str(e) and '"faults[0]' in str(e)
    else:
        assert fault.type == item['type'] and from_params(to_params([fault])) == (fault,)
