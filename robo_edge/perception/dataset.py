"""The floor-segmentation dataset, rendered by the twin and reproducible from one seed (pure).

Splits:
  train  random worlds (robo_edge.perception.randomise) with randomised looks and jitter
  val    other random worlds, never trained on: early stopping and the choice of checkpoint
  test   the shipped worlds as the twin renders them at run time: the held-out evaluation

Labels come from PyBullet's segmentation mask: 0 floor, 1 obstacle (every body that is not the
floor). Pixels that show nothing (the void past the floor's edge or the far plane) are labelled
obstacle: the model answers 'where may I drive', and the void is not drivable.
Shards, the manifest and their digests: robo_edge.perception.dataset_store (re-exported here).
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from robo_edge.perception.dataset_store import (  # re-exported: the tools read them from here
    ARRAYS,
    CLASSES,
    Frames,
    SplitWriter,
    class_fractions,
    load_manifest,
    load_shard,
    load_split,
    make_sample,
    manifest_digest,
    save_shard,
)
from robo_edge.perception.randomise import (
    FreeSpace,
    Looks,
    Region,
    free_space,
    random_jitter,
    random_looks,
    random_scene,
    sample_pose,
)
from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin import camera
from robo_edge.twin.config import CameraConfig, TwinConfig
from robo_edge.twin.scene import place_robot
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import World, parse_world
from robo_edge.twin.worldgen import generate_training_world

__all__ = ['ARRAYS', 'CLASSES', 'DatasetSpec', 'Frames', 'Task', 'class_fractions', 'generate',
           'load_manifest', 'load_shard', 'load_split', 'make_sample', 'manifest_digest',
           'render_task', 'render_world', 'save_shard', 'split_rng', 'training_world_seed']

GENERATOR = 'robo_edge.perception.dataset/2'  # 2: worldgen worlds among train and val
VAL_SEED_OFFSET = 50_000  # val worlds' generator seeds start here (train's at DatasetSpec.seed)
FLOOR = 0
OBSTACLE = 1
HELD_OUT_WORLDS = ('warehouse', 'corridors', 'cluttered_room', 'empty_room')
HEADLINE_WORLD = 'warehouse'
SPLIT_CODES = {'train': 1, 'val': 2, 'test': 3}
MIN_CLEARANCE = 0.01  # metres between the robot's links and any obstacle, checked by PyBullet
POSE_TRIES = 100

Progress = Callable[[str, int, int], None]  # split, frames done, frames in the split


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate: the seed, how many worlds and frames, the render size, the mix."""

    seed: int = 2024
    train_worlds: int = 96
    val_worlds: int = 12
    frames_per_world: int = 16
    held_out_frames: int = 48
    width: int = 320
    height: int = 240
    shard_frames: int = 200
    jitter_fraction: float = 0.7
    near_fraction: float = 0.35
    # Every Nth train and val world is drawn by the world generator (twin/worldgen.py) at a
    # training seed, the rest by randomise.random_scene (0: none). The generator's floor
    # materials (dark carpets, rubber) under dark walls are rare in random_scene's palette.
    worldgen_every: int = 3


def labels_from_mask(mask: np.ndarray, floor_body: int) -> np.ndarray:
    """Map PyBullet's body-id mask to class ids: the floor body is floor, the rest obstacle."""
    return np.where(mask == floor_body, FLOOR, OBSTACLE).astype(np.uint8)


def split_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Return the generator of one world of a split: independent of the other worlds' counts."""
    return np.random.default_rng(np.random.SeedSequence([seed, SPLIT_CODES[split], index]))


def held_out_looks() -> Looks:
    """Return the looks the twin uses at run time (its default camera)."""
    default = CameraConfig()
    return Looks(default.light_direction, default.noise_std)


def twin_config(looks: Looks, width: int, height: int) -> TwinConfig:
    """Return a twin configuration whose camera renders with the given looks and size."""
    return TwinConfig(camera=CameraConfig(
        width=width, height=height, noise_std=looks.noise_std,
        light_direction=looks.light_direction,
    ))


def clear_pose(twin: Twin, space: FreeSpace, rng: np.random.Generator, near: bool) -> Pose2D:
    """Draw poses until PyBullet finds the robot clear of every obstacle; leave it there."""
    for _ in range(POSE_TRIES):
        pose = sample_pose(space, rng, near)
        place_robot(twin.client, twin.frames, pose)
        twin.pose = pose
        if twin.update_clearance() > MIN_CLEARANCE:
            return pose
    raise ValueError(f'{twin.world.name}: no collision-free pose in {POSE_TRIES} tries')


