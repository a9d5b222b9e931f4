"""The floor-segmentation dataset, rendered by the twin and reproducible from one seed (pure).

Splits:
  train  random worlds (robo_edge.perception.randomise) with randomised looks and jitter
  val    other random worlds, never trained on: early stopping and the choice of checkpoint
  test   the shipped worlds as the twin renders them at run time: the held-out evaluation

Labels come from PyBullet's segmentation mask: 0 floor, 1 obstacle (every body that is not the
floor). Pixels that show nothing (the void past the floor's edge or the far plane) are labelled
obstacle: the model answers 'where may I drive', and the void is not drivable.
Shards are compressed .npz files; the manifest records the seed, the generator, the counts,
the class balance and a SHA-256 over the arrays (not over the zip files, which carry dates).
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from robo_edge.perception.evaluation import resize_image, resize_labels
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

GENERATOR = 'robo_edge.perception.dataset/2'  # 2: worldgen worlds among train and val
VAL_SEED_OFFSET = 50_000  # val worlds' generator seeds start here (train's at DatasetSpec.seed)
CLASSES = ('floor', 'obstacle')
FLOOR = 0
OBSTACLE = 1
HELD_OUT_WORLDS = ('warehouse', 'corridors', 'cluttered_room', 'empty_room')
HEADLINE_WORLD = 'warehouse'
SPLIT_CODES = {'train': 1, 'val': 2, 'test': 3}
MIN_CLEARANCE = 0.01  # metres between the robot's links and any obstacle, checked by PyBullet
POSE_TRIES = 100
ARRAYS = ('images', 'labels', 'poses', 'looks', 'void', 'worlds')

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


@dataclass(frozen=True)
class Frames:
    """Frames of one shard or split, index-aligned.

    images (N, H, W, 3) uint8 rgb; labels (N, H, W) uint8; poses (N, 3) float64 x, y, yaw;
    looks (N, 4) float64 light direction and noise std; void (N,) int64 pixels that show
    nothing (labelled obstacle); worlds (N,) str world names.
    """

    images: np.ndarray
    labels: np.ndarray
    poses: np.ndarray
    looks: np.ndarray
    void: np.ndarray
    worlds: np.ndarray

    def __len__(self) -> int:
        """Return the number of frames."""
        return int(self.images.shape[0])

    @staticmethod
    def concat(parts: list['Frames']) -> 'Frames':
        """Join frames in order."""
        return Frames(*(np.concatenate([getattr(p, name) for p in parts]) for name in ARRAYS))

    def take(self, index: np.ndarray | slice) -> 'Frames':
        """Return a subset of the frames."""
        return Frames(*(getattr(self, name)[index] for name in ARRAYS))

    def digest(self) -> str:
        """Return the SHA-256 of the arrays' bytes, in a fixed order."""
        h = hashlib.sha256()
        for name in ARRAYS[:-1]:
            array = np.ascontiguousarray(getattr(self, name))
            h.update(f'{name}{array.dtype.str}{array.shape}'.encode())
            h.update(array.tobytes())
        h.update('\n'.join(str(w) for w in self.worlds).encode())
        return h.hexdigest()


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


def save_shard(path: Path, frames: Frames) -> str:
    """Write one compressed shard; return its digest."""
    np.savez_compressed(path, **{name: getattr(frames, name) for name in ARRAYS})
    return frames.digest()


def load_shard(path: Path) -> Frames:
    """Read one shard."""
    with np.load(path, allow_pickle=False) as data:
        return Frames(*(data[name] for name in ARRAYS))


def class_fractions(frames: Frames) -> dict[str, float]:
    """Return the share of pixels per class, and of void pixels (counted in obstacle)."""
    counts = np.bincount(frames.labels.ravel(), minlength=len(CLASSES)).astype(np.float64)
    fractions = {name: float(counts[i] / counts.sum()) for i, name in enumerate(CLASSES)}
    fractions['void_in_obstacle'] = float(frames.void.sum() / counts.sum())
    return fractions


