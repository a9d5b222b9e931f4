"""Pre-processing (bytes -> normalised NCHW) and post-processing (logits -> mask, confidence)."""

import numpy as np
import pytest

from robo_edge.ingest.image import ImageFrame, ImageSize
from robo_edge.perception.model import InputSpec
from robo_edge.perception.preprocess import (
    Normaliser,
    check_image,
    image_array,
    segment,
    segment_softmax,
)

SPEC = InputSpec('image', 120, 160, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def test_image_array_drops_row_padding_and_swaps_bgr():
    width, height, step = 4, 2, 16  # 12 bytes of pixels + 4 of padding per row
    rows = np.zeros((height, step), np.uint8)
    rows[:, :12] = np.tile([10, 20, 30], 4)
    rgb = image_array(rows.tobytes(), width, height, step, 'rgb8')
    assert rgb.shape == (2, 4, 3) and (rgb[..., 0] == 10).all() and (rgb[..., 2] == 30).all()
    bgr = image_array(rows.tobytes(), width, height, step, 'bgr8')
    assert (bgr[..., 0] == 30).all() and (bgr[..., 2] == 10).all()


def test_normaliser_shape_and_values():
    rgb = np.empty((240, 320, 3), np.uint8)
    rgb[:] = (255, 0, 128)
    tensor = Normaliser(SPEC)(rgb)
    assert tensor.shape == (1, 3, 120, 160) and tensor.dtype == np.float32
    assert tensor.flags['C_CONTIGUOUS']
    expected = [(255 / 255 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225]
    np.testing.assert_allclose(tensor[0, :, 60, 80], expected, rtol=1e-5)


def test_normaliser_area_resize_averages_blocks():
    rgb = np.zeros((240, 320, 3), np.uint8)
    rgb[::2] = 200  # alternate rows: each 2x2 block averages to 100
    tensor = Normaliser(InputSpec('image', 120, 160, (0, 0, 0), (1, 1, 1)))(rgb)
    np.testing.assert_allclose(tensor, 100 / 255, rtol=1e-5)


def test_normaliser_passes_a_model_sized_image_without_resizing():
    rgb = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    tensor = Normaliser(InputSpec('image', 120, 160, (0, 0, 0), (1, 1, 1)))(rgb)
    np.testing.assert_allclose(tensor[0].transpose(1, 2, 0), rgb / 255, rtol=1e-6)


CAMERA = ImageSize(320, 240)


@pytest.mark.parametrize(('frame', 'expected', 'reason'), [
    (ImageFrame(320, 240, 960, 'rgb8', 230400), None, 'no_camera_info'),
    (ImageFrame(320, 240, 960, 'rgb8', 1000), CAMERA, 'structure'),
    (ImageFrame(160, 120, 480, 'rgb8', 57600), CAMERA, 'size_mismatch'),
    (ImageFrame(320, 240, 320, 'mono8', 76800), CAMERA, 'encoding'),
    (ImageFrame(320, 240, 960, 'weird', 230400), CAMERA, 'encoding'),
])
def test_check_image_gives_the_reason(frame, expected, reason):
    problem = check_image(frame, expected)
    assert problem is not None and problem[0] == reason and problem[1]


def test_check_image_accepts_rgb8_and_bgr8():
    assert check_image(ImageFrame(320, 240, 960, 'rgb8', 230400), CAMERA) is None
    assert check_image(ImageFrame(320, 240, 960, 'bgr8', 230400), CAMERA) is None


def test_segment_mask_margin_and_confidence():
    logits = np.zeros((1, 2, 2, 2), np.float32)
    logits[0, 0] = [[4.0, -4.0], [0.0, 2.0]]  # floor logit, obstacle logit 0
    seg = segment(logits, floor_index=0)
    assert seg.mask.tolist() == [[0, 1], [0, 0]]  # a tie goes to the first class
    p = 1 / (1 + np.exp(-4.0))
    np.testing.assert_allclose(seg.floor_margin[0], [2 * p - 1, 1 - 2 * p], rtol=1e-5)
    assert seg.floor_fraction == 0.75 and seg.non_finite == 0
    expected_confidence = (p + p + 0.5 + 1 / (1 + np.exp(-2.0))) / 4
    assert seg.confidence_mean == pytest.approx(expected_confidence, rel=1e-5)


def test_segment_counts_non_finite_logits():
    logits = np.zeros((1, 3, 2, 2), np.float32)
    logits[0, 1, 0, 0] = np.nan
    logits[0, 2, 1, 1] = np.inf
    assert segment(logits, floor_index=0).non_finite == 2


def test_segment_margin_with_three_classes_uses_the_strongest_other():
    logits = np.zeros((1, 3, 1, 1), np.float32)
    logits[0, :, 0, 0] = [1.0, 2.0, 0.0]
    seg = segment(logits, floor_index=0)
    probs = np.exp([1.0, 2.0, 0.0]) / np.exp([1.0, 2.0, 0.0]).sum()
    assert seg.floor_margin[0, 0] == pytest.approx(probs[0] - probs[1], rel=1e-5)
    assert seg.mask[0, 0] == 1


@pytest.mark.parametrize('floor_index', [0, 1])
def test_two_class_closed_form_agrees_with_the_softmax(floor_index):
    logits = np.random.default_rng(floor_index).normal(0, 3, (1, 2, 30, 40)).astype(np.float32)
    logits[0, 1, 0, :5] = logits[0, 0, 0, :5]  # ties
    fast = segment(logits, floor_index)
    slow = segment_softmax(logits[0].copy(), floor_index)
    np.testing.assert_array_equal(fast.mask, slow.mask)
    np.testing.assert_allclose(fast.floor_margin, slow.floor_margin, atol=1e-6)
    assert fast.confidence_mean == pytest.approx(slow.confidence_mean, rel=1e-6)
    assert fast.floor_fraction == slow.floor_fraction
