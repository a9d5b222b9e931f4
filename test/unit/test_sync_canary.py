"""Canary gate (model-level stage, pure judge) and the probation drift monitor."""

from pathlib import Path

import numpy as np
import pytest
from perception_fixtures import threshold_model
from sync_fixtures import constant_model

from robo_edge.perception.model import ReferenceOutput
from robo_edge.scenario import stack
from robo_edge.sync.canary import CanaryGate, GateConfig, judge, model_gate
from robo_edge.sync.policy import parse_custom
from robo_edge.sync.probation import Probation, ProbationConfig

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / 'test' / 'data' / 'perception_sample.npz'
SHIPPED = REPO / 'models' / 'floor_seg.onnx'
NS = 1_000_000_000


def test_shipped_model_passes_the_model_gate():
    verdict = model_gate(SHIPPED, SAMPLE)
    assert verdict.passed, verdict.reason


def test_constant_output_model_fails_the_gate(tmp_path):
    verdict = model_gate(constant_model(tmp_path / 'c.onnx'), SAMPLE)
    assert not verdict.passed and 'degenerate' in verdict.reason


def test_poor_model_fails_on_miou(tmp_path):
    verdict = model_gate(threshold_model(tmp_path / 't.onnx'), SAMPLE, min_miou=0.6)
    assert not verdict.passed and 'IoU' in verdict.reason


def test_unloadable_model_fails(tmp_path):
    (tmp_path / 'x.onnx').write_bytes(b'not onnx')
    assert not model_gate(tmp_path / 'x.onnx', SAMPLE).passed


def test_judge_non_finite_and_single_class():
    a = np.zeros((1, 2, 4, 4), np.float32)
    b = a + 1
    assert not judge([a, np.full_like(a, np.nan)], 1.0, np.array([0.5, 0.5]), 0.5).passed
    assert not judge([a, b], 1.0, np.array([1.0, 1.0]), 0.5).passed
    assert judge([a, b], 0.9, np.array([0.4, 0.6]), 0.5).passed


def test_canary_gate_on_a_staged_slot(tmp_path):
    slot = tmp_path / 'slot'
    slot.mkdir()
    constant_model(slot / 'payload')
    info = parse_custom({'kind': 'model', 'version': 'bad', 'release': 2, 'hardware': ['*'],
                         'compat': {'input_size': [160, 120]}})
    verdict = CanaryGate(GateConfig(sample_path=SAMPLE))('model/x.onnx', slot, info)
    assert not verdict.passed


def test_stack_overrides_touch_only_named_nodes():
    params = {'perception': {'ros__parameters': {'use_sim_time': True}},
              'twin': {'ros__parameters': {'seed': 1}}}
    merged = stack.with_overrides(params, {'perception': {'model_path': '/m.onnx'},
                                           'absent': {'x': 1}})
    assert merged['perception']['ros__parameters'] == {'use_sim_time': True,
                                                       'model_path': '/m.onnx'}
    assert merged['twin'] == params['twin'] and 'absent' not in merged
    assert 'model_path' not in params['perception']['ros__parameters']


REF = ReferenceOutput(0.5, 0.05, 0.9, 0.8, 100)


def feed(monitor, start_s, end_s, floor, confidence=0.9, trips=0, hz=15):
    t = start_s
    decision = monitor.decision
    while t < end_s:
        decision = monitor.observe(int(t * NS), floor, confidence, trips)
        if decision.rollback or decision.confirmed:
            return t, decision
        t += 1 / hz
    return t, decision


def test_probation_confirms_a_healthy_model():
    monitor = Probation(ProbationConfig(duration_s=60), REF, 0)
    t, decision = feed(monitor, 0, 100, 0.52)
    assert decision.confirmed and t == pytest.approx(60, abs=0.1)


def test_drift_rolls_back_within_30_s():
    monitor = Probation(ProbationConfig(), REF, 0)
    feed(monitor, 0, 20, 0.5)
    t, decision = feed(monitor, 20, 200, 0.9)
    assert decision.rollback and 'floor fraction' in decision.reason
    assert t - 20 <= 30


def test_low_confidence_is_drift():
    monitor = Probation(ProbationConfig(), REF, 0)
    _, decision = feed(monitor, 0, 60, 0.5, confidence=0.3)
    assert decision.rollback and 'confidence' in decision.reason


def test_breaker_trips_beyond_threshold_roll_back():
    monitor = Probation(ProbationConfig(max_trips=2), REF, 0, trips_at_start=5)
    assert not monitor.observe(NS, 0.5, 0.9, 7).rollback
    assert monitor.observe(2 * NS, 0.5, 0.9, 8).rollback


def test_short_blip_is_not_a_rollback():
    monitor = Probation(ProbationConfig(hold_s=5, window_s=2), REF, 0)
    feed(monitor, 0, 10, 0.5)
    _, decision = feed(monitor, 10, 12, 0.95)
    assert not decision.rollback
    _, decision = feed(monitor, 12, 40, 0.5)
    assert not decision.rollback


def test_twin_perception_judge():
    from robo_edge.sync.canary import judge_twin_perception

    good = {'model_path': '/m.onnx', 'inferences': '150', 'nan_outputs': '0',
            'floor_fraction': '0.55', 'confidence_mean': '0.9'}
    assert judge_twin_perception(good, Path('/m.onnx'), REF).passed
    assert not judge_twin_perception(None, Path('/m.onnx'), REF).passed
    assert 'not the candidate' in judge_twin_perception(good, Path('/x.onnx'), REF).reason
    assert not judge_twin_perception({**good, 'inferences': '0'}, Path('/m.onnx'), REF).passed
    assert not judge_twin_perception({**good, 'nan_outputs': '3'}, Path('/m.onnx'), REF).passed
    off = judge_twin_perception({**good, 'floor_fraction': '1.0'}, Path('/m.onnx'), REF)
    assert not off.passed and 'reference' in off.reason
