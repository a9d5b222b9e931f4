"""Image bytes -> the model's normalised NCHW tensor, and logits -> class mask and confidences."""

from dataclasses import dataclass

import cv2
import numpy as np

from robo_edge.ingest.image import ImageFrame, ImageSize, validate_image
from robo_edge.perception.model import InputSpec

# Encodings the perception node accepts, with their channel order.
ENCODINGS = {'rgb8': (0, 1, 2), 'bgr8': (2, 1, 0)}


def check_image(frame: ImageFrame, expected: ImageSize | None) -> tuple[str, str] | None:
    """Return (drop reason, detail) when an image cannot be segmented, None when it can.

    `expected` is the size the latest CameraInfo announces (None: no CameraInfo yet).
    """
    if expected is None:
        return 'no_camera_info', 'no CameraInfo received yet'
    verdict = validate_image(frame, expected)
    if not verdict.ok:
        return verdict.reason.value, verdict.detail
    if frame.encoding not in ENCODINGS:
        return 'encoding', f'{frame.encoding[:32]!r} is not one of {sorted(ENCODINGS)}'
    return None


def image_array(data: bytes | bytearray | memoryview | np.ndarray, width: int, height: int,
                step: int, encoding: str) -> np.ndarray:
    """Return an (height, width, 3) uint8 RGB view of a validated rgb8/bgr8 image buffer.

    The caller has checked the layout (ingest.image.validate_image): step >= 3 * width and
    len(data) == step * height.
    """
    rows = np.frombuffer(data, dtype=np.uint8).reshape(height, step)
    pixels = rows[:, : width * 3].reshape(height, width, 3)
    if encoding == 'bgr8':
        pixels = pixels[:, :, ::-1]
    return pixels


class Normaliser:
    """Resizes an RGB image to the model size (area interpolation) and normalises it."""

    def __init__(self, spec: InputSpec) -> None:
        self.size = (spec.width, spec.height)
        std = np.asarray(spec.std, dtype=np.float32)
        # (pixel / 255 - mean) / std == pixel * scale + offset, in one fused pass.
        self._scale = (1.0 / (255.0 * std)).reshape(3, 1, 1)
        self._offset = (-np.asarray(spec.mean, dtype=np.float32) / std).reshape(3, 1, 1)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Return the float32 tensor [1, 3, H, W] of an (h, w, 3) uint8 RGB image."""
        if rgb.shape[1::-1] != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        chw = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)
        chw *= self._scale
        chw += self._offset
        return chw[np.newaxis]


@dataclass(frozen=True)
class Segmentation:
    """One frame's segmentation: class ids, the floor margin, and confidence statistics."""

    mask: np.ndarray  # (H, W) uint8 class ids
    floor_margin: np.ndarray  # (H, W) float32: p(floor) - max p(other); > 0 where floor wins
    confidence_mean: float  # mean over pixels of the max softmax probability
    floor_fraction: float  # share of pixels labelled floor
    non_finite: int  # logits that were NaN or infinite


def segment(logits: np.ndarray, floor_index: int) -> Segmentation:
    """Return the segmentation of logits `[1, C, H, W]` (softmax over C; ties: lower class)."""
    scores = np.asarray(logits, dtype=np.float32)[0]
    non_finite = int(scores.size - np.count_nonzero(np.isfinite(scores)))
    with np.errstate(invalid='ignore', over='ignore'):  # NaN logits are counted above
        if scores.shape[0] == 2:
            return _segment_two(scores, floor_index, non_finite)
        return segment_softmax(scores, floor_index, non_finite)


def _segment_two(scores: np.ndarray, floor_index: int, non_finite: int) -> Segmentation:
    """Two classes in closed form: p(floor) - p(other) = tanh(difference / 2), 5x faster."""
    other = 1 - floor_index
    difference = scores[floor_index] - scores[other]
    margin = np.tanh(0.5 * difference)
    floor = difference >= 0 if floor_index == 0 else difference > 0
    mask = np.where(floor, np.uint8(floor_index), np.uint8(other))
    return Segmentation(
        mask=mask,
        floor_margin=margin,
        confidence_mean=float(0.5 + 0.5 * np.abs(margin).mean()),
        floor_fraction=float(np.count_nonzero(floor)) / mask.size,
        non_finite=non_finite,
    )


def segment_softmax(scores: np.ndarray, floor_index: int, non_finite: int = 0) -> Segmentation:
    """Return the segmentation of scores `[C, H, W]` through a full softmax (any C)."""
    probs = scores - scores.max(axis=0, keepdims=True)
    np.exp(probs, out=probs)
    probs /= probs.sum(axis=0, keepdims=True)
    mask = probs.argmax(axis=0).astype(np.uint8)
    floor = probs[floor_index]
    others = np.delete(probs, floor_index, axis=0).max(axis=0)
    return Segmentation(
        mask=mask,
        floor_margin=floor - others,
        confidence_mean=float(probs.max(axis=0).mean()),
        floor_fraction=float(np.count_nonzero(mask == floor_index)) / mask.size,
        non_finite=non_finite,
    )
