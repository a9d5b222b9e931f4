"""Validation of camera images: encoding, layout, and size against the camera calibration.

Only the layout is checked, never the pixels, so the cost is independent of the image size.
"""

import re
from dataclasses import dataclass

from robo_edge.ingest.verdict import ACCEPT, DropReason, Verdict, drop

# Bytes per pixel of the named encodings of sensor_msgs/image_encodings.
_NAMED_ENCODINGS = {
    'rgb8': 3,
    'bgr8': 3,
    'rgba8': 4,
    'bgra8': 4,
    'rgb16': 6,
    'bgr16': 6,
    'rgba16': 8,
    'bgra16': 8,
    'mono8': 1,
    'mono16': 2,
    'bayer_rggb8': 1,
    'bayer_bggr8': 1,
    'bayer_gbrg8': 1,
    'bayer_grbg8': 1,
    'bayer_rggb16': 2,
    'bayer_bggr16': 2,
    'bayer_gbrg16': 2,
    'bayer_grbg16': 2,
    'yuv422': 2,
    'uyvy': 2,
    'yuv422_yuy2': 2,
    'yuyv': 2,
}
# The OpenCV-style names: <bits><U|S|F>C<channels>, for example 16UC1 or 32FC1.
_CV_ENCODING = re.compile(r'^(8|16|32|64)([USF])C([1-4])$')


@dataclass(frozen=True, slots=True)
class ImageFrame:
    """The layout fields of a sensor_msgs/Image; `data_len` is len(data)."""

    width: int
    height: int
    step: int
    encoding: str
    data_len: int


@dataclass(frozen=True, slots=True)
class ImageSize:
    """The image size a camera calibration announces, binning applied."""

    width: int
    height: int


def bytes_per_pixel(encoding: str) -> int | None:
    """Return the bytes per pixel of an encoding, or None when it is unknown."""
    if encoding in _NAMED_ENCODINGS:
        return _NAMED_ENCODINGS[encoding]
    match = _CV_ENCODING.match(encoding)
    if match is None:
        return None
    bits, kind, channels = int(match[1]), match[2], int(match[3])
    if kind == 'F' and bits < 32:
        return None
    return bits // 8 * channels


def calibrated_size(width: int, height: int, binning_x: int, binning_y: int) -> ImageSize | None:
    """Return the image size a CameraInfo announces, or None when it announces none."""
    if width <= 0 or height <= 0:
        return None
    return ImageSize(width // max(binning_x, 1), height // max(binning_y, 1))


def validate_image(frame: ImageFrame, expected: ImageSize | None = None) -> Verdict:
    """Return ACCEPT or why the image is unusable; `expected` comes from the latest CameraInfo."""
    bpp = bytes_per_pixel(frame.encoding)
    if bpp is None:
        return drop(DropReason.ENCODING, f'unknown encoding {frame.encoding[:32]!r}')
    if frame.width <= 0 or frame.height <= 0:
        return drop(DropReason.STRUCTURE, f'empty image {frame.width}x{frame.height}')
    if frame.step < frame.width * bpp:
        return drop(
            DropReason.STRUCTURE,
            f'step {frame.step} < width {frame.width} x {bpp} bytes of {frame.encoding}',
        )
    if frame.data_len != frame.step * frame.height:
        return drop(
            DropReason.STRUCTURE,
            f'data is {frame.data_len} bytes, step x height is {frame.step * frame.height}',
        )
    if expected is not None and (frame.width, frame.height) != (expected.width, expected.height):
        return drop(
            DropReason.SIZE_MISMATCH,
            f'image {frame.width}x{frame.height}, camera_info {expected.width}x{expected.height}',
        )
    return ACCEPT