class _SplitWriter:
    """Collect frames of one split and write them in shards of a fixed size."""

    def __init__(self, out_dir: Path, split: str, shard_frames: int) -> None:
        self.out_dir = out_dir
        self.split = split
        self.shard_frames = shard_frames
        self.pending: list[Frames] = []
        self.shards: list[dict[str, object]] = []
        self.fraction_sums = np.zeros(len(CLASSES) + 1)
        self.frames = 0

    def add(self, frames: Frames) -> None:
        self.pending.append(frames)
        self.frames += len(frames)
        while sum(len(f) for f in self.pending) >= self.shard_frames:
            self.flush(final=False)

    def flush(self, final: bool = True) -> None:
        if not self.pending:
            return
        frames = Frames.concat(self.pending)
        keep = len(frames) if final else self.shard_frames
        self._write(frames.take(slice(0, keep)))
        rest = frames.take(slice(keep, None))
        self.pending = [rest] if len(rest) else []
        if final and self.pending:
            self.flush()

    def _write(self, frames: Frames) -> None:
        name = f'{self.split}-{len(self.shards):03d}.npz'
        digest = save_shard(self.out_dir / name, frames)
        self.shards.append({'file': name, 'frames': len(frames), 'sha256': digest})
        fractions = class_fractions(frames)
        self.fraction_sums += len(frames) * np.asarray(list(fractions.values()))

    def summary(self) -> dict[str, object]:
        keys = [*CLASSES, 'void_in_obstacle']
        fractions = self.fraction_sums / max(self.frames, 1)
        return {'frames': self.frames, 'shards': self.shards,
                'class_fractions': {
                    k: round(float(v), 6) for k, v in zip(keys, fractions, strict=True)}}


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
    writers: dict[str, _SplitWriter] = {}
    for name, frames in zip(names, mapper(render_task, tasks), strict=True):
        writer = writers.setdefault(name, _SplitWriter(out_dir, name, spec.shard_frames))
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


def manifest_digest(splits: Mapping[str, Mapping[str, object]]) -> str:
    """Return one SHA-256 over every shard's name and digest, in split order."""
    h = hashlib.sha256()
    for split, summary in splits.items():
        for shard in summary['shards']:  # type: ignore[union-attr]
            h.update(f'{split}/{shard["file"]}:{shard["sha256"]}\n'.encode())
    return h.hexdigest()


def load_manifest(data_dir: Path) -> dict[str, object]:
    """Read a dataset's manifest."""
    return json.loads((data_dir / 'manifest.json').read_text())


def load_split(data_dir: Path, split: str, verify: bool = True) -> Frames:
    """Read every shard of a split, checking each against the manifest's digest."""
    manifest = load_manifest(data_dir)
    parts = []
    for shard in manifest['splits'][split]['shards']:
        frames = load_shard(data_dir / shard['file'])
        if verify and frames.digest() != shard['sha256']:
            raise ValueError(f'{data_dir / shard["file"]}: digest differs from the manifest')
        parts.append(frames)
    return Frames.concat(parts)


def make_sample(frames: Frames, count: int, width: int, height: int) -> dict[str, np.ndarray]:
    """Pick `count` evenly spaced frames, brought to the model's input size, for tests.

    Returns the arrays of the sample file: images, labels, poses, worlds and its digest.
    """
    index = np.linspace(0, len(frames) - 1, count).round().astype(int)
    chosen = frames.take(index)
    small = Frames(
        np.stack([resize_image(im, width, height) for im in chosen.images]),
        np.stack([resize_labels(lb, width, height) for lb in chosen.labels]),
        chosen.poses, chosen.looks, chosen.void, chosen.worlds,
    )
    return {**{name: getattr(small, name) for name in ARRAYS},
            'sha256': np.asarray(small.digest())}
