"""Camera lies paint what they say, and the shipped model believes them.

The painting is checked pixel by pixel on synthetic images; then twin frames of the held-out
sample (test/data/perception_sample.npz, the warehouse at the model's 160x120) go through the
fault injector and the perception pipeline as the node runs it (models/floor_seg.onnx,
Normaliser, segment, virtual_scan): a phantom puts an obstacle on free floor where `bottom`
says, and `missed` turns a wall a metre or two ahead into free floor.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.chaos.camera_lies import (
    PHANTOM_RGB,
    camera_lie,
    column_band,
    paint_missed,
    paint_phantom,
)
from robo_edge.chaos.injector import FaultInjector
from robo_edge.chaos.spec import FaultSpec
from robo_edge.perception.model import ModelSession, load_model
from robo_edge.perception.preprocess import Normaliser, segment
from robo_edge.perception.virtual_scan import (
    CameraGeometry,
    Intrinsics,
    MountPose,
    ScanConfig,
    VirtualScan,
    column_grid,
    virtual_scan,
)
from robo_edge.twin.camera import intrinsics
from robo_edge.twin.config import CameraConfig
from robo_edge.twin.readings import ImageReading

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / 'models' / 'floor_seg.onnx'
SAMPLE = REPO / 'test' / 'data' / 'perception_sample.npz'
BAND = (0.35, 0.65)
CONFIG = ScanConfig(range_min=0.1, range_max=4.0, min_obstacle_rows=2)  # config/perception.yaml
MARGIN = 8  # columns next to a band edge, where the model blends the two sides


def image(height: int = 24, width: int = 20) -> np.ndarray:
    """A floor-grey image with a distinct value per pixel, and darker 'obstacle' rows on top."""
    rng = np.random.default_rng(height * width)
    rgb = rng.integers(170, 200, (height, width, 3), dtype=np.uint8)
    rgb[: height // 2] = rng.integers(0, 60, (height // 2, width, 3), dtype=np.uint8)
    return rgb


# -- painting ----------------------------------------------------------------------------------

@pytest.mark.parametrize('width, columns, expected', [
    (160, (0.35, 0.65), (56, 104)), (160, (0.0, 1.0), (0, 160)), (20, (0.999, 1.0), (19, 20)),
    (20, (0.5, 0.51), (10, 11)),
])
def test_column_band_is_the_fraction_of_the_width_and_never_empty(
    width: int, columns: tuple[float, float], expected: tuple[int, int]
) -> None:
    band = column_band(width, columns)
    assert (band.start, band.stop) == expected


def test_phantom_paints_the_band_above_bottom_in_one_colour_and_nothing_else() -> None:
    rgb = image()
    before = rgb.copy()
    out = paint_phantom(rgb, (0.25, 0.5), 0.75)
    assert np.array_equal(rgb, before), 'the input must not change'
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert np.all(out[:18, 5:10] == PHANTOM_RGB)
    changed = np.any(out != rgb, axis=2)
    changed[:18, 5:10] = False
    assert not changed.any()


def test_missed_copies_the_bottom_rows_of_the_band_up_to_top() -> None:
    rgb = image()
    before = rgb.copy()
    out = paint_missed(rgb, (0.5, 1.0), 0.25)
    assert np.array_equal(rgb, before)
    sample = rgb[22:, 10:]  # 10 % of 24 rows, rounded: the bottom 2
    for row in range(6, 24):  # round(0.25 * 24) = 6: rows 6 .. 23 are floor
        assert np.array_equal(out[row, 10:], sample[(row - 22) % 2])
    assert np.array_equal(out[:6], rgb[:6]) and np.array_equal(out[:, :10], rgb[:, :10])
    assert np.array_equal(out[22:], rgb[22:]), 'the floor it copies stays where it was'


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 0.99), st.floats(0.01, 1.0), st.floats(1e-6, 1.0), st.floats(0.0, 0.99),
       st.sampled_from(['phantom', 'missed']))
def test_a_lie_changes_only_pixels_inside_its_band(
    c0: float, width: float, bottom: float, top: float, mode: str
) -> None:
    columns = (c0, min(1.0, c0 + width))
    rgb = image(30, 40)
    fault = FaultSpec('lie', 'camera', 0.0, mode=mode, columns=columns, bottom=bottom, top=top)
    out = camera_lie(rgb, fault)
    band = column_band(40, columns)
    outside = np.ones(40, bool)
    outside[band] = False
    assert np.array_equal(out[:, outside], rgb[:, outside])
    assert not np.array_equal(out, rgb) or mode == 'missed'  # a phantom always paints


def test_the_injector_paints_inside_each_window_only_and_counts() -> None:
    faults = [FaultSpec('lie', 'camera', 1.0, 0.5, mode='phantom', columns=(0.0, 0.5)),
              FaultSpec('lie', 'camera', 2.0, mode='missed', columns=(0.5, 1.0), top=0.0)]
    injector = FaultInjector(faults, 0)
    rgb, k = image(6, 8), intrinsics(8, 6, 58.0)
    for t in (round(i * 10**9 / 15) for i in range(46)):  # 3 s at 15 Hz
        (out,) = injector.apply(t, [ImageReading(t, rgb, k)])
        expected = rgb.copy()
        if faults[0].active(t):
            expected[:3, :4] = PHANTOM_RGB  # rows above 0.5 x 6, columns [0, 0.5) x 8
        if faults[1].active(t):
            expected[:, 4:] = rgb[5, 4:]  # the bottom row (10 % of 6, at least one) upward
        assert np.array_equal(out.rgb, expected), t
        assert out.stamp_ns == t and out.intrinsics is k
    phantom, missed = injector.report()
    assert (phantom['affected'], phantom['first_affected_s']) == (8, 1.0)  # 15/15 .. 22/15 s
    assert phantom['params'] == {'mode': 'phantom', 'columns': [0.0, 0.5], 'bottom': 0.5}
    assert (missed['affected'], missed['first_affected_s']) == (16, 2.0)  # 30/15 .. 45/15 s
    assert missed['params'] == {'mode': 'missed', 'columns': [0.5, 1.0], 'top': 0.0}


def test_a_camera_lie_leaves_the_ground_truth_mask_alone() -> None:
    mask = np.arange(48, dtype=np.int32).reshape(6, 8)
    clean = ImageReading(10**9, image(6, 8), intrinsics(8, 6, 58.0), mask)
    fault = FaultSpec('lie', 'camera', 0.0, mode='phantom', bottom=1.0)
    (out,) = FaultInjector([fault], 0).apply(10**9, [clean])
    assert out.segmentation is mask and np.array_equal(mask, np.arange(48).reshape(6, 8))
    assert np.all(out.rgb[:, 3:5] == PHANTOM_RGB)  # the default band: columns 0.35 .. 0.65
    assert np.array_equal(out.rgb[:, :3], clean.rgb[:, :3])


# -- the shipped model believes them -----------------------------------------------------------

class Pipeline:
    """The perception node's per-frame path, with CameraInfo of the twin's default camera."""

    def __init__(self, model: ModelSession) -> None:
        self.model = model
        self.normalise = Normaliser(model.spec.input)
        camera = CameraConfig()
        k = intrinsics(camera.width, camera.height, camera.vertical_fov_deg)
        size = (model.spec.input.width, model.spec.input.height)
        self.geometry = CameraGeometry(
            Intrinsics(k.width, k.height, k.fx, k.fy, k.cx, k.cy).scaled(*size), MountPose())
        self.grid = column_grid(self.geometry, CONFIG)

    def scan(self, rgb: np.ndarray) -> VirtualScan:
        seg = segment(self.model.run(self.normalise(rgb)), self.model.spec.floor_index)
        return virtual_scan(seg.floor_margin, self.geometry, self.grid, CONFIG)

    def beams(self, first: int, last: int) -> np.ndarray:
        """Return the beams between the bearings of image columns first and last."""
        cy = self.geometry.intrinsics.cy
        rays = self.geometry.rays(np.array([first, last], float), np.array([cy, cy]))
        left, right = np.arctan2(rays[:, 1], rays[:, 0])
        angles = self.grid.angles()
        return np.flatnonzero((angles <= left) & (angles >= right))

    def floor_range(self, column: float, row: float) -> float:
        """Return the range from base_link of the floor seen at pixel (column, row)."""
        x, y = self.geometry.floor_points(np.array([column]), np.array([row]))[0]
        return float(np.hypot(x, y))


@pytest.fixture(scope='module')
def pipeline() -> Pipeline:
    model = load_model(MODEL, ('CPUExecutionProvider',), intra_op_threads=1)
    yield Pipeline(model)
    model.close()


@pytest.fixture(scope='module')
def frames() -> np.ndarray:
    with np.load(SAMPLE, allow_pickle=False) as data:
        return data['images']


def lied(rgb: np.ndarray, **lie: object) -> np.ndarray:
    """Return the image the twin publishes with the lie active (through the injector)."""
    height, width = rgb.shape[:2]
    reading = ImageReading(10**9, rgb, intrinsics(width, height, CameraConfig().vertical_fov_deg))
    (out,) = FaultInjector([FaultSpec('lie', 'camera', 0.0, **lie)], 0).apply(10**9, [reading])
    return out.rgb


def band_beams(pipeline: Pipeline, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the beams well inside BAND, and those well outside it."""
    band = column_band(width, BAND)
    inside = pipeline.beams(band.start + MARGIN, band.stop - 1 - MARGIN)
    near = pipeline.beams(band.start - 2 * MARGIN, band.stop - 1 + 2 * MARGIN)
    return inside, np.setdiff1d(np.arange(pipeline.grid.beams), near)


