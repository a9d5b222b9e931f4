"""The seeded world generator: loadable, closed, open passages, reproducible, evaluation seeds."""

import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import ndimage

from robo_edge.cli import main
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.robot.profile import load_profile
from robo_edge.twin.config import flatten_defaults, from_flat
from robo_edge.twin.goalgen import footprint_from_config
from robo_edge.twin.raster import OCCUPIED, rasterise
from robo_edge.twin.world import World, load_world, parse_world
from robo_edge.twin.worldgen import (
    EVALUATION_SEEDS,
    KINDS,
    TRAINING_DATASET_SEED,
    TRAINING_SEEDS,
    check_evaluation_seed,
    generate_lighting,
    generate_training_world,
    generate_world,
    write_world,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS = list(EVALUATION_SEEDS[:30])


@cache
def _doc(seed: int, kind: str | None = None) -> dict:
    return generate_world(seed, kind)


@cache
def _world(seed: int, kind: str | None = None) -> World:
    return parse_world(_doc(seed, kind), f'seed {seed}')


def _footprint() -> tuple[float, float]:
    return footprint_from_config(yaml.safe_load((REPO / 'config/navigation.yaml').read_text()),
                                 load_profile(REPO / 'config/robot/default.yaml'))


def _distance(world: World, x: float, y: float) -> float:
    """Exact distance from a point to the nearest box or cylinder (independent of worldgen)."""
    out = []
    for box in world.boxes:
        c, s = math.cos(box.yaw), math.sin(box.yaw)
        u, v = c * (x - box.x) + s * (y - box.y), -s * (x - box.x) + c * (y - box.y)
        out.append(math.hypot(max(abs(u) - box.size[0] / 2, 0), max(abs(v) - box.size[1] / 2, 0)))
    out += [math.hypot(x - c.x, y - c.y) - c.radius for c in world.cylinders]
    return min(out)


def _labels_at(world: World, inflation: float, points: list) -> tuple[set[int], np.ndarray]:
    grid = rasterise(world, 0.05)
    blocked = inflate(grid, InflationParams(inflation, 0.0)).blocked
    labels, _ = ndimage.label(~blocked)
    cells = [grid.world_to_cell(p[0], p[1]) for p in points]
    return {int(labels[row, col]) for col, row in cells}, labels


@pytest.mark.parametrize('seed', SEEDS)
def test_world_loads_through_the_loader_and_names_its_seed(seed: int, tmp_path: Path) -> None:
    doc = _doc(seed)
    path = write_world(doc, tmp_path / 'w.yaml')
    world = load_world(path)
    kind = world.name.split('_')[1]
    assert world.name == f'gen_{kind}_{seed}' and kind in KINDS
    assert str(seed) in world.description and kind in world.description
    assert world == parse_world(doc, str(path))
    assert len(world.boxes) >= 5 and world.spawn_hints


@pytest.mark.parametrize('seed', SEEDS)
def test_world_is_closed_and_the_floor_covers_it(seed: int) -> None:
    world = _world(seed)
    grid = rasterise(world, 0.05)
    # 8-connected free space: a leak through a diagonal gap counts.
    labels, _ = ndimage.label(grid.data != OCCUPIED, structure=np.ones((3, 3)))
    inside = {int(labels[row, col]) for col, row in
              (grid.world_to_cell(x, y) for x, y, _ in world.spawn_hints)}
    border = set(labels[0]) | set(labels[-1]) | set(labels[:, 0]) | set(labels[:, -1])
    assert inside and not inside & {int(b) for b in border}
    xmin, ymin, xmax, ymax = world.bounds(0.0)
    assert world.floor_size[0] / 2 >= max(-xmin, xmax) + 1.0
    assert world.floor_size[1] / 2 >= max(-ymin, ymax) + 1.0


@pytest.mark.parametrize('seed', SEEDS)
def test_spawn_hints_are_clear_and_connected_for_the_robot(seed: int) -> None:
    world = _world(seed)
    for x, y, yaw in world.spawn_hints:
        assert _distance(world, x, y) >= 0.8 - 1e-9 and -math.pi <= yaw <= math.pi
    radius, margin = _footprint()
    found, _ = _labels_at(world, radius + margin, list(world.spawn_hints))
    assert len(found) == 1 and 0 not in found


def _doorways(doc: dict) -> list[float]:
    """Clear gaps between collinear wall pieces: the doorways."""
    lines: dict[tuple, list[tuple[float, float, float]]] = {}
    for o in doc['world']['obstacles']:
        if o['type'] != 'wall':
            continue
        (x0, y0), (x1, y1) = o['from'], o['to']
        axis = 0 if x0 == x1 else 1
        assert (x0 == x1) != (y0 == y1), 'generated walls are axis-aligned'
        along = sorted((y0, y1) if axis == 0 else (x0, x1))
        lines.setdefault((axis, x0 if axis == 0 else y0), []).append((*along, o['thickness']))
    gaps = []
    for pieces in lines.values():
        pieces.sort()
        gaps += [b[0] - a[1] - a[2] for a, b in zip(pieces, pieces[1:], strict=False)]
    return gaps


@pytest.mark.parametrize('kind', ['rooms', 'corridor'])
def test_doorways_are_0_8_to_1_0_m(kind: str) -> None:
    gaps = [g for seed in SEEDS[:10] for g in _doorways(_doc(seed, kind))]
    assert len(gaps) >= 10
    assert all(0.8 - 2e-3 <= g <= 1.0 + 2e-3 for g in gaps), gaps


@pytest.mark.parametrize('kind', KINDS)
def test_every_kind_is_closed_connected_and_narrow_enough_to_matter(kind: str) -> None:
    for seed in SEEDS[:6]:
        world = _world(seed, kind)
        assert world.name == f'gen_{kind}_{seed}'
        # A disc of 0.8 m passes everywhere between spawn points...
        found, _ = _labels_at(world, 0.35, list(world.spawn_hints))
        assert len(found) == 1 and 0 not in found
        if kind in ('rooms', 'corridor'):
            # ...but a 1.2 m disc is stopped by the doorways: the rooms really are separate.
            found, _ = _labels_at(world, 0.6, list(world.spawn_hints))
            assert len(found) >= 2 and 0 not in found


def test_clutter_heights_poles_and_dark_floors_occur() -> None:
    worlds = [_world(seed) for seed in SEEDS]
    heights = [c.height for w in worlds for c in w.cylinders] + [
        b.size[2] for w in worlds for b in w.boxes]
    assert min(heights) >= 0.3
    assert sum(0.3 <= h <= 0.5 for h in heights) >= 5
    assert any(0.02 <= c.radius <= 0.05 for w in worlds for c in w.cylinders)
    assert any(max(w.floor_color) < 0.25 for w in worlds)
    assert any(min(w.floor_color) > 0.5 for w in worlds)
    assert {w.name.split('_')[1] for w in worlds} == set(KINDS)


def test_same_seed_same_world_and_seeds_differ() -> None:
    assert generate_world(SEEDS[3]) == _doc(SEEDS[3])
    assert generate_world(SEEDS[3], 'hall') == _doc(SEEDS[3], 'hall')
    layouts = [yaml.safe_dump(_doc(s)['world']['obstacles']) for s in SEEDS]
    assert len(set(layouts)) == len(SEEDS)
    assert _doc(SEEDS[0], 'hall') != _doc(SEEDS[1], 'hall')


@pytest.mark.parametrize('seed', [0, 7, 95, TRAINING_DATASET_SEED, 99_999, -1, 2**31])
def test_training_and_out_of_range_seeds_are_refused(seed: int) -> None:
    with pytest.raises(ValueError, match='seed'):
        generate_world(seed)
    with pytest.raises(ValueError, match='training' if 0 <= seed < 100_000 else 'evaluation'):
        check_evaluation_seed(seed)


def test_evaluation_seeds_are_disjoint_from_the_perception_training_seeds() -> None:
    from robo_edge.perception.dataset import DatasetSpec, split_rng

    spec = DatasetSpec()
    assert spec.seed == TRAINING_DATASET_SEED and spec.seed in TRAINING_SEEDS
    assert max(spec.train_worlds, spec.val_worlds) in TRAINING_SEEDS
    assert not set(TRAINING_SEEDS) & set(EVALUATION_SEEDS[:1000])
    assert check_evaluation_seed(EVALUATION_SEEDS[0]) == 100_000
    with pytest.raises(ValueError):
        check_evaluation_seed(True)
    # The training worlds' random streams are not the evaluation worlds' streams.
    trained = {tuple(split_rng(spec.seed, split, i).random(4))
               for split, n in (('train', spec.train_worlds), ('val', spec.val_worlds))
               for i in range(n)}
    assert not trained & {tuple(np.random.default_rng(s).random(4)) for s in SEEDS}


def test_lighting_is_a_valid_twin_setting_drawn_from_the_seed() -> None:
    light = generate_lighting(SEEDS[0])
    assert set(light) == {'camera.light_direction'} and set(light) <= set(flatten_defaults())
    config = from_flat(light)
    assert config.camera.light_direction[2] > 0
    assert generate_lighting(SEEDS[0]) == light != generate_lighting(SEEDS[1])
    assert 'light' not in yaml.safe_dump(_doc(SEEDS[0]))


def test_cli_world_generate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / 'gen.yaml'
    assert main(['world', 'generate', '--seed', str(SEEDS[2]), '--kind', 'aisles',
                 '--out', str(out)]) == 0
    assert load_world(out).name == f'gen_aisles_{SEEDS[2]}'
    assert out.name in capsys.readouterr().out
    assert main(['world', 'generate', '--seed', str(SEEDS[2])]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert parse_world(printed, 'x') == parse_world(_doc(SEEDS[2]), 'x')
    assert main(['world', 'generate', '--seed', '2024']) == 2
    assert 'training' in capsys.readouterr().err
    assert main(['world', 'generate', '--seed', str(SEEDS[2]), '--kind', 'maze']) == 2


@pytest.mark.parametrize('seed', [100_000, 100_012, -1, True, 2.0])
def test_the_training_side_refuses_evaluation_and_bad_seeds(seed) -> None:
    with pytest.raises(ValueError, match='training seeds'):
        generate_training_world(seed)


def test_the_perception_data_draw_generator_worlds_at_training_seeds_only() -> None:
    from robo_edge.perception.dataset import DatasetSpec, training_world_seed

    spec = DatasetSpec()
    seeds = [training_world_seed(spec, split, i)
             for split, n in (('train', 288), ('val', spec.val_worlds)) for i in range(n)
             if i % spec.worldgen_every == spec.worldgen_every - 1]
    assert len(seeds) == 96 + 4 and len(set(seeds)) == len(seeds)
    assert all(seed in TRAINING_SEEDS for seed in seeds)
    doc = generate_training_world(seeds[0])
    assert parse_world(doc, 'training').boxes  # a world of the same generator
