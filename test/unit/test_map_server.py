"""nav2 map_server maps: value semantics, round trips, and a named error for each defect."""

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from robo_edge.exceptions import ConfigError, MapError
from robo_edge.planning.map_server import load_map, save_map
from robo_edge.robot.grid import Grid

META = {'image': 'map.pgm', 'resolution': 0.05, 'origin': [-1.0, 2.0, 0.0],
        'occupied_thresh': 0.65, 'free_thresh': 0.196, 'negate': 0}


def write_map(tmp_path: Path, pixels: np.ndarray, file: str = 'map.pgm',
              **meta: object) -> Path:
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(tmp_path / file)
    fields = {**META, 'image': file, **meta}
    path = tmp_path / 'map.yaml'
    path.write_text(yaml.safe_dump(fields))
    return path


def test_trinary_values_follow_nav2(tmp_path: Path) -> None:
    # p = (255 - v) / 255: 0 -> 1.0, 254 -> 0.004, 205 -> 0.196 (just above free), 100 -> 0.61,
    # 80 -> 0.69, 230 -> 0.098.
    grid = load_map(write_map(tmp_path, [[0, 254, 205, 100, 80, 230]]))
    assert grid.to_flat() == [100, 0, -1, -1, 100, 0]
    assert (grid.width, grid.height, grid.resolution) == (6, 1, 0.05)
    assert (grid.origin_x, grid.origin_y, grid.origin_yaw) == (-1.0, 2.0, 0.0)


def test_thresholds_are_strict(tmp_path: Path) -> None:
    # v = 51 gives p = 0.8 exactly: occupied needs p > occupied_thresh; v = 255 gives p = 0,
    # and free needs p < free_thresh.
    path = write_map(tmp_path, [[51, 255]], occupied_thresh=0.8, free_thresh=0.0)
    assert load_map(path).to_flat() == [-1, -1]


def test_image_top_row_is_the_highest_y(tmp_path: Path) -> None:
    grid = load_map(write_map(tmp_path, [[0, 0], [254, 254], [254, 0]]))
    assert grid.data[2].tolist() == [100, 100]
    assert grid.data[0].tolist() == [0, 100]
    assert grid.world_to_cell(-0.99, 2.01) == (0, 0)


def test_negate_swaps_black_and_white(tmp_path: Path) -> None:
    grid = load_map(write_map(tmp_path, [[0, 255, 128]], negate=1))
    assert grid.to_flat() == [0, 100, -1]
    assert load_map(write_map(tmp_path, [[0, 255]], negate=True)).to_flat() == [0, 100]


def test_colour_pixels_are_averaged(tmp_path: Path) -> None:
    rgb = np.array([[[255, 0, 0], [255, 255, 250]]], dtype=np.uint8)
    # red: shade 1/3 -> p 0.667 > 0.65.
    assert load_map(write_map(tmp_path, rgb, file='map.png')).to_flat() == [100, 0]


def test_trinary_averages_alpha_in_as_nav2_does(tmp_path: Path) -> None:
    rgba = np.array([[[60, 60, 60, 255], [0, 0, 0, 0], [255, 255, 255, 255],
                      [255, 255, 255, 0]]], dtype=np.uint8)
    # (60, 60, 60, 255): shade 0.4265, p 0.57 -> unknown (0.76 -> occupied without alpha).
    grid = load_map(write_map(tmp_path, rgba, file='map.png'))
    assert grid.to_flat() == [-1, 100, 0, -1]


def test_scale_mode(tmp_path: Path) -> None:
    rgba = np.array([[[128, 128, 128, 255], [128, 128, 128, 254], [0, 0, 0, 255],
                      [250, 250, 250, 255], [191, 191, 191, 255]]], dtype=np.uint8)
    path = write_map(tmp_path, rgba, file='map.png', mode='scale',
                     occupied_thresh=0.75, free_thresh=0.25)
    # 128: p = 0.498 -> rint(49.6) = 50; not opaque -> unknown; 191: p = 0.251 -> rint(0.2) = 0.
    assert load_map(path).to_flat() == [50, -1, 100, 0, 0]


def test_scale_mode_without_alpha_is_opaque(tmp_path: Path) -> None:
    path = write_map(tmp_path, [[128, 0]], mode='scale', occupied_thresh=0.75,
                     free_thresh=0.25)
    assert load_map(path).to_flat() == [50, 100]


