"""Static maps in the nav2 map_server format: a YAML file and a PGM/PNG image.

Loading follows nav2's map_io: a pixel's shade is the mean of its R, G, B channels (and, in
trinary mode only, its alpha, high = opaque) on 0..1; the occupancy probability is
p = 1 - shade, or p = shade with `negate`. trinary: p > occupied_thresh -> 100,
p < free_thresh -> 0, else -1. scale: not fully opaque -> -1, then as trinary, with values in
between mapped linearly to rint(100 (p - free) / (occupied - free)). raw: round(255 shade) when
in 0..100 (negate and thresholds ignored), else -1. Image row 0 is the top of the map.
Every malformed input raises MapError naming the file, the key and the expectation.
"""

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from robo_edge.exceptions import MapError
from robo_edge.robot.grid import OCCUPIED, UNKNOWN, Grid
from robo_edge.yaml_fields import Fields, load_yaml

MODES = ('trinary', 'scale', 'raw')
_SIXTEEN_BIT = ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I')
_WITH_ALPHA = ('RGBA', 'LA', 'PA', 'RGBa', 'La')
# What nav2's map_saver writes in trinary mode.
FREE_PIXEL, OCCUPIED_PIXEL, UNKNOWN_PIXEL = 254, 0, 205


@dataclass(frozen=True)
class MapMetadata:
    """The YAML half of a map; `image` is resolved against the YAML file's folder."""

    image: Path
    resolution: float
    origin: tuple[float, float, float]
    occupied_thresh: float
    free_thresh: float
    negate: bool
    mode: str = 'trinary'


def _negate(fields: Fields) -> bool:
    value = fields.raw('negate')
    # nav2 reads negate as an int (any non-zero is true) or else as a bool.
    if isinstance(value, bool | int):
        return bool(value)
    raise fields.fail('negate', '0, 1, true or false', value)


def _positive(fields: Fields, name: str) -> float:
    value = fields.raw(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0):
        raise fields.fail(name, 'a positive number (metres per cell)', value)
    return float(value)


def parse_metadata(data: object, source: Path) -> MapMetadata:
    """Validate parsed map YAML; `source` is the YAML file (for errors and the image path)."""
    fields = Fields(data, str(source), '', MapError)
    image = fields.string('image')
    resolution = _positive(fields, 'resolution')
    x, y, yaw = fields.vector('origin', 3)
    occupied = fields.number('occupied_thresh', low=0.0, high=1.0)
    free = fields.number('free_thresh', low=0.0, high=1.0)
    if free >= occupied:
        raise fields.fail('free_thresh', f'a number below occupied_thresh ({occupied})', free)
    mode = fields.string('mode', 'trinary')
    if mode not in MODES:
        raise fields.fail('mode', f'one of {", ".join(MODES)}', mode)
    path = Path(image) if Path(image).is_absolute() else Path(source).parent / image
    return MapMetadata(path, resolution, (x, y, yaw), occupied, free, _negate(fields), mode)


def _channels(img: Image.Image) -> tuple[np.ndarray, bool]:
    """Return (H, W, 3 or 4) channels on 0..1 (RGB, then alpha if any) and whether alpha is."""
    if img.mode in _SIXTEEN_BIT:
        gray = np.asarray(img, dtype=float) / 65535.0
        return np.repeat(gray[:, :, None], 3, axis=2), False
    if img.mode == 'F':
        raise ValueError('floating-point images are not map images')
    alpha = img.mode in _WITH_ALPHA or 'transparency' in img.info
    return np.asarray(img.convert('RGBA' if alpha else 'RGB'), dtype=float) / 255.0, alpha


def read_image(path: Path, source: Path) -> tuple[np.ndarray, bool]:
    """Decode the whole image (so truncation shows here); errors name the YAML's `image` key."""
    try:
        with Image.open(path) as img:
            img.load()
            return _channels(img)
    except FileNotFoundError as e:
        raise MapError(str(source), 'image', 'an existing image file', str(path)) from e
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise MapError(str(source), 'image', 'a readable PGM/PNG image', f'{path}: {e}') from e