def unchanged(after: np.ndarray, before: np.ndarray) -> bool:
    """Whether ranges agree within 0.1 m, +inf counting as range_max (where they flicker)."""
    return np.allclose(np.fmin(after, CONFIG.range_max), np.fmin(before, CONFIG.range_max),
                       atol=0.1, equal_nan=True)


@pytest.mark.parametrize('frame', [2, 3])
def test_phantom_puts_an_obstacle_on_free_floor(pipeline, frames, frame: int) -> None:
    rgb = frames[frame]
    inside, outside = band_beams(pipeline, rgb.shape[1])
    before = pipeline.scan(rgb).ranges
    assert len(inside) >= 20 and np.all(np.isposinf(before[inside])), 'free floor ahead first'
    after = pipeline.scan(lied(rgb, mode='phantom', columns=BAND, bottom=0.5)).ranges
    # Its foot is on row 60 of 120: the boundary between rows 59 and 60 sees the floor 1.27 m
    # ahead (the optical axis of the camera, pitched 0.35 rad from 0.42 m up).
    expected = pipeline.floor_range(80.0, 59.5)
    assert expected == pytest.approx(1.27, abs=0.01)
    assert np.all(np.abs(after[inside] - expected) < 0.1), after[inside]
    assert unchanged(after[outside], before[outside])