def test_raw_mode_takes_values_as_they_are(tmp_path: Path) -> None:
    path = write_map(tmp_path, [[0, 37, 100, 101, 255]], mode='raw', negate=1)
    assert load_map(path).to_flat() == [0, 37, 100, -1, -1]


def test_sixteen_bit_images(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 65535, 52000]], dtype=np.uint16)).save(tmp_path / 'm.png')
    path = tmp_path / 'm.yaml'
    path.write_text(yaml.safe_dump({**META, 'image': 'm.png'}))
    assert load_map(path).to_flat() == [100, 0, -1]


def test_absolute_image_path(tmp_path: Path) -> None:
    (tmp_path / 'img').mkdir()
    Image.fromarray(np.array([[0]], dtype=np.uint8)).save(tmp_path / 'img' / 'a.pgm')
    path = tmp_path / 'map.yaml'
    path.write_text(yaml.safe_dump({**META, 'image': str(tmp_path / 'img' / 'a.pgm')}))
    assert load_map(path).to_flat() == [100]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=hnp.arrays(np.int8, st.tuples(st.integers(1, 12), st.integers(1, 12)),
                        elements=st.sampled_from([-1, 0, 100])),
       origin=st.tuples(st.floats(-100, 100), st.floats(-100, 100), st.floats(-3.14, 3.14)),
       res=st.floats(0.001, 1.0))
def test_trinary_round_trip(tmp_path: Path, cells: np.ndarray, origin: tuple,
                            res: float) -> None:
    grid = Grid(res, cells.shape[1], cells.shape[0], cells, *origin)
    image = save_map(grid, tmp_path / 'rt.yaml')
    assert image == tmp_path / 'rt.pgm' and image.read_bytes().startswith(b'P5')
    again = load_map(tmp_path / 'rt.yaml')
    assert np.array_equal(again.data, grid.data)
    assert again.resolution == res
    assert (again.origin_x, again.origin_y, again.origin_yaw) == origin


def test_raw_round_trip_keeps_every_value(tmp_path: Path) -> None:
    cells = np.arange(-1, 101, dtype=np.int8).reshape(6, 17)
    grid = Grid(0.05, 17, 6, cells, 1.5, -2.5, 0.25)
    save_map(grid, tmp_path / 'raw.yaml', mode='raw')
    again = load_map(tmp_path / 'raw.yaml')
    assert np.array_equal(again.data, cells)


def test_trinary_save_classifies_like_nav2_map_saver(tmp_path: Path) -> None:
    grid = Grid.from_flat([0, 19, 20, 21, 64, 65, 100, -1], 8, 1, 0.1)
    image = save_map(grid, tmp_path / 'c.yaml')
    assert np.asarray(Image.open(image)).tolist() == [[254, 254, 254, 205, 205, 0, 0, 205]]
    assert load_map(tmp_path / 'c.yaml').to_flat() == [0, 0, 0, -1, -1, 100, 100, -1]
    meta = yaml.safe_load((tmp_path / 'c.yaml').read_text())
    assert meta == {'image': 'c.pgm', 'mode': 'trinary', 'resolution': 0.1,
                    'origin': [0.0, 0.0, 0.0], 'negate': 0, 'occupied_thresh': 0.65,
                    'free_thresh': 0.196}


