"""Image validation: encodings, layout, camera_info size; never raises on random input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.ingest.image import (
    ImageFrame,
    ImageSize,
    bytes_per_pixel,
    calibrated_size,
    validate_image,
)
from robo_edge.ingest.verdict import DropReason


def frame(width=4, height=3, encoding='rgb8', step=None, data_len=None, bpp=3):
    step = width * bpp if step is None else step
    data_len = step * height if data_len is None else data_len
    return ImageFrame(width, height, step, encoding, data_len)


@pytest.mark.parametrize(
    ('encoding', 'bpp'),
    [
        ('rgb8', 3),
        ('bgr8', 3),
        ('mono8', 1),
        ('mono16', 2),
        ('rgba8', 4),
        ('bgra8', 4),
        ('16UC1', 2),
        ('32FC1', 4),
        ('8UC3', 3),
        ('64FC1', 8),
        ('bayer_rggb8', 1),
        ('yuv422', 2),
    ],
)
def test_known_encodings_have_their_bytes_per_pixel(encoding, bpp):
    assert bytes_per_pixel(encoding) == bpp
    assert validate_image(frame(encoding=encoding, bpp=bpp)).ok


@pytest.mark.parametrize('encoding', ['', 'RGB8', 'rgb9', '16FC1', '8UC5', 'jpeg', '32UC'])
def test_unknown_encoding_is_dropped(encoding):
    verdict = validate_image(frame(encoding=encoding))
    assert verdict.reason is DropReason.ENCODING


def test_truncated_data_is_a_structure_drop():
    verdict = validate_image(frame(data_len=4 * 3 * 3 - 1))
    assert verdict.reason is DropReason.STRUCTURE
    assert 'data is 35 bytes' in verdict.detail


def test_step_smaller_than_a_row_is_a_structure_drop():
    verdict = validate_image(frame(step=11, data_len=33))
    assert verdict.reason is DropReason.STRUCTURE
    assert 'step 11' in verdict.detail


def test_padded_rows_are_valid():
    assert validate_image(frame(step=16)).ok


def test_zero_size_is_a_structure_drop():
    assert validate_image(frame(width=0)).reason is DropReason.STRUCTURE


def test_size_must_match_camera_info():
    assert validate_image(frame(), ImageSize(4, 3)).ok
    verdict = validate_image(frame(), ImageSize(8, 6))
    assert verdict.reason is DropReason.SIZE_MISMATCH
    assert '4x3' in verdict.detail and '8x6' in verdict.detail


def test_calibrated_size_applies_binning_and_ignores_empty_info():
    assert calibrated_size(640, 480, 2, 2) == ImageSize(320, 240)
    assert calibrated_size(640, 480, 0, 0) == ImageSize(640, 480)
    assert calibrated_size(0, 0, 0, 0) is None


ENCODINGS = st.sampled_from(['rgb8', 'mono8', 'mono16', '32FC1', '16UC1', 'bgra8', 'bogus', ''])
DIMS = st.integers(min_value=-5, max_value=5000)


@given(DIMS, DIMS, st.integers(-10, 30000), ENCODINGS, st.integers(0, 10**8), st.booleans())
def test_random_layouts_always_get_a_verdict(width, height, step, encoding, data_len, info):
    expected = ImageSize(640, 480) if info else None
    verdict = validate_image(ImageFrame(width, height, step, encoding, data_len), expected)
    bpp = bytes_per_pixel(encoding)
    consistent = (
        bpp is not None
        and width > 0
        and height > 0
        and step >= width * bpp
        and data_len == step * height
        and (not info or (width, height) == (640, 480))
    )
    assert verdict.ok == consistent
    assert verdict.ok or verdict.detail


@given(
    st.integers(1, 4000),
    st.integers(1, 4000),
    st.integers(0, 64),
    st.sampled_from(['rgb8', 'bgr8', 'mono8', 'mono16', 'rgba8', '16UC1', '32FC1']),
)
def test_consistent_layouts_always_pass(width, height, padding, encoding):
    step = width * bytes_per_pixel(encoding) + padding
    frame_ = ImageFrame(width, height, step, encoding, step * height)
    assert validate_image(frame_, ImageSize(width, height)).ok
    assert (
        validate_image(ImageFrame(width, height, step, encoding, step * height - 1)).reason
        is DropReason.STRUCTURE
    )
