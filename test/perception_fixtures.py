"""Small ONNX models that honour the model-file contract, built with onnx.helper for tests.

`threshold_model` labels a pixel floor when its colour is within `tolerance` (rgb8 units) of
`floor_rgb`: the graph undoes the input normalisation, so the fixture exercises it. Options
make broken variants: NaN outputs, a graph size that differs from the metadata, or any
metadata entry replaced or removed.
"""

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FLOOR_RGB = (190, 190, 190)
OBSTACLE_RGB = (200, 40, 30)
OPSET = 17
IR_VERSION = 9
REFERENCE = {'floor_fraction_mean': 0.5, 'floor_fraction_std': 0.1, 'confidence_mean': 0.95,
             'confidence_p05': 0.8, 'frames': 100}


def metadata(height: int = 120, width: int = 160, **overrides: object) -> dict[str, str]:
    """Return the contract's metadata_props; an override of None removes the key."""
    props: dict[str, object] = {
        'format': '1',
        'classes': ['floor', 'obstacle'],
        'input': {'name': 'image', 'layout': 'NCHW', 'height': height, 'width': width,
                  'mean': list(MEAN), 'std': list(STD)},
        'output': {'name': 'logits', 'kind': 'logits'},
        'dataset': {'frames': 10, 'worlds': ['fixture']},
        'metrics': {'miou': 1.0},
        'reference_output': dict(REFERENCE),
        'version': 'fixture-1',
    }
    props.update(overrides)
    return {f'robo_edge.{key}': value if isinstance(value, str) else json.dumps(value)
            for key, value in props.items() if value is not None}


def _const(name: str, values: np.ndarray) -> onnx.NodeProto:
    return helper.make_node('Constant', [], [name],
                            value=numpy_helper.from_array(np.asarray(values), name))


def threshold_graph(height: int, width: int, floor_rgb: tuple[int, int, int], tolerance: float,
                    nan: bool = False) -> onnx.GraphProto:
    """Return the graph: floor logit 4 (1 - |rgb - floor|^2 / tolerance^2), obstacle logit 0."""
    mean, std = np.array(MEAN, np.float32), np.array(STD, np.float32)
    floor_normalised = ((np.array(floor_rgb, np.float32) / 255 - mean) / std).reshape(1, 3, 1, 1)
    nodes = [
        _const('floor', floor_normalised.astype(np.float32)),
        _const('to_rgb8', (std * 255).reshape(1, 3, 1, 1).astype(np.float32)),
        _const('axes', np.array([1], np.int64)),
        _const('scale', np.array(-4.0 / tolerance**2, np.float32)),
        _const('bias', np.array(np.nan if nan else 4.0, np.float32)),
        _const('zero', np.array(0.0, np.float32)),
        helper.make_node('Sub', ['image', 'floor'], ['diff_n']),
        helper.make_node('Mul', ['diff_n', 'to_rgb8'], ['diff']),
        helper.make_node('Mul', ['diff', 'diff'], ['square']),
        helper.make_node('ReduceSum', ['square', 'axes'], ['distance'], keepdims=1),
        helper.make_node('Mul', ['distance', 'scale'], ['scaled']),
        helper.make_node('Add', ['scaled', 'bias'], ['floor_logit']),
        helper.make_node('Mul', ['distance', 'zero'], ['other_logit']),
        helper.make_node('Concat', ['floor_logit', 'other_logit'], ['logits'], axis=1),
    ]
    return helper.make_graph(
        nodes, 'floor_threshold',
        [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 2, height, width])],
    )


def write_model(path: Path, graph: onnx.GraphProto, props: dict[str, str]) -> Path:
    """Write a checked model with the given metadata_props."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)])
    model.ir_version = IR_VERSION
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def threshold_model(path: Path, height: int = 120, width: int = 160,
                    floor_rgb: tuple[int, int, int] = FLOOR_RGB, tolerance: float = 40.0,
                    nan: bool = False, graph_size: tuple[int, int] | None = None,
                    **metadata_overrides: object) -> Path:
    """Write the colour-threshold model; `graph_size` (h, w) makes the graph disagree."""
    graph_h, graph_w = graph_size or (height, width)
    graph = threshold_graph(graph_h, graph_w, floor_rgb, tolerance, nan)
    return write_model(path, graph, metadata(height, width, **metadata_overrides))


def two_tone_image(width: int = 320, height: int = 240, floor_rows: int = 100,
                   floor_rgb: tuple[int, int, int] = FLOOR_RGB) -> np.ndarray:
    """Return an rgb8 image: obstacle colour above, floor colour in the bottom `floor_rows`."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = OBSTACLE_RGB
    image[height - floor_rows:] = floor_rgb
    return image