@pytest.mark.parametrize('bottom', [0.4, 0.6, 0.8, 0.95])
def test_the_phantom_stands_where_bottom_says(pipeline, frames, bottom: float) -> None:
    rgb = frames[2]
    inside, _ = band_beams(pipeline, rgb.shape[1])
    after = pipeline.scan(lied(rgb, mode='phantom', columns=BAND, bottom=bottom)).ranges
    expected = pipeline.floor_range(80.0, round(bottom * rgb.shape[0]) - 0.5)
    assert np.all(np.abs(after[inside] - expected) < 0.05 * expected + 0.03), after[inside]


@pytest.mark.parametrize('frame, nearest', [(6, 1.5), (7, 3.0)])
def test_missed_hides_a_wall_ahead(pipeline, frames, frame: int, nearest: float) -> None:
    rgb = frames[frame]
    inside, outside = band_beams(pipeline, rgb.shape[1])
    before = pipeline.scan(rgb).ranges
    assert np.all(before[inside] < nearest), 'a wall within a few metres first'
    after = pipeline.scan(lied(rgb, mode='missed', columns=BAND)).ranges
    # The wall is gone from the band: nothing there, or (floor_seg-3, which reads the edge of
    # the painted floor on frame 6) something at least a metre beyond where the wall stood.
    assert np.all(after[inside] >= nearest + 1.0), after[inside]
    assert np.mean(np.isposinf(after[inside])) > 0.5, after[inside]
    assert unchanged(after[outside], before[outside])
