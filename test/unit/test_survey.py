"""The survey map: what the robot's LiDAR maps of a world, for runs that start on a map."""

import sys
from pathlib import Path

import numpy as np
import pytest

from robo_edge.planning.map_server import load_map
from robo_edge.robot.grid import OCCUPIED_THRESHOLD
from robo_edge.twin.survey import (
    SURVEY_FREE,
    SURVEY_OCCUPIED,
    lidar_height,
    mapper_resolution,
    survey_map,
    write_survey,
)
from robo_edge.twin.world import parse_world

REPO = Path(__file__).resolve().parents[2]
URDF = REPO / 'sim' / 'robot' / 'diff_drive.urdf'
sys.path.insert(0, str(REPO / 'bench'))

import _degradation_plan as plan  # noqa: E402

WORLD = parse_world({'world': {'name': 'w', 'obstacles': [
    {'type': 'box', 'pose': [0, 0, 0], 'size': [1.0, 1.0, 1.0]},       # a wall: mapped
    {'type': 'box', 'pose': [3, 0, 0], 'size': [0.6, 0.6, 0.2]},       # a low cart: under
    {'type': 'cylinder', 'position': [0, 3], 'radius': 0.03, 'height': 1.2},  # a thin pole
]}}, 'mem')


def occupied(grid, x: float, y: float) -> bool:
    col, row = grid.world_to_cell(x, y)
    return grid.data[row, col] >= OCCUPIED_THRESHOLD


def test_the_survey_holds_what_reaches_the_lidar_plane() -> None:
    assert lidar_height(URDF) == pytest.approx(0.27)
    grid = survey_map(WORLD, URDF, 0.02)
    assert occupied(grid, 0.0, 0.0) and occupied(grid, 0.0, 3.0)
    assert not occupied(grid, 3.0, 0.0), 'the LiDAR passes over a 0.2 m cart'


def test_the_survey_loads_as_the_mapper_static_map(tmp_path: Path) -> None:
    path = write_survey(WORLD, URDF, tmp_path / 'survey' / 'map.yaml')
    grid = load_map(path)
    assert occupied(grid, 0.0, 0.0) and not occupied(grid, 3.0, 0.0)
    # A prior of one LiDAR hit either way, read back exactly: the LiDAR overrules it.
    assert set(np.unique(grid.data).tolist()) == {SURVEY_FREE, SURVEY_OCCUPIED}


def test_the_survey_is_drawn_at_the_mapper_resolution(tmp_path: Path) -> None:
    assert mapper_resolution(REPO / 'config' / 'navigation.yaml') == pytest.approx(0.1)
    broken = tmp_path / 'nav.yaml'
    broken.write_text('mapper: {ros__parameters: {}}\n')
    with pytest.raises(ValueError, match='resolution'):
        mapper_resolution(broken)


def test_a_urdf_without_a_laser_is_refused(tmp_path: Path) -> None:
    urdf = tmp_path / 'r.urdf'
    urdf.write_text('<robot name="r"><link name="base_link"/></robot>')
    with pytest.raises(ValueError, match='laser_joint'):
        lidar_height(urdf)


def test_every_run_but_the_unmapped_starts_on_the_survey(tmp_path: Path) -> None:
    case = plan.WorldCase('gen100000', 100000, {
        'world': str(tmp_path / 'w.yaml'), 'start': [0.0, 0.0, 0.0], 'duration_s': 60.0,
        'goals': [[1.0, 0.0, 0.0]], 'expect': {'collisions': 0}}, 5.0, 'test')
    survey = tmp_path / 'map.yaml'
    for kind in ('nominal', 'lidar_silence', 'camera_phantom'):
        scenario = plan.scenario_for(plan.Run('gen100000', kind, 'breakers', 0), case, survey)
        assert scenario.node_params['mapper']['static_map'] == str(survey)
    unmapped = plan.scenario_for(plan.Run('gen100000', 'lidar_silence_unmapped', 'breakers', 0),
                                 case, survey)
    assert 'mapper' not in unmapped.node_params
    assert set(plan.UNMAPPED).isdisjoint(plan.LIDAR_KINDS)


def test_a_permanent_fault_gives_the_degraded_robot_the_time_of_its_slower_route(
        tmp_path: Path) -> None:
    case = plan.WorldCase('gen100000', 100000, {
        'world': str(tmp_path / 'w.yaml'), 'start': [0.0, 0.0, 0.0], 'duration_s': 60.0,
        'goals': [[1.0, 0.0, 0.0]], 'expect': {'collisions': 0}}, 5.0, 'test')
    durations = {kind: plan.scenario_for(plan.Run('gen100000', kind, 'breakers', 0), case,
                                         None).duration_s
                 for kind in ('nominal', 'lidar_silence_8s', 'lidar_silence')}
    assert durations['nominal'] == 60.0
    assert durations['lidar_silence_8s'] == 60.0 + plan.FAULT_EXTRA_S
    assert durations['lidar_silence'] == 60.0 * plan.PERMANENT_SLOWDOWN + plan.FAULT_EXTRA_S
