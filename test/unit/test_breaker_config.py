"""Breaker configuration: flat ros__parameters dicts, validation errors, the shipped YAML."""

from pathlib import Path

import pytest
import yaml

from robo_edge.breakers.breaker import BreakerConfig, default_config
from robo_edge.breakers.faults import Source
from robo_edge.breakers.guard import (
    GuardConfig,
    guard_config,
    mode_config,
    sensor_guard_sections,
)
from robo_edge.breakers.mode import ModeConfig
from robo_edge.breakers.params import describe, flatten, from_params, to_params
from robo_edge.breakers.yaw_check import YawCheckConfig
from robo_edge.exceptions import ConfigError
from robo_edge.robot.profile import load_profile, node_parameters

YAML = Path(__file__).resolve().parents[2] / 'config' / 'breakers.yaml'


def test_the_shipped_yaml_holds_the_defaults():
    data = yaml.safe_load(YAML.read_text(encoding='utf-8'))
    config = guard_config(data['sensor_guard']['ros__parameters'],
                          data['mode_manager']['ros__parameters'])
    assert config == GuardConfig()
    defaults = GuardConfig()
    expected = {}
    for source, breaker in defaults.breakers.items():
        expected.update(to_params(breaker, source.value))
    for name in ('model', 'scan_check', 'yaw_check', 'votes'):
        expected.update(to_params(getattr(defaults, name), name))
    robot = node_parameters(load_profile(YAML.parent / 'robot' / 'default.yaml'))['sensor_guard']
    shipped = flatten(data['sensor_guard']['ros__parameters'])
    assert not set(shipped) & set(robot)  # the robot's values live in its profile only
    assert {**shipped, **{k: v for k, v in robot.items() if k in expected}} == expected
    assert data['mode_manager']['ros__parameters'] == to_params(ModeConfig())


def test_flat_keys_override_per_source_defaults():
    config = sensor_guard_sections({'lidar.silence_periods': 2.5, 'imu.grace_s': 0,
                                    'yaw_check.blame': 'imu', 'use_sim_time': True})
    assert config.breakers[Source.LIDAR].silence_periods == 2.5
    assert config.breakers[Source.LIDAR].frozen_window_s == 0.2
    assert config.breakers[Source.IMU].grace_s == 0.0
    assert config.breakers[Source.IMU].nominal_rate_hz == 100.0  # the IMU's own default
    assert config.breakers[Source.ODOMETRY] == default_config(Source.ODOMETRY)
    assert config.yaw_check == YawCheckConfig(blame=Source.IMU)


def test_nested_and_flat_forms_agree():
    nested = {'lidar': {'open_s': 4.0}, 'scan_check': {'fail_count': 3}}
    assert sensor_guard_sections(nested) == sensor_guard_sections(flatten(nested))


@pytest.mark.parametrize(('params', 'key', 'expected'), [
    ({'lidar.silence_periods': -1.0}, 'lidar.silence_periods', 'a finite number in [0.0, inf]'),
    ({'lidar.silence_periods': 'x'}, 'lidar.silence_periods', 'a finite number'),
    ({'imu.flap_count': 0}, 'imu.flap_count', 'an integer >= 1'),
    ({'imu.flap_count': 2.5}, 'imu.flap_count', 'an integer >= 1'),
    ({'camera.invalid_fraction': 1.5}, 'camera.invalid_fraction', '[0.0, 1.0]'),
    ({'lidar.silense_periods': 3}, 'lidar.silense_periods', 'unknown key'),
    ({'sonar.nominal_rate_hz': 3}, 'sonar', 'unknown key'),
    ({'yaw_check.blame': 'wheels'}, 'yaw_check.blame', "one of ['lidar', 'camera'"),
    ({'model.latency_budget_s': True}, 'model.latency_budget_s', 'a finite number'),
])
def test_errors_name_the_key_and_the_expectation(params, key, expected):
    with pytest.raises(ConfigError) as caught:
        sensor_guard_sections(params)
    message = str(caught.value)
    assert message.startswith(f'sensor_guard parameters: key "{key}": expected')
    assert expected in message


def test_mode_manager_parameters():
    config = mode_config({'required': ['odometry'], 'degrading': ['imu', 'camera'],
                          'hold_s': 2, 'use_sim_time': False})
    assert config == ModeConfig(required=(Source.ODOMETRY,),
                                degrading=(Source.IMU, Source.CAMERA), hold_s=2.0)
    with pytest.raises(ConfigError, match='key "required": expected a list of'):
        mode_config({'required': 'odometry'})
    with pytest.raises(ConfigError, match='key "degrading": expected one of'):
        mode_config({'degrading': ['imu', 'gps']})
    with pytest.raises(ConfigError, match='expected consistent values'):
        mode_config({'required': ['imu']})


def test_descriptions_and_ranges_for_parameter_descriptors():
    info = describe(BreakerConfig)
    doc, low, high = info['invalid_fraction']
    assert 'share' in doc and (low, high) == (0.0, 1.0)
    assert all(text for text, _, _ in info.values())
    assert from_params(BreakerConfig, {}, 'lidar', 'x') == BreakerConfig()