def render_world(
    world: World, looks: Looks, region: Region | None, count: int, spec: DatasetSpec,
    urdf: Path, rng: np.random.Generator, jitter_fraction: float,
) -> Frames:
    """Render `count` labelled frames of one world from random collision-free poses."""
    space = free_space(world, region)
    config = twin_config(looks, spec.width, spec.height)
    twin = Twin(world, config, int(rng.integers(2**31)), Pose2D(0.0, 0.0, 0.0), urdf,
                render_segmentation=True)
    floor_body = next(b for b, name in twin.obstacle_names.items() if name == 'floor')
    images, labels, poses, void = [], [], [], []
    try:
        for _ in range(count):
            pose = clear_pose(twin, space, rng, near=bool(rng.random() < spec.near_fraction))
            reading = camera.render(twin)
            rgb = reading.rgb
            if rng.random() < jitter_fraction:
                rgb = random_jitter(rng).apply(rgb)
            images.append(rgb)
            labels.append(labels_from_mask(reading.segmentation, floor_body))
            poses.append((pose.x, pose.y, pose.yaw))
            void.append(int((reading.segmentation < 0).sum()))
    finally:
        twin.close()
    return Frames(
        np.stack(images), np.stack(labels), np.asarray(poses, dtype=np.float64),
        np.tile(np.asarray([*looks.light_direction, looks.noise_std]), (count, 1)),
        np.asarray(void, dtype=np.int64), np.asarray([world.name] * count),
    )


@dataclass(frozen=True)
class Task:
    """One world to render: random (train/val) or a shipped one (test)."""

    split: str
    index: int
    spec: DatasetSpec
    urdf: Path
    world: World | None = None  # a shipped world; None draws a random one


def training_world_seed(spec: DatasetSpec, split: str, index: int) -> int:
    """Return the world generator's seed of a train or val world (a training seed)."""
    return spec.seed + (0 if split == 'train' else VAL_SEED_OFFSET) + index


def render_task(task: Task) -> Frames:
    """Render one world's frames (a top-level function, so worker processes can run it)."""
    spec = task.spec
    rng = split_rng(spec.seed, task.split, task.index)
    if task.world is not None:
        return render_world(task.world, held_out_looks(), None, spec.held_out_frames, spec,
                            task.urdf, rng, 0.0)
    every = spec.worldgen_every
    if every and task.index % every == every - 1:
        seed = training_world_seed(spec, task.split, task.index)
        doc = generate_training_world(seed)
        world = parse_world(doc, f'generated training seed {seed}')
        return render_world(world, random_looks(rng), None, spec.frames_per_world, spec,
                            task.urdf, rng, spec.jitter_fraction if task.split == 'train' else 0.5)
    scene = random_scene(rng, f'{task.split}_{task.index:04d}')
    jitter = spec.jitter_fraction if task.split == 'train' else 0.5
    return render_world(scene.world, scene.looks, scene.region, spec.frames_per_world, spec,
                        task.urdf, rng, jitter)


def generate(
    spec: DatasetSpec, out_dir: Path, held_out: Mapping[str, World], urdf: Path,
    progress: Progress | None = None, mapper: Callable = map,
) -> dict[str, object]:
    """Render every split into `out_dir` and write manifest.json; return the manifest.

    `held_out` maps each shipped world's name to its World: those are rendered for the test
    split only, with the twin's run-time looks and no jitter. `mapper` runs the per-world
    renders (an executor's ordered `map` spreads them over processes; the data are the same).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [Task('train', i, spec, urdf) for i in range(spec.train_worlds)]
    tasks += [Task('val', i, spec, urdf) for i in range(spec.val_worlds)]
    tasks += [Task('test', i, spec, urdf, world) for i, world in enumerate(held_out.values())]
    names = ['train'] * spec.train_worlds + ['val'] * spec.val_worlds
    names += [f'test_{name}' for name in held_out]
    totals = {'train': spec.train_worlds * spec.frames_per_world,
              'val': spec.val_worlds * spec.frames_per_world,
              **{f'test_{name}': spec.held_out_frames for name in held_out}}
    writers: dict[str, SplitWriter] = {}
    for name, frames in zip(names, mapper(render_task, tasks), strict=True):
        writer = writers.setdefault(name, SplitWriter(out_dir, name, spec.shard_frames))
        writer.add(frames)
        if progress:
            progress(name, writer.frames, totals[name])
    splits: dict[str, dict[str, object]] = {}
    for name, writer in writers.items():
        writer.flush()
        worlds = {'train': spec.train_worlds, 'val': spec.val_worlds}.get(name, 1)
        splits[name] = {'worlds': worlds, **writer.summary()}
    manifest = {
        'generator': GENERATOR,
        'seed': spec.seed,
        'spec': asdict(spec),
        'classes': list(CLASSES),
        'void_label': CLASSES[OBSTACLE],
        'held_out_worlds': list(held_out),
        'headline_world': HEADLINE_WORLD if HEADLINE_WORLD in held_out else next(iter(held_out)),
        'splits': splits,
        'frames': sum(int(s['frames']) for s in splits.values()),
        'sha256': manifest_digest(splits),
    }
    (out_dir / 'manifest.json').write_text(json.dumps(manifest, indent=2) + '\n')
    return manifest