def occupancy(channels: np.ndarray, has_alpha: bool, meta: MapMetadata) -> np.ndarray:
    """Apply nav2's value interpretation; returns int8 cells in image row order."""
    shade = channels.mean(axis=2) if meta.mode == 'trinary' else channels[:, :, :3].mean(axis=2)
    if meta.mode == 'raw':
        value = np.floor(shade * 255.0 + 0.5)
        return np.where(value <= OCCUPIED, value, UNKNOWN).astype(np.int8)
    p = shade if meta.negate else 1.0 - shade
    free, occupied = meta.free_thresh, meta.occupied_thresh
    if meta.mode == 'scale':
        cells = np.rint((p - free) / (occupied - free) * 100.0)
    else:
        cells = np.full(p.shape, float(UNKNOWN))
    cells = np.where(p > occupied, OCCUPIED, np.where(p < free, 0, cells))
    if meta.mode == 'scale' and has_alpha:
        cells[channels[:, :, 3] < 1.0] = UNKNOWN
    return cells.astype(np.int8)


def load_map(yaml_path: str | Path) -> Grid:
    """Load a nav2 map_server map into a Grid (row 0 at the lowest y, as OccupancyGrid)."""
    source = Path(yaml_path)
    meta = parse_metadata(load_yaml(source, MapError), source)
    channels, has_alpha = read_image(meta.image, source)
    cells = np.flipud(occupancy(channels, has_alpha, meta))
    height, width = cells.shape
    x, y, yaw = meta.origin
    return Grid(meta.resolution, width, height, np.ascontiguousarray(cells), x, y, yaw)


def _check_save(mode: str, free_thresh: float, occupied_thresh: float) -> None:
    if mode not in ('trinary', 'raw'):
        raise ValueError(f'save_map writes trinary or raw maps, not {mode!r}')
    # 254 must read back as free and 205 as unknown: p(254) = 1/255, p(205) = 50/255. nav2's
    # saver default of 0.25 reads its own unknown cells back as free.
    if not 1 / 255 < free_thresh <= 50 / 255:
        raise ValueError(f'free_thresh must be in (1/255, 50/255], got {free_thresh}')
    if not free_thresh < occupied_thresh < 1.0:
        raise ValueError(f'occupied_thresh must be in (free_thresh, 1), got {occupied_thresh}')


def pixels(grid: Grid, mode: str, free_thresh: float, occupied_thresh: float) -> np.ndarray:
    """Grey levels nav2's map_saver would write for `grid` (image row order, uint8)."""
    data = np.flipud(grid.data).astype(int)
    unknown = (data < 0) | (data > OCCUPIED)
    if mode == 'raw':
        return np.where(unknown, 255, data).astype(np.uint8)
    out = np.full(data.shape, UNKNOWN_PIXEL)
    out[data <= round(free_thresh * 100)] = FREE_PIXEL
    out[data >= round(occupied_thresh * 100)] = OCCUPIED_PIXEL
    out[unknown] = UNKNOWN_PIXEL
    return out.astype(np.uint8)


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f'.{path.name}.tmp')
    write(tmp)
    os.replace(tmp, path)


def save_map(
    grid: Grid, yaml_path: str | Path, mode: str = 'trinary', free_thresh: float = 0.196,
    occupied_thresh: float = 0.65,
) -> Path:
    """Write `<stem>.pgm` and the YAML beside it in the map_server format; return the image."""
    _check_save(mode, free_thresh, occupied_thresh)
    yaml_path = Path(yaml_path)
    image_path = yaml_path.with_suffix('.pgm')
    meta = {
        'image': image_path.name, 'mode': mode, 'resolution': grid.resolution,
        'origin': [grid.origin_x, grid.origin_y, grid.origin_yaw], 'negate': 0,
        'occupied_thresh': occupied_thresh, 'free_thresh': free_thresh,
    }
    image = Image.fromarray(pixels(grid, mode, free_thresh, occupied_thresh))
    text = yaml.safe_dump(meta, sort_keys=False, default_flow_style=None)
    try:
        _replace(image_path, lambda p: image.save(p, format='PPM'))
        _replace(yaml_path, lambda p: p.write_text(text, encoding='utf-8'))
    except OSError as e:
        raise MapError(str(yaml_path), '<file>', 'a writable location', str(e)) from e
    return image_path
