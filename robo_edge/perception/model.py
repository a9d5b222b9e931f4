"""Load a floor segmentation model (ONNX) and check it against the model-file contract.

The contract (docs/architecture.md, Perception): one float32 NCHW input `[1, 3, H, W]` of
normalised RGB, one float32 output `[1, C, H, W]` of logits, and `robo_edge.*` metadata_props
that describe both. `read_spec` validates the metadata alone (pure); `load_model` opens an
onnxruntime session and checks the graph against the metadata, so a model whose file, graph
and description disagree fails at configure time with a message naming what is wrong.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robo_edge.exceptions import ModelError

FORMAT_VERSION = '1'
FLOOR_CLASS = 'floor'
KEY_PREFIX = 'robo_edge.'
REQUIRED_KEYS = ('format', 'classes', 'input', 'output', 'dataset', 'metrics',
                 'reference_output', 'version')
REFERENCE_KEYS = ('floor_fraction_mean', 'floor_fraction_std', 'confidence_mean',
                  'confidence_p05', 'frames')
FLOAT_TENSOR = 'tensor(float)'


@dataclass(frozen=True)
class InputSpec:
    """The model input: its name, size and per-channel normalisation (RGB order)."""

    name: str
    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class ReferenceOutput:
    """Output statistics the model had on its validation frames (for drift checks)."""

    floor_fraction_mean: float
    floor_fraction_std: float
    confidence_mean: float
    confidence_p05: float
    frames: int


@dataclass(frozen=True)
class ModelSpec:
    """Everything the metadata of a model file promises."""

    source: str
    classes: tuple[str, ...]
    input: InputSpec
    output_name: str
    version: str
    reference: ReferenceOutput
    dataset: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @property
    def floor_index(self) -> int:
        """Return the class index of the floor."""
        return self.classes.index(FLOOR_CLASS)


def _error(source: str, key: str, expected: str, found: object = None) -> ModelError:
    detail = f'{source}: metadata "{KEY_PREFIX}{key}": expected {expected}'
    if found is not None:
        detail += f', found {str(found)[:120]!r}'
    return ModelError(detail)


def _json(metadata: Mapping[str, str], source: str, key: str, expected: type) -> Any:
    raw = metadata[KEY_PREFIX + key]
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as e:
        raise _error(source, key, f'a JSON {expected.__name__}', raw) from e
    if not isinstance(value, expected):
        raise _error(source, key, f'a JSON {expected.__name__}', raw)
    return value


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _triple(source: str, key: str, value: object, positive: bool) -> tuple[float, float, float]:
    expected = 'a list of 3 ' + ('positive numbers' if positive else 'numbers')
    if not isinstance(value, list) or len(value) != 3 or not all(map(_number, value)):
        raise _error(source, key, expected, value)
    if positive and min(value) <= 0:
        raise _error(source, key, expected, value)
    return (float(value[0]), float(value[1]), float(value[2]))


def _classes(metadata: Mapping[str, str], source: str) -> tuple[str, ...]:
    classes = _json(metadata, source, 'classes', list)
    if (len(classes) < 2 or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes) or FLOOR_CLASS not in classes):
        raise _error(source, 'classes', f'>= 2 unique names including "{FLOOR_CLASS}"', classes)
    return tuple(classes)


def _input(metadata: Mapping[str, str], source: str) -> InputSpec:
    spec = _json(metadata, source, 'input', dict)
    for key in ('name', 'layout', 'height', 'width', 'mean', 'std'):
        if key not in spec:
            raise _error(source, f'input.{key}', 'a value (the key is missing)')
    if not isinstance(spec['name'], str) or not spec['name']:
        raise _error(source, 'input.name', 'a non-empty string', spec['name'])
    if spec['layout'] != 'NCHW':
        raise _error(source, 'input.layout', '"NCHW"', spec['layout'])
    for key in ('height', 'width'):
        if not _positive_int(spec[key]):
            raise _error(source, f'input.{key}', 'a positive integer', spec[key])
    return InputSpec(
        name=spec['name'], height=spec['height'], width=spec['width'],
        mean=_triple(source, 'input.mean', spec['mean'], positive=False),
        std=_triple(source, 'input.std', spec['std'], positive=True),
    )


def _output_name(metadata: Mapping[str, str], source: str) -> str:
    spec = _json(metadata, source, 'output', dict)
    if not isinstance(spec.get('name'), str) or not spec['name']:
        raise _error(source, 'output.name', 'a non-empty string', spec.get('name'))
    if spec.get('kind') != 'logits':
        raise _error(source, 'output.kind', '"logits"', spec.get('kind'))
    return spec['name']


def _reference(metadata: Mapping[str, str], source: str) -> ReferenceOutput:
    ref = _json(metadata, source, 'reference_output', dict)
    for key in REFERENCE_KEYS:
        if not _number(ref.get(key)):
            raise _error(source, f'reference_output.{key}', 'a number', ref.get(key))
    if not _positive_int(ref['frames']):
        raise _error(source, 'reference_output.frames', 'a positive integer', ref['frames'])
    return ReferenceOutput(**{key: ref[key] for key in REFERENCE_KEYS})


def read_spec(metadata: Mapping[str, str], source: str = 'model') -> ModelSpec:
    """Return the ModelSpec described by a model's metadata_props; raise ModelError if invalid."""
    missing = [KEY_PREFIX + key for key in REQUIRED_KEYS if KEY_PREFIX + key not in metadata]
    if missing:
        raise ModelError(f'{source}: metadata is missing {", ".join(missing)} '
                         f'(not a robo_edge floor segmentation model?)')
    if metadata[KEY_PREFIX + 'format'] != FORMAT_VERSION:
        raise _error(source, 'format', f'"{FORMAT_VERSION}"', metadata[KEY_PREFIX + 'format'])
    version = metadata[KEY_PREFIX + 'version']
    if not isinstance(version, str) or not version.strip():
        raise _error(source, 'version', 'a non-empty string', version)
    return ModelSpec(
        source=source,
        classes=_classes(metadata, source),
        input=_input(metadata, source),
        output_name=_output_name(metadata, source),
        version=version.strip(),
        reference=_reference(metadata, source),
        dataset=_json(metadata, source, 'dataset', dict),
        metrics=_json(metadata, source, 'metrics', dict),
    )


