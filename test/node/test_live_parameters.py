"""Every parameter of every node is live or read-only: none is silently ignored (issue 17 §6).

Each node module names its parameters (`PARAMS`) and the ones its set-parameters callback
applies at once (`LIVE`, usually through robo_edge/ros/params.LiveParameters); every other one
must be read-only, so rclpy refuses to set it. The walk goes over the executables in setup.py and
checks the real nodes: what they declare, their descriptors, and that each live parameter
goes through the callback and each read-only one is refused.
"""

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter

from robo_edge.ros.params import ROS_PARAMETERS

REPO = Path(__file__).resolve().parents[2]


def node_modules() -> list[str]:
    """Return the node executables setup.py installs (its NODES tuple)."""
    tree = ast.parse((REPO / 'setup.py').read_text(encoding='utf-8'))
    for statement in tree.body:
        target = getattr(statement, 'targets', [None])[0]
        if getattr(target, 'id', '') == 'NODES':
            return list(ast.literal_eval(statement.value))
    raise AssertionError('setup.py has no NODES')


def node_class(module: ModuleType) -> type[Node]:
    [cls] = [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, Node)
             and c.__module__ == module.__name__]
    return cls


def needs_arguments(cls: type[Node]) -> bool:
    """Whether the node cannot be made from keyword arguments alone (checked statically)."""
    return any(p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
               for name, p in inspect.signature(cls.__init__).parameters.items()
               if name != 'self')


@pytest.mark.parametrize('name', node_modules())
def test_every_parameter_is_live_or_read_only(name: str, context, tmp_path) -> None:
    module = importlib.import_module(f'robo_edge.nodes.{name}')
    params = {p.name: p for p in module.PARAMS}
    live = getattr(module, 'LIVE', frozenset())
    ignored = sorted(n for n, p in params.items() if not p.read_only and n not in live)
    assert not ignored, (f'{name}: neither read-only nor in LIVE (applied by the node): '
                         f'{ignored}')
    assert live <= params.keys() and not any(params[n].read_only for n in live), name
    cls = node_class(module)
    if needs_arguments(cls):
        return
    overrides = [Parameter('output_path', value=str(tmp_path / 'run.mcap'))] * (
        name == 'recorder')
    node = cls(context=context, parameter_overrides=overrides)
    try:
        declared = set(node.list_parameters([], 0).names) - ROS_PARAMETERS
        assert declared == set(params), f'{name}: PARAMS is not what the node declares'
        for param in params.values():
            descriptor = node.describe_parameter(param.name)
            assert descriptor.read_only == param.read_only, (name, param.name)
            if param.read_only:
                assert 'read-only' in descriptor.description, (name, param.name)
        # The shared callback (ros/params.LiveParameters) applies exactly LIVE; a node with a
        # callback of its own answers for its LIVE itself.
        helper = getattr(node, 'live', None)
        assert helper is None or helper.names == live, name
        assert helper or not live or hasattr(node, '_on_set_parameters'), f'{name}: no callback'
        for param in params.values():  # each set to the value it has
            result = node.set_parameters([node.get_parameter(param.name)])[0]
            if param.read_only:
                assert not result.successful and 'read-only' in result.reason, param.name
            else:
                assert result.successful, (name, param.name, result.reason)
    finally:
        node.destroy_node()
