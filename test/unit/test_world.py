"""World files: the shipped worlds load, and malformed ones name the file, the key and why."""

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.exceptions import WorldError
from robo_edge.twin.world import load_world, parse_world

WORLDS = sorted((Path(__file__).resolve().parents[2] / 'sim' / 'worlds').glob('*.yaml'))


@pytest.mark.parametrize('path', WORLDS, ids=lambda p: p.stem)
def test_shipped_worlds_load(path: Path) -> None:
    world = load_world(path)
    assert world.name == path.stem
    assert len(world.boxes) + len(world.cylinders) >= 5
    xmin, ymin, xmax, ymax = world.bounds()
    assert xmin < xmax and ymin < ymax


def test_at_least_three_worlds_of_different_character() -> None:
    names = {p.stem for p in WORLDS}
    assert {'corridors', 'warehouse', 'cluttered_room'} <= names


def test_wall_becomes_box_along_its_segment() -> None:
    world = parse_world({'world': {'name': 'w', 'obstacles': [
        {'type': 'wall', 'from': [0, 0], 'to': [0, 4], 'thickness': 0.2}]}}, 'mem')
    wall = world.boxes[0]
    assert (wall.x, wall.y) == (0.0, 2.0)
    assert wall.yaw == pytest.approx(math.pi / 2)
    assert wall.size[0] == pytest.approx(4.2)


@pytest.mark.parametrize('obstacle, key, expected', [
    ({'type': 'box', 'pose': [0, 0], 'size': [1, 1, 1]}, 'world.obstacles[0].pose', 'list of 3'),
    ({'type': 'box', 'pose': [0, 0, 0], 'size': [1, -1, 1]}, 'world.obstacles[0].size',
     'positive'),
    ({'type': 'cone', 'pose': [0, 0, 0]}, 'world.obstacles[0].type', 'wall, box, cylinder'),
    ({'type': 'cylinder', 'position': [0, 0]}, 'world.obstacles[0].radius', 'required'),
    ({'type': 'wall', 'from': [1, 1], 'to': [1, 1]}, 'world.obstacles[0].to', 'different'),
    ({'type': 'box', 'pose': [0, 0, 0], 'size': [1, 1, 1], 'colour': [1, 0, 0]},
     'world.obstacles[0].colour', 'unknown key'),
    ({'type': 'box', 'pose': [0, 0, 0], 'size': [1, 1, 1], 'color': [2, 0, 0]},
     'world.obstacles[0].color', '[0, 1]'),
    ({'type': 'cylinder', 'position': [0, 'x'], 'radius': 1}, 'world.obstacles[0].position',
     'numbers'),
])
def test_bad_obstacle_names_the_key(obstacle: dict, key: str, expected: str) -> None:
    with pytest.raises(WorldError) as error:
        parse_world({'world': {'name': 'w', 'obstacles': [obstacle]}}, 'worlds/bad.yaml')
    message = str(error.value)
    assert 'worlds/bad.yaml' in message
    assert f'"{key}"' in message
    assert expected in message


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / 'broken.yaml'
    bad.write_text('world:\n  name: x\n  obstacles: [\n')
    with pytest.raises(WorldError) as error:
        load_world(bad)
    assert 'broken.yaml' in str(error.value)
    assert 'line' in str(error.value)


def test_missing_file_is_a_world_error(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match='readable file'):
        load_world(tmp_path / 'nope.yaml')


def test_root_must_be_a_world_mapping() -> None:
    with pytest.raises(WorldError, match='"world".*required'):
        parse_world({}, 'x.yaml')
    with pytest.raises(WorldError, match='"name".*unknown key'):
        parse_world({'name': 'w'}, 'x.yaml')
    with pytest.raises(WorldError, match='mapping'):
        parse_world(['world'], 'x.yaml')


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(['world', 'name', 'obstacles', 'type', 'pose', 'size',
                                       'radius', 'from', 'to', 'color', 'floor']),
                      children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_like)
def test_any_document_is_a_world_or_a_world_error(document: object) -> None:
    try:
        parse_world(document, 'fuzz.yaml')
    except WorldError as e:
        assert 'fuzz.yaml' in str(e)


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    source = WORLDS[0]
    data = yaml.safe_load(source.read_text())
    copy = tmp_path / 'copy.yaml'
    copy.write_text(yaml.safe_dump(data))
    assert load_world(copy).boxes == load_world(source).boxes
