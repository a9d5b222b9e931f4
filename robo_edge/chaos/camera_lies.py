"""Camera lies: paint a phantom obstacle into an image, or paint real obstacles over (pure).

Both act on a band of image columns (`columns`, fractions of the width) and leave every other
pixel as it was; they are deterministic (no draws) and never change the input array.

- phantom: rows from the top of the image down to `bottom` (a fraction of the height) are one
  solid box colour: to a floor segmentation this is an obstacle standing on the floor at the
  range that row sees, and it covers the horizon, so whatever lay beyond it is hidden.
- missed: the band shows floor from the bottom up to `top` (a fraction of the height): its
  own bottom rows (the floor nearest the robot) repeated upward, noise and shade included, so
  obstacles there disappear; above `top` the band is left as it was. Where the bottom rows
  themselves show an obstacle (one touching the robot's view), so does the band.

Rows above the horizon stay as they were in `missed` on purpose: the shipped model reads a
floor-coloured strip that runs up to the top of the image as the obstacle around it, so a
convincing lie ends its floor below the horizon (the default `top` does).
"""

import numpy as np

from robo_edge.chaos.spec import FaultSpec

PHANTOM_RGB = (150, 75, 30)  # a brown box, far from the greys of the shipped worlds' floors
FLOOR_SAMPLE = 0.1  # share of the image height at the bottom that the floor is copied from


def column_band(width: int, columns: tuple[float, float]) -> slice:
    """Return the image columns of the band [c0, c1) of the width (at least one column)."""
    start = min(width - 1, round(columns[0] * width))
    return slice(start, max(start + 1, round(columns[1] * width)))


def paint_phantom(rgb: np.ndarray, columns: tuple[float, float], bottom: float) -> np.ndarray:
    """Return a copy of `rgb` with the band's rows above `bottom` (fraction) in PHANTOM_RGB."""
    out = rgb.copy()
    rows = max(1, round(bottom * rgb.shape[0]))
    out[:rows, column_band(rgb.shape[1], columns)] = PHANTOM_RGB
    return out


def paint_missed(rgb: np.ndarray, columns: tuple[float, float], top: float) -> np.ndarray:
    """Return a copy of `rgb` with the band below `top` (fraction) filled by its bottom rows."""
    out = rgb.copy()
    height = rgb.shape[0]
    band = column_band(rgb.shape[1], columns)
    sample = rgb[height - max(1, round(FLOOR_SAMPLE * height)):, band]
    repeats = -(-height // sample.shape[0])
    # The last `height` rows of the stack end with the sample itself: the bottom is unchanged.
    floor = np.tile(sample, (repeats, 1, 1))[-height:]
    first = min(height - 1, round(top * height))
    out[first:, band] = floor[first:]
    return out


def camera_lie(rgb: np.ndarray, fault: FaultSpec) -> np.ndarray:
    """Return the image a camera `lie` fault publishes instead of `rgb`."""
    if fault.mode == 'phantom':
        return paint_phantom(rgb, fault.columns, fault.bottom)
    if fault.mode == 'missed':
        return paint_missed(rgb, fault.columns, fault.top)
    raise ValueError(f'no camera lie {fault.mode!r}')
