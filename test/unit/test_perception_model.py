"""Model loading: the contract is checked, and every broken file gives a clear ModelError."""

import json
import os

import numpy as np
import pytest
from perception_fixtures import metadata, threshold_model

from robo_edge.exceptions import ModelError
from robo_edge.perception.model import choose_providers, load_model, read_spec


def test_a_valid_model_loads_with_its_spec_and_real_providers(tmp_path):
    model = load_model(threshold_model(tmp_path / 'm.onnx'), ['CPUExecutionProvider'], 2)
    spec = model.spec
    assert (spec.input.width, spec.input.height) == (160, 120)
    assert spec.classes == ('floor', 'obstacle') and spec.floor_index == 0
    assert spec.version == 'fixture-1' and spec.reference.frames == 100
    assert model.providers == ['CPUExecutionProvider']
    logits = model.run(np.zeros((1, 3, 120, 160), np.float32))
    assert logits.shape == (1, 2, 120, 160)
    model.close()
    with pytest.raises(ModelError, match='closed'):
        model.run(np.zeros((1, 3, 120, 160), np.float32))


def test_an_unavailable_provider_is_skipped_and_never_reported_in_use(tmp_path):
    model = load_model(threshold_model(tmp_path / 'm.onnx'),
                       ['NoSuchExecutionProvider', 'CPUExecutionProvider'])
    assert model.requested_providers == ['CPUExecutionProvider']
    assert 'NoSuchExecutionProvider' not in model.providers
    with pytest.raises(ModelError, match='none of the requested execution providers'):
        choose_providers(['NoSuchExecutionProvider'], ['CPUExecutionProvider'])


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match='not found'):
        load_model(tmp_path / 'absent.onnx')


def test_truncated_file(tmp_path):
    good = threshold_model(tmp_path / 'good.onnx').read_bytes()
    broken = tmp_path / 'truncated.onnx'
    broken.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError, match='onnxruntime cannot load it'):
        load_model(broken)


def test_random_bytes(tmp_path):
    path = tmp_path / 'random.onnx'
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ModelError, match='onnxruntime cannot load it'):
        load_model(path)


def test_declared_size_differs_from_the_graph(tmp_path):
    path = threshold_model(tmp_path / 'm.onnx', height=120, width=160, graph_size=(96, 128))
    with pytest.raises(ModelError, match=r'shape \[1, 3, 96, 128\].*declares \[1, 3, 120, 160\]'):
        load_model(path)


def test_output_name_not_in_the_graph(tmp_path):
    path = threshold_model(tmp_path / 'm.onnx', output={'name': 'scores', 'kind': 'logits'})
    with pytest.raises(ModelError, match='do not include "scores"'):
        load_model(path)


def test_class_count_differs_from_the_graph(tmp_path):
    path = threshold_model(tmp_path / 'm.onnx', classes=['floor', 'obstacle', 'person'])
    with pytest.raises(ModelError, match=r'output "logits" has shape'):
        load_model(path)


def test_metadata_missing_entirely(tmp_path):
    path = threshold_model(tmp_path / 'm.onnx', format=None, classes=None)
    with pytest.raises(ModelError, match='missing robo_edge.format, robo_edge.classes'):
        load_model(path)


BAD_METADATA = [
    ({'format': '2'}, 'robo_edge.format'),
    ({'classes': 'floor,obstacle'}, 'robo_edge.classes'),
    ({'classes': ['ground', 'obstacle']}, 'including "floor"'),
    ({'classes': ['floor', 'floor']}, 'unique'),
    ({'input': {'name': 'image', 'layout': 'NHWC', 'height': 120, 'width': 160,
                'mean': [0, 0, 0], 'std': [1, 1, 1]}}, 'input.layout'),
    ({'input': {'name': 'image', 'layout': 'NCHW', 'height': '120', 'width': 160,
                'mean': [0, 0, 0], 'std': [1, 1, 1]}}, 'input.height'),
    ({'input': {'name': 'image', 'layout': 'NCHW', 'height': 120, 'width': 160,
                'mean': [0, 0], 'std': [1, 1, 1]}}, 'input.mean'),
    ({'input': {'name': 'image', 'layout': 'NCHW', 'height': 120, 'width': 160,
                'mean': [0, 0, 0], 'std': [1, 0, 1]}}, 'input.std'),
    ({'input': {'name': 'image', 'layout': 'NCHW', 'height': 120, 'width': 160,
                'mean': [0, 0, 0]}}, 'input.std'),
    ({'output': {'name': 'logits', 'kind': 'probabilities'}}, 'output.kind'),
    ({'reference_output': {'floor_fraction_mean': 0.5}}, 'reference_output.floor_fraction_std'),
    ({'dataset': '[1, 2]'}, 'robo_edge.dataset'),
    ({'metrics': '{not json'}, 'robo_edge.metrics'),
    ({'version': '  '}, 'robo_edge.version'),
]


@pytest.mark.parametrize(('override', 'named'), BAD_METADATA)
def test_bad_metadata_names_the_key(override, named):
    with pytest.raises(ModelError, match=named.replace('.', r'\.')):
        read_spec(metadata(**override), 'fixture.onnx')


def test_bad_metadata_in_a_file_fails_load(tmp_path):
    path = threshold_model(tmp_path / 'm.onnx', input=json.dumps({'name': 'image'}))
    with pytest.raises(ModelError, match='m.onnx: metadata "robo_edge.input.layout"'):
        load_model(path)


def test_the_floor_class_may_be_anywhere():
    spec = read_spec(metadata(classes=['obstacle', 'floor']))
    assert spec.floor_index == 1
