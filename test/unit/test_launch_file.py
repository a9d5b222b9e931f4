"""launch/robo_edge.launch.py builds its nodes from the bringup file (launch itself is stubbed)."""

import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from robo_edge.supervisor.transport import profile_variables

LAUNCH_FILE = Path(__file__).resolve().parents[2] / 'launch' / 'robo_edge.launch.py'


class Recorded:
    """Stands for any launch class: keeps its positional and keyword arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class LaunchConfiguration(Recorded):
    def perform(self, context: dict[str, str]) -> str:
        return context[self.args[0]]


def _stub_modules() -> dict[str, types.ModuleType]:
    classes = {
        'launch.actions': ['DeclareLaunchArgument', 'ExecuteProcess', 'OpaqueFunction',
                           'SetEnvironmentVariable', 'Shutdown'],
        'launch.launch_description': ['LaunchDescription'],
        'launch.substitutions': ['EnvironmentVariable', 'PathJoinSubstitution'],
        'launch_ros.actions': ['Node'],
        'launch_ros.substitutions': ['FindPackageShare'],
    }
    modules = {name: types.ModuleType(name) for name in ('launch', 'launch_ros')}
    for module_name, names in classes.items():
        module = types.ModuleType(module_name)
        for name in names:
            setattr(module, name, type(name, (Recorded,), {}))
        modules[module_name] = module
    modules['launch.substitutions'].LaunchConfiguration = LaunchConfiguration
    return modules


@pytest.fixture
def launch_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    for name, module in _stub_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location('robo_edge_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


@pytest.fixture
def bringup_file(tmp_path: Path) -> Path:
    params = tmp_path / 'cam.yaml'
    params.write_text(yaml.safe_dump({'camera_ingest': {'ros__parameters': {'rate': 10}}}))
    data = {'bringup': {'name': 'demo', 'nodes': [
        {'name': 'twin', 'executable': 'twin', 'restart': 'never', 'exit_ends_bringup': True},
        {'name': 'camera_ingest', 'executable': 'camera_ingest', 'parameters': ['cam.yaml'],
         'overrides': {'use_sim_time': True}, 'remappings': {'/image': '/camera/image_raw'},
         'max_restarts': 4},
        {'name': 'helper', 'command': ['python3', 'helper.py'], 'env': {'A': 'b'}},
    ]}}
    path = tmp_path / 'demo.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


def test_launch_description_declares_the_argument_and_the_profile(
        launch_module: types.ModuleType) -> None:
    description = launch_module.generate_launch_description()
    actions = description.args[0]
    kinds = [type(a).__name__ for a in actions]
    profiles = actions[1:-2]
    assert kinds == ['DeclareLaunchArgument', *['SetEnvironmentVariable'] * len(profiles),
                     'SetEnvironmentVariable', 'OpaqueFunction']
    argument = actions[0]
    assert argument.args[0] == 'bringup'
    default = argument.kwargs['default_value']
    assert default.args[0][1:] == ['config', 'bringup', 'robot.yaml']
    assert default.args[0][0].args == ('robo_edge',)
    # Each name the installed Fast DDS reads: FASTRTPS_DEFAULT_PROFILES_FILE as well on Jazzy.
    assert tuple(profile.args[0] for profile in profiles) == profile_variables()
    assert profiles[0].args[0] == 'FASTDDS_DEFAULT_PROFILES_FILE'
    for profile in profiles:
        assert profile.args[1].args[0][1:] == ['config', 'fastdds_shm.xml']


def test_nodes_come_from_the_bringup_file(launch_module: types.ModuleType,
                                          bringup_file: Path) -> None:
    description = launch_module.generate_launch_description()
    opaque = description.args[0][-1]
    actions = opaque.kwargs['function']({'bringup': str(bringup_file)})
    nodes = [a for a in actions if type(a).__name__ == 'Node']
    processes = [a for a in actions if type(a).__name__ == 'ExecuteProcess']
    assert [n.kwargs['name'] for n in nodes] == ['twin', 'camera_ingest']
    twin, camera = (n.kwargs for n in nodes)
    assert twin['package'] == 'robo_edge' and twin['executable'] == 'twin'
    assert twin['respawn'] is False
    assert type(twin['on_exit']).__name__ == 'Shutdown'
    assert camera['parameters'] == [str((bringup_file.parent / 'cam.yaml').resolve()),
                                    {'use_sim_time': True}]
    assert camera['remappings'] == [('/image', '/camera/image_raw')]
    assert camera['respawn'] is True and camera['respawn_max_retries'] == 4
    assert 'on_exit' not in camera
    (helper,) = processes
    assert helper.kwargs['cmd'][:4] == ['python3', 'helper.py', '--ros-args', '-r']
    assert helper.kwargs['cmd'][4] == '__node:=helper'
    assert helper.kwargs['additional_env'] == {'A': 'b'}
