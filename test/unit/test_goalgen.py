"""Reachable goals and generated navigation scenarios, checked with the project's own A*."""

import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_worldgen import _distance

from robo_edge.cli import main
from robo_edge.planning.astar import PlanStatus, plan_path
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.robot.profile import load_profile
from robo_edge.scenario import stack
from robo_edge.scenario.spec import load_scenario, parse_scenario
from robo_edge.twin.goalgen import (
    SPEED_M_S,
    duration_for,
    footprint_from_config,
    generate_goals,
    generate_scenario,
    plan_route,
)
from robo_edge.twin.raster import rasterise
from robo_edge.twin.world import World, load_world, parse_world
from robo_edge.twin.worldgen import EVALUATION_SEEDS, KINDS, generate_world

REPO = Path(__file__).resolve().parents[2]
NAVIGATION = REPO / 'config' / 'navigation.yaml'
SEEDS = list(EVALUATION_SEEDS[:30])
ROBOT = load_profile(REPO / 'config' / 'robot' / 'default.yaml')
RADIUS, MARGIN = footprint_from_config(yaml.safe_load(NAVIGATION.read_text()), ROBOT)


@cache
def _world(seed: int, kind: str | None = None) -> World:
    return parse_world(generate_world(seed, kind), f'seed {seed}')


def test_footprint_is_the_robots_radius_and_the_planners_margin() -> None:
    doc = {'planner': {'ros__parameters': {'inflation_margin': 0.05}}}
    assert footprint_from_config(doc, ROBOT) == (0.2, 0.05)
    config = yaml.safe_load(NAVIGATION.read_text())['planner']['ros__parameters']
    assert (RADIUS, MARGIN) == (ROBOT.footprint_radius, config['inflation_margin'])
    with pytest.raises(ValueError, match='inflation_margin'):
        footprint_from_config({'planner': {'ros__parameters': {}}}, ROBOT)


@pytest.mark.parametrize('seed', SEEDS)
def test_goals_are_reachable_by_the_projects_astar_and_clear_of_inflation(seed: int) -> None:
    world = _world(seed)
    start = world.spawn_hints[seed % len(world.spawn_hints)]
    goals = generate_goals(world, start, 4, seed, RADIUS, MARGIN)
    assert len(goals) == 4
    costmap = inflate(rasterise(world, 0.05), InflationParams(RADIUS, MARGIN))
    here = start[:2]
    for x, y, yaw in goals:
        assert math.hypot(x - here[0], y - here[1]) >= 3.0
        assert _distance(world, x, y) > RADIUS + MARGIN
        assert -math.pi <= yaw <= math.pi
        result = plan_path(costmap, here, (x, y))
        assert result.status == PlanStatus.OK and result.has_path
        here = (x, y)


def test_goals_are_reproducible_and_depend_on_the_seed() -> None:
    world = _world(SEEDS[0], 'hall')
    start = world.spawn_hints[0]
    first = generate_goals(world, start, 3, 1, RADIUS, MARGIN)
    assert generate_goals(world, start, 3, 1, RADIUS, MARGIN) == first
    assert generate_goals(world, start, 3, 2, RADIUS, MARGIN) != first


def _two_rooms(door: float) -> World:
    """A 12 m x 6 m room split at x = 0 by a wall with one doorway of the given width."""
    t = 0.1
    walls = [((-6, -3), (6, -3)), ((-6, 3), (6, 3)), ((-6, -3), (-6, 3)), ((6, -3), (6, 3)),
             ((0, -3), (0, -door / 2 - t / 2)), ((0, door / 2 + t / 2), (0, 3))]
    return parse_world({'world': {'name': 'two_rooms', 'obstacles': [
        {'type': 'wall', 'from': list(a), 'to': list(b), 'thickness': t} for a, b in walls]}},
        'mem')


