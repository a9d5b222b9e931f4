"""Score a floor-segmentation predictor on labelled frames (pure numpy and OpenCV).

The predictor is any callable from the model's input tensor to its logits, so the same code
scores an onnxruntime session (the shipped file) or anything else. Frames are brought to the
model's input size as the perception node does: the image with area interpolation, the labels
with nearest neighbour. Scores are taken at the model's resolution.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]  # float32 [1, 3, H, W] -> float32 [1, C, H, W]

METADATA_KEYS = (
    'robo_edge.format', 'robo_edge.classes', 'robo_edge.input', 'robo_edge.output',
    'robo_edge.dataset', 'robo_edge.metrics', 'robo_edge.reference_output', 'robo_edge.version',
)


@dataclass(frozen=True)
class InputSpec:
    """The model's input as its metadata declares it."""

    name: str
    width: int
    height: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @staticmethod
    def from_metadata(metadata: Mapping[str, str]) -> 'InputSpec':
        """Read `robo_edge.input` from a model's metadata map."""
        spec = json.loads(metadata['robo_edge.input'])
        return InputSpec(spec['name'], int(spec['width']), int(spec['height']),
                         tuple(spec['mean']), tuple(spec['std']))


def resize_image(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an rgb8 image to the model's input size (area interpolation)."""
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def resize_labels(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a label image (nearest neighbour: no invented classes)."""
    if labels.shape[1] == width and labels.shape[0] == height:
        return labels
    return cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)


def to_input(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Return the model input for one rgb8 frame: float32 NCHW, (pixel/255 - mean) / std."""
    image = resize_image(rgb, spec.width, spec.height).astype(np.float32) / 255.0
    image = (image - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None])


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    """Return the softmax of logits along the class axis."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def confusion(pred: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Return the (true, predicted) pixel-count matrix; labels outside [0, classes) are skipped."""
    valid = labels < classes
    index = labels[valid].astype(np.int64) * classes + pred[valid].astype(np.int64)
    return np.bincount(index, minlength=classes * classes).reshape(classes, classes)


def iou(matrix: np.ndarray) -> np.ndarray:
    """Return the intersection over union per class (NaN for a class seen nowhere)."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, tp / union, np.nan)


@dataclass(frozen=True)
class Scores:
    """A predictor's results on a set of frames."""

    confusion: np.ndarray
    floor_fraction: np.ndarray  # per frame: share of pixels predicted floor (class 0)
    confidence: np.ndarray  # per frame: mean over pixels of the max softmax probability

    @property
    def iou(self) -> np.ndarray:
        """Intersection over union per class."""
        return iou(self.confusion)

    @property
    def miou(self) -> float:
        """Mean IoU over the classes."""
        return float(np.nanmean(self.iou))


def score(
    images: np.ndarray, labels: np.ndarray, predict: Predictor, spec: InputSpec, classes: int,
) -> Scores:
    """Run the predictor on every frame and compare its argmax with the labels."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    floor, conf = [], []
    for rgb, truth in zip(images, labels, strict=True):
        logits = np.asarray(predict(to_input(rgb, spec)))[0]
        pred = logits.argmax(axis=0)
        matrix += confusion(pred, resize_labels(truth, spec.width, spec.height), classes)
        floor.append(float((pred == 0).mean()))
        conf.append(float(softmax(logits, axis=0).max(axis=0).mean()))
    return Scores(matrix, np.asarray(floor), np.asarray(conf))


def reference_output(scores: Scores) -> dict[str, float | int]:
    """Return the output statistics a later drift check compares live frames against."""
    return {
        'floor_fraction_mean': round(float(scores.floor_fraction.mean()), 4),
        'floor_fraction_std': round(float(scores.floor_fraction.std()), 4),
        'confidence_mean': round(float(scores.confidence.mean()), 4),
        'confidence_p05': round(float(np.percentile(scores.confidence, 5)), 4),
        'frames': int(scores.confidence.size),
    }
