"""Ground-truth rasterisation of worlds."""

from pathlib import Path

import pytest

from robo_edge.planning.astar import plan_path
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.twin.raster import OCCUPIED, rasterise
from robo_edge.twin.world import load_world, parse_world

REPO = Path(__file__).resolve().parents[2]


def test_box_and_cylinder_cells() -> None:
    world = parse_world({'world': {'name': 'w', 'obstacles': [
        {'type': 'box', 'pose': [0, 0, 0], 'size': [1.0, 0.5, 1]},
        {'type': 'cylinder', 'position': [3, 0], 'radius': 0.5},
    ]}}, 'mem')
    grid = rasterise(world, resolution=0.05)

    def occupied(x: float, y: float) -> bool:
        col, row = grid.world_to_cell(x, y)
        return grid.data[row, col] == OCCUPIED

    assert occupied(0.0, 0.0) and occupied(0.45, 0.2) and not occupied(0.6, 0.0)
    assert occupied(3.0, 0.45) and not occupied(3.0, 0.6)


@pytest.mark.parametrize('name', ['warehouse', 'corridors', 'cluttered_room'])
def test_spawn_hints_are_connected_on_the_true_map(name: str) -> None:
    world = load_world(REPO / 'sim' / 'worlds' / f'{name}.yaml')
    costmap = inflate(rasterise(world, 0.05), InflationParams(robot_radius_m=0.2, margin_m=0.05))
    first, *others = world.spawn_hints
    for other in others:
        result = plan_path(costmap, first[:2], other[:2])
        assert result.has_path, (name, other, result.status)