def test_goals_prefer_the_other_room_through_the_doorway() -> None:
    world = _two_rooms(0.9)
    for seed in range(5):
        goals = generate_goals(world, (-3.0, 0.0, 0.0), 2, seed, RADIUS, MARGIN)
        assert goals[0][0] > 0.2, goals


def test_a_doorway_narrower_than_the_footprint_keeps_goals_on_the_start_side() -> None:
    world = _two_rooms(0.6)  # 0.6 m < 2 x (radius + margin)
    goals = generate_goals(world, (-3.0, 0.0, 0.0), 3, 0, RADIUS, MARGIN)
    assert all(x < 0.0 for x, _, _ in goals)


def test_blocked_or_boxed_in_starts_are_refused() -> None:
    world = _two_rooms(0.9)
    with pytest.raises(ValueError, match='inflation'):
        generate_goals(world, (0.0, 2.0, 0.0), 2, 0, RADIUS, MARGIN)  # on the wall
    small = parse_world({'world': {'name': 'cell', 'obstacles': [
        {'type': 'wall', 'from': a, 'to': b, 'thickness': 0.1} for a, b in
        (([-1, -1], [1, -1]), ([1, -1], [1, 1]), ([1, 1], [-1, 1]), ([-1, 1], [-1, -1]))]}},
        'mem')
    with pytest.raises(ValueError, match='no goal'):
        generate_goals(small, (0.0, 0.0, 0.0), 1, 0, RADIUS, MARGIN)


@pytest.mark.parametrize('kind', KINDS)
def test_generated_scenario_parses_and_matches_its_route(kind: str) -> None:
    seed = SEEDS[5]
    doc = generate_scenario(seed, 3, RADIUS, MARGIN, kind)
    scenario = parse_scenario(yaml.safe_load(yaml.safe_dump(doc)), 'mem')
    assert scenario.name == f'nav_gen_{kind}_{seed}' and scenario.seed == seed
    assert scenario.world_inline is not None and scenario.world_inline.name == f'gen_{kind}_{seed}'
    start = (scenario.start.x, scenario.start.y, scenario.start.yaw)
    assert start in scenario.world_inline.spawn_hints
    route = plan_route(_world(seed, kind), start, 3, seed, RADIUS, MARGIN)
    assert [(g.x, g.y, g.yaw) for g in scenario.goals] == list(route.goals)
    assert scenario.duration_s >= route.length_m / SPEED_M_S
    assert scenario.expect.collisions == 0 and scenario.expect.goals_reached == 'all'
    assert 'camera.light_direction' in scenario.twin_overrides
    assert 'camera.rate_hz' not in scenario.twin_overrides
    assert stack.renders_camera(scenario)


def test_duration_grows_with_route_and_goals() -> None:
    assert duration_for(35.0, 4) >= 35.0 / SPEED_M_S + 4
    assert duration_for(70.0, 4) > duration_for(35.0, 4) >= duration_for(35.0, 1)
    assert duration_for(10.0, 1) % 5 == 0


def test_cli_scenario_generate_with_a_world_file(tmp_path: Path) -> None:
    out, world_out = tmp_path / 'scn' / 'nav.yaml', tmp_path / 'worlds' / 'w.yaml'
    assert main(['scenario', 'generate', '--seed', str(SEEDS[7]), '--goals', '2', '--kind',
                 'rooms', '--out', str(out), '--world-out', str(world_out), '--no-camera',
                 '--navigation-config', str(NAVIGATION)]) == 0
    scenario = load_scenario(out)
    assert scenario.world_ref == '../worlds/w.yaml' and len(scenario.goals) == 2
    assert scenario.twin_overrides['camera.rate_hz'] == 0
    world = load_world(stack.world_file(scenario, tmp_path))
    assert world.name == f'gen_rooms_{SEEDS[7]}'
    start = np.array([scenario.start.x, scenario.start.y])
    assert _distance(world, *start) >= 0.8
    assert main(['scenario', 'generate', '--seed', '5', '--out', str(out),
                 '--navigation-config', str(NAVIGATION)]) == 2