@pytest.mark.parametrize('kwargs', [
    {'mode': 'scale'}, {'free_thresh': 0.25}, {'free_thresh': 0.0},
    {'occupied_thresh': 1.0}, {'occupied_thresh': 0.1, 'free_thresh': 0.15},
])
def test_save_rejects_settings_that_would_not_read_back(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        save_map(Grid.filled(2, 2, 0.1), tmp_path / 'x.yaml', **kwargs)


def test_save_into_a_missing_folder_is_a_map_error(tmp_path: Path) -> None:
    with pytest.raises(MapError) as info:
        save_map(Grid.filled(2, 2, 0.1), tmp_path / 'nope' / 'x.yaml')
    assert info.value.key == '<file>'


def expect_error(path: Path, key: str, words: str = '') -> MapError:
    with pytest.raises(MapError) as info:
        load_map(path)
    error = info.value
    assert isinstance(error, ConfigError)
    assert error.source == str(path)
    assert error.key == key
    assert words in str(error)
    return error


def test_missing_yaml(tmp_path: Path) -> None:
    expect_error(tmp_path / 'absent.yaml', '<file>', 'readable file')


def test_unreadable_yaml(tmp_path: Path) -> None:
    (tmp_path / 'dir.yaml').mkdir()
    expect_error(tmp_path / 'dir.yaml', '<file>', 'readable file')


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / 'bad.yaml'
    path.write_text('image: map.pgm\nresolution: [0.05\n')
    error = expect_error(path, 'line 3, column 1', 'valid YAML')
    assert error.expected == 'valid YAML'


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / 'list.yaml'
    path.write_text('- 1\n- 2\n')
    expect_error(path, '<root>', 'a mapping')


@pytest.mark.parametrize('key', ['image', 'resolution', 'origin', 'occupied_thresh',
                                 'free_thresh', 'negate'])
def test_missing_key(tmp_path: Path, key: str) -> None:
    path = write_map(tmp_path, [[0]])
    meta = yaml.safe_load(path.read_text())
    del meta[key]
    path.write_text(yaml.safe_dump(meta))
    expect_error(path, key, 'required')


@pytest.mark.parametrize('key, value, words', [
    ('image', '', 'non-empty string'),
    ('image', 5, 'non-empty string'),
    ('resolution', 'fine', 'positive number'),
    ('resolution', 0, 'positive number'),
    ('resolution', -0.05, 'positive number'),
    ('resolution', True, 'positive number'),
    ('origin', [1.0, 2.0], 'list of 3 numbers'),
    ('origin', 'here', 'list of 3 numbers'),
    ('origin', [1.0, 'x', 0.0], 'list of 3 numbers'),
    ('occupied_thresh', 1.5, '[0.0, 1.0]'),
    ('occupied_thresh', 'high', '[0.0, 1.0]'),
    ('free_thresh', -0.1, '[0.0, 1.0]'),
    ('free_thresh', 0.65, 'below occupied_thresh'),
    ('free_thresh', 0.9, 'below occupied_thresh'),
    ('negate', 'yes', '0, 1, true or false'),
    ('negate', 0.5, '0, 1, true or false'),
    ('mode', 'fancy', 'one of trinary, scale, raw'),
    ('mode', 3, 'non-empty string'),
])
def test_malformed_value(tmp_path: Path, key: str, value: object, words: str) -> None:
    path = write_map(tmp_path, [[0]], **{key: value})
    error = expect_error(path, key, words)
    assert error.found == value


def test_missing_image(tmp_path: Path) -> None:
    path = write_map(tmp_path, [[0]])
    (tmp_path / 'map.pgm').unlink()
    error = expect_error(path, 'image', 'an existing image file')
    assert str(tmp_path / 'map.pgm') in str(error)


@pytest.mark.parametrize('content', [
    b'',
    b'this is not an image at all',
    b'\x89PNG\r\n\x1a\n' + bytes(40),
    b'P5\n10 10\n255\n' + bytes(50),
    b'P5\n10 10\n255\n',
], ids=['empty', 'text', 'corrupt-png', 'truncated-pgm', 'no-pixels'])
def test_corrupt_or_truncated_image(tmp_path: Path, content: bytes) -> None:
    path = write_map(tmp_path, [[0]])
    (tmp_path / 'map.pgm').write_bytes(content)
    expect_error(path, 'image', 'a readable PGM/PNG image')


def test_truncated_png(tmp_path: Path) -> None:
    path = write_map(tmp_path, np.arange(400 * 300).reshape(300, 400) % 251, file='map.png')
    data = (tmp_path / 'map.png').read_bytes()
    (tmp_path / 'map.png').write_bytes(data[:len(data) // 2])
    expect_error(path, 'image', 'a readable PGM/PNG image')


def test_floating_point_image_is_rejected(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0.5]], dtype=np.float32)).save(tmp_path / 'f.tiff')
    path = write_map(tmp_path, [[0]])
    meta = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**meta, 'image': 'f.tiff'}))
    expect_error(path, 'image', 'a readable PGM/PNG image')


def test_extra_keys_are_ignored_as_nav2_does(tmp_path: Path) -> None:
    path = write_map(tmp_path, [[0]], comment='from cloud sync')
    assert load_map(path).to_flat() == [100]
    assert math.isclose(load_map(path).resolution, 0.05)
