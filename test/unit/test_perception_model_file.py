"""The shipped segmentation model honours its file contract and scores on held-out frames.

onnxruntime only: the model is read the way the perception node reads it.
"""

import json
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from robo_edge.perception import dataset as ds
from robo_edge.perception.evaluation import METADATA_KEYS, InputSpec, score

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / 'models' / 'floor_seg.onnx'
SAMPLE = REPO / 'test' / 'data' / 'perception_sample.npz'


@pytest.fixture(scope='module')
def session() -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(MODEL), options, providers=['CPUExecutionProvider'])


@pytest.fixture(scope='module')
def meta(session: ort.InferenceSession) -> dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map)


def test_model_file_exists_and_is_small() -> None:
    assert MODEL.is_file()
    assert MODEL.stat().st_size < 2 * 1024 * 1024


def test_metadata_has_every_key_as_json_strings(meta: dict[str, str]) -> None:
    assert set(METADATA_KEYS) <= set(meta)
    assert meta['robo_edge.format'] == '1'
    assert meta['robo_edge.version'].startswith('floor_seg-')
    for key in METADATA_KEYS:
        if key not in ('robo_edge.format', 'robo_edge.version'):
            json.loads(meta[key])


def test_input_and_output_match_the_metadata(session, meta) -> None:
    spec = json.loads(meta['robo_edge.input'])
    classes = json.loads(meta['robo_edge.classes'])
    assert classes == ['floor', 'obstacle']
    assert spec['layout'] == 'NCHW'
    assert len(spec['mean']) == 3 and len(spec['std']) == 3 and min(spec['std']) > 0
    (image,) = session.get_inputs()
    (logits,) = session.get_outputs()
    assert image.name == spec['name'] == 'image'
    assert image.type == 'tensor(float)'
    assert image.shape == [1, 3, spec['height'], spec['width']]
    assert json.loads(meta['robo_edge.output']) == {'name': 'logits', 'kind': 'logits'}
    assert logits.name == 'logits'
    assert logits.shape == [1, len(classes), spec['height'], spec['width']]


def test_dataset_metrics_and_reference_are_recorded(meta: dict[str, str]) -> None:
    dataset = json.loads(meta['robo_edge.dataset'])
    assert re.fullmatch(r'[0-9a-f]{64}', dataset['sha256'])
    assert dataset['generator'] == ds.GENERATOR
    assert isinstance(dataset['seed'], int) and dataset['frames'] > 0
    assert set(dataset['held_out_worlds']) == set(ds.HELD_OUT_WORLDS)
    metrics = json.loads(meta['robo_edge.metrics'])
    assert metrics['held_out_world'] in dataset['held_out_worlds']
    assert set(metrics['per_world']) == set(ds.HELD_OUT_WORLDS)
    assert set(metrics['iou_per_class']) == {'floor', 'obstacle'}
    assert metrics['miou_held_out'] == pytest.approx(
        np.mean(list(metrics['iou_per_class'].values())), abs=1e-3)
    assert metrics['miou_held_out'] >= 0.90
    reference = json.loads(meta['robo_edge.reference_output'])
    assert set(reference) == {'floor_fraction_mean', 'floor_fraction_std', 'confidence_mean',
                              'confidence_p05', 'frames'}
    assert 0.0 < reference['floor_fraction_mean'] < 1.0
    assert 0.5 <= reference['confidence_p05'] <= reference['confidence_mean'] <= 1.0


def test_scores_at_least_090_miou_on_the_committed_held_out_frames(session, meta) -> None:
    spec = InputSpec.from_metadata(meta)
    with np.load(SAMPLE, allow_pickle=False) as data:
        images, labels, worlds = data['images'], data['labels'], data['worlds']
    assert set(worlds.tolist()) <= set(json.loads(meta['robo_edge.dataset'])['held_out_worlds'])

    def predict(x: np.ndarray) -> np.ndarray:
        return session.run(['logits'], {spec.name: x})[0]

    scores = score(images, labels, predict, spec, classes=2)
    assert scores.miou >= 0.90, scores.iou
