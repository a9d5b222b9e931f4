"""Bringup files: parsing, defaults, parameter lookup, and errors naming the faulty key."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robo_edge.exceptions import BringupError
from robo_edge.supervisor.bringup import (
    NODE_KEYS,
    Bringup,
    RestartPolicy,
    encode_override,
    load_bringup,
    parse_bringup,
)

PARAMS = {'lidar_ingest': {'ros__parameters': {'rate_hz': 10.0}}}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """config/ with a parameters file and a bringup/ folder, like the package layout."""
    (tmp_path / 'config' / 'bringup').mkdir(parents=True)
    (tmp_path / 'config' / 'ingest.yaml').write_text(yaml.safe_dump(PARAMS))
    return tmp_path / 'config'


def node(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {'name': 'n', 'command': ['true']}
    base.update(overrides)
    return base


def doc(*nodes: dict[str, Any], name: str = 'demo') -> dict[str, Any]:
    return {'bringup': {'name': name, 'nodes': list(nodes)}}


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def parse(data: Any, base: Path | None = None) -> Bringup:
    return parse_bringup(data, 'mem.yaml', base_dir=base, config_dirs=[])


def error_of(data: Any, base: Path | None = None) -> BringupError:
    with pytest.raises(BringupError) as info:
        parse(data, base)
    return info.value


def test_full_example_parses_with_every_field(tree: Path) -> None:
    text = """
bringup:
  name: demo
  nodes:
    - name: lidar_ingest
      executable: lidar_ingest
      parameters: [ingest.yaml]
      overrides: {use_sim_time: true, rate_hz: 5.5, frames: [a, b]}
      remappings: {/scan: /sensors/scan}
      restart: always
      max_restarts: 3
      restart_window_s: 10
      exit_ends_bringup: false
      env: {LEVEL: debug, DEPTH: 2}
    - name: twin
      command: [python3, -m, twin]
      restart: never
      exit_ends_bringup: true