def check_dims(source: str, what: str, found: Sequence[object], expected: Sequence[int]) -> None:
    """Check a graph tensor shape against the expected one; symbolic dimensions match any."""
    if len(found) != len(expected) or any(
        isinstance(f, int) and f != e for f, e in zip(found, expected, strict=False)
    ):
        raise ModelError(f'{source}: graph {what} has shape {list(found)}, the metadata '
                         f'declares {list(expected)}')


def choose_providers(requested: Sequence[str], available: Sequence[str]) -> list[str]:
    """Return the requested providers onnxruntime has, in order; raise if none is left."""
    chosen = [p for p in requested if p in available]
    if not chosen:
        raise ModelError(f'none of the requested execution providers {list(requested)} is '
                         f'available (available: {list(available)})')
    return chosen


class ModelSession:
    """An onnxruntime session of a validated model; `run` maps an input tensor to logits."""

    def __init__(self, path: Path, spec: ModelSpec, session: Any, requested: list[str]) -> None:
        self.path = path
        self.spec = spec
        self.requested_providers = requested
        self._session = session
        # What onnxruntime actually uses: a provider it could not initialise is not listed.
        self.providers: list[str] = list(session.get_providers())

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """Return the logits `[1, C, H, W]` for one normalised input tensor `[1, 3, H, W]`."""
        if self._session is None:
            raise ModelError(f'{self.path}: the session is closed')
        (logits,) = self._session.run([self.spec.output_name], {self.spec.input.name: tensor})
        return logits

    def close(self) -> None:
        """Release the session (and the memory of its weights)."""
        self._session = None


def load_model(path: Path, providers: Sequence[str] = ('CPUExecutionProvider',),
               intra_op_threads: int = 1) -> ModelSession:
    """Open `path` with onnxruntime and validate it; raise ModelError naming what is wrong."""
    import onnxruntime as ort  # noqa: PLC0415 - keeps read_spec importable without onnxruntime

    path = Path(path)
    if not path.is_file():
        raise ModelError(f'{path}: model file not found')
    chosen = choose_providers(providers, ort.get_available_providers())
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(intra_op_threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: a fallback is reported through providers
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    except Exception as e:  # onnxruntime's errors share no base class narrower than Exception
        raise ModelError(f'{path}: onnxruntime cannot load it: {e}') from e
    spec = read_spec(session.get_modelmeta().custom_metadata_map, str(path))
    check_graph(session, spec)
    return ModelSession(path, spec, session, chosen)


def check_graph(session: Any, spec: ModelSpec) -> None:
    """Check the session's input and output tensors against the metadata."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].name != spec.input.name:
        raise ModelError(f'{spec.source}: graph inputs {[i.name for i in inputs]}, the metadata '
                         f'declares one input "{spec.input.name}"')
    if inputs[0].type != FLOAT_TENSOR:
        raise ModelError(f'{spec.source}: input "{spec.input.name}" is {inputs[0].type}, '
                         f'expected {FLOAT_TENSOR}')
    size = (spec.input.height, spec.input.width)
    check_dims(spec.source, f'input "{spec.input.name}"', inputs[0].shape, (1, 3, *size))
    output = next((o for o in outputs if o.name == spec.output_name), None)
    if output is None:
        raise ModelError(f'{spec.source}: graph outputs {[o.name for o in outputs]} do not '
                         f'include "{spec.output_name}" named by the metadata')
    if output.type != FLOAT_TENSOR:
        raise ModelError(f'{spec.source}: output "{output.name}" is {output.type}, '
                         f'expected {FLOAT_TENSOR}')
    check_dims(spec.source, f'output "{output.name}"', output.shape,
               (1, len(spec.classes), *size))
