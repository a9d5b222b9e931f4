"""The safety gate's shipped YAML agrees with the node, and teleop's parameters are wired."""

from pathlib import Path

import pytest
import yaml

from robo_edge.exceptions import ConfigError
from robo_edge.ros.gate_params import LIVE, PARAMS, mux_config

NAVIGATION = Path(__file__).resolve().parents[2] / 'config' / 'navigation.yaml'
DEFAULTS = {param.name: param.default for param in PARAMS}


def test_the_shipped_yaml_holds_declared_parameters_at_their_defaults() -> None:
    shipped = yaml.safe_load(NAVIGATION.read_text())['safety_gate']['ros__parameters']
    assert set(shipped) <= set(DEFAULTS)
    assert {name: DEFAULTS[name] for name in shipped} == shipped
    assert shipped['teleop_topic'] == '/cmd_vel_teleop' and shipped['teleop_timeout_s'] == 0.5


def test_teleop_topic_is_read_only_and_its_timeout_live_and_validated() -> None:
    read_only = {param.name for param in PARAMS if param.read_only}
    assert 'teleop_topic' in read_only and 'teleop_timeout_s' in LIVE
    assert mux_config(DEFAULTS).teleop_timeout_s == 0.5
    with pytest.raises(ConfigError, match='teleop_timeout_s'):
        mux_config({**DEFAULTS, 'teleop_timeout_s': 0.0})