"""
    bringup = load_bringup(write(tree / 'bringup' / 'demo.yaml', text), config_dirs=[])
    lidar, twin = bringup.nodes
    assert bringup.name == 'demo' and bringup.names == ('lidar_ingest', 'twin')
    assert lidar.executable == 'lidar_ingest' and lidar.command is None
    assert lidar.parameters == ((tree / 'ingest.yaml').resolve(),)
    assert lidar.overrides == {'use_sim_time': True, 'rate_hz': 5.5, 'frames': ['a', 'b']}
    assert lidar.remappings == {'/scan': '/sensors/scan'}
    assert lidar.restart is RestartPolicy.ALWAYS
    assert (lidar.max_restarts, lidar.restart_window_s) == (3, 10.0)
    assert lidar.env == {'LEVEL': 'debug', 'DEPTH': '2'}
    assert twin.command == ('python3', '-m', 'twin') and twin.exit_ends_bringup
    assert twin.restart is RestartPolicy.NEVER
    assert bringup.node('twin') is twin


def test_defaults() -> None:
    spec = parse(doc(node())).nodes[0]
    assert spec.restart is RestartPolicy.ON_FAILURE
    assert spec.max_restarts == 5 and spec.restart_window_s == 60.0
    assert not spec.exit_ends_bringup
    assert spec.parameters == () and spec.overrides == {} and spec.env == {}


def test_parameter_files_are_found_absolute_relative_and_in_config_dirs(tmp_path: Path,
                                                                         tree: Path) -> None:
    local = write(tree / 'bringup' / 'local.yaml', PARAMS)
    other = tmp_path / 'share_config'
    other.mkdir()
    shared = write(other / 'shared.yaml', PARAMS)
    data = doc(node(parameters=[str(local), 'local.yaml', 'ingest.yaml', 'shared.yaml']))
    spec = parse_bringup(data, 'b.yaml', base_dir=tree / 'bringup', config_dirs=[other]).nodes[0]
    assert spec.parameters == (local.resolve(), local.resolve(),
                               (tree / 'ingest.yaml').resolve(), shared.resolve())


def test_a_bringup_file_is_never_taken_for_a_parameters_file(tree: Path) -> None:
    # config/bringup/ingest.yaml (a bringup) must not shadow config/ingest.yaml (parameters).
    bringup = write(tree / 'bringup' / 'ingest.yaml', doc(node(parameters=['ingest.yaml'])))
    spec = load_bringup(bringup, config_dirs=[]).nodes[0]
    assert spec.parameters == ((tree / 'ingest.yaml').resolve(),)


@pytest.mark.parametrize(('data', 'key', 'expected'), [
    (None, 'bringup', 'present'),
    ([], '(document)', 'mapping'),
    ({}, 'bringup', 'present'),
    ({'bringup': {'name': 'x', 'nodes': []}, 'extra': 1}, 'extra', 'known key'),
    ({'bringup': []}, 'bringup', 'mapping'),
    ({'bringup': {'nodes': [node()]}}, 'bringup.name', 'present'),
    ({'bringup': {'name': 'x'}}, 'bringup.nodes', 'present'),
    ({'bringup': {'name': 3, 'nodes': [node()]}}, 'bringup.name', 'string'),
    ({'bringup': {'name': 'x', 'nodes': {}}}, 'bringup.nodes', 'list'),
    ({'bringup': {'name': 'x', 'nodes': []}}, 'bringup.nodes', 'non-empty'),
    (doc(node(), 'oops'), 'bringup.nodes[1]', 'mapping'),
    (doc(node(), node(), node(name='n')), 'bringup.nodes[1].name', 'unique'),
    (doc(node(), node(name='b'), node(name='c', restart='sometimes')),
     'bringup.nodes[2].restart', "['always', 'on-failure', 'never']"),
    (doc(node(restrat='always')), 'bringup.nodes[0].restrat', 'known key'),
    (doc({'command': ['x']}), 'bringup.nodes[0].name', 'present'),
    (doc(node(name='bad-name')), 'bringup.nodes[0].name', 'ROS node name'),
    (doc({'name': 'n'}), 'bringup.nodes[0].executable', 'exactly one'),
    (doc(node(executable='x')), 'bringup.nodes[0].executable', 'exactly one'),
    (doc({'name': 'n', 'executable': '/usr/bin/x'}), 'bringup.nodes[0].executable', 'bare'),
    (doc(node(command=[])), 'bringup.nodes[0].command', 'non-empty'),
    (doc(node(command=['ok', 3])), 'bringup.nodes[0].command[1]', 'string'),
    (doc(node(parameters='x.yaml')), 'bringup.nodes[0].parameters', 'list'),
    (doc(node(parameters=['missing.yaml'])), 'bringup.nodes[0].parameters[0]', 'parameters file'),
    (doc(node(overrides=[1])), 'bringup.nodes[0].overrides', 'mapping'),
    (doc(node(overrides={'rate': {'a': 1}})), 'bringup.nodes[0].overrides.rate', 'bool, int'),
    (doc(node(overrides={'rate': [1, 'a']})), 'bringup.nodes[0].overrides.rate', 'bool, int'),
    (doc(node(overrides={'rate': float('nan')})), 'bringup.nodes[0].overrides.rate', 'finite'),
    (doc(node(overrides={'bad name': 1})), 'bringup.nodes[0].overrides.bad name', 'parameter'),
    (doc(node(remappings={'/a': 2})), 'bringup.nodes[0].remappings./a', 'string'),
    (doc(node(max_restarts=-1)), 'bringup.nodes[0].max_restarts', 'integer >= 0'),
    (doc(node(max_restarts=True)), 'bringup.nodes[0].max_restarts', 'integer >= 0'),
    (doc(node(max_restarts=2.5)), 'bringup.nodes[0].max_restarts', 'integer >= 0'),
    (doc(node(restart_window_s=0)), 'bringup.nodes[0].restart_window_s', '> 0'),
    (doc(node(exit_ends_bringup='yes')), 'bringup.nodes[0].exit_ends_bringup', 'true or false'),
    (doc(node(env={'A': None})), 'bringup.nodes[0].env.A', 'string'),
    (doc(node(env={'1A': 'x'})), 'bringup.nodes[0].env.1A', 'environment variable'),
    (doc(node(env={3: 'x'})), 'bringup.nodes[0].env.3', 'string keys'),
])
def test_every_malformed_case_names_its_key(data: Any, key: str, expected: str) -> None:
    error = error_of(data)
    assert error.key == key
    assert expected in error.expected
    assert error.source == 'mem.yaml'
    assert f'"{key}"' in str(error) and 'mem.yaml' in str(error)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / 'bad.yaml', 'bringup:\n  name: [unclosed\n')
    with pytest.raises(BringupError) as info:
        load_bringup(bad)
    assert str(bad) in str(info.value) and 'line' in info.value.key
    with pytest.raises(BringupError) as info:
        load_bringup(tmp_path / 'absent.yaml')
    assert info.value.key == '(file)'
    restart = write(tmp_path / 'r.yaml', doc(node(), node(name='b'), node(name='c', restart=1)))
    with pytest.raises(BringupError, match=r'r\.yaml: key "bringup\.nodes\[2\]\.restart"'):
        load_bringup(restart)


def test_override_encoding_keeps_types() -> None:
    assert encode_override(True) == 'true'
    assert encode_override(5) == '5'
    assert encode_override(2.5) == '2.5'
    assert encode_override('hello') == 'hello'
    assert encode_override('true') == "'true'"
    assert encode_override([1, 2]) == '[1, 2]'
    assert yaml.safe_load(encode_override('a: b')) == 'a: b'


# ---------------------------------------------------------------- property-based

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)
node_dicts = st.dictionaries(st.sampled_from([*NODE_KEYS, 'bogus']), values, max_size=6)
near_valid = st.builds(
    lambda name, nodes: {'bringup': {'name': name, 'nodes': nodes}},
    values, st.lists(node_dicts, max_size=4),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(values, near_valid))
def test_random_documents_raise_only_bringup_errors(data: Any) -> None:
    try:
        bringup = parse(data, Path('/nonexistent-robo-edge'))
    except BringupError as e:
        assert e.key and e.expected
        return
    assert isinstance(bringup, Bringup) and bringup.nodes
