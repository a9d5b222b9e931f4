"""The segmentation dataset core: reproducible from a seed, valid worlds, clear poses, labels."""

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.perception import dataset as ds
from robo_edge.perception.randomise import (
    NEAR_BAND,
    NO_JITTER,
    ROBOT_RADIUS,
    Jitter,
    free_space,
    random_jitter,
    random_scene,
    sample_pose,
)
from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin.scene import place_robot
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import load_world

REPO = Path(__file__).resolve().parents[2]
URDF = REPO / 'sim' / 'robot' / 'diff_drive.urdf'
SAMPLE = REPO / 'test' / 'data' / 'perception_sample.npz'
EMPTY_ROOM = load_world(REPO / 'sim' / 'worlds' / 'empty_room.yaml')
TINY = ds.DatasetSpec(seed=11, train_worlds=1, val_worlds=1, frames_per_world=2,
                      held_out_frames=2, width=64, height=48, shard_frames=3)


def generate(tmp_path: Path, seed: int) -> dict:
    spec = ds.DatasetSpec(**{**TINY.__dict__, 'seed': seed})
    return ds.generate(spec, tmp_path / str(seed), {'empty_room': EMPTY_ROOM}, URDF)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp('tiny')
    return root / '11', generate(root, 11)


def test_same_seed_same_hash_other_seed_other_hash(tiny, tmp_path: Path) -> None:
    _, first = tiny
    again = generate(tmp_path, 11)
    other = generate(tmp_path, 12)
    assert again['sha256'] == first['sha256']
    assert again['splits'] == first['splits']
    assert other['sha256'] != first['sha256']


def test_manifest_counts_shards_and_digests(tiny) -> None:
    root, manifest = tiny
    assert manifest['generator'] == ds.GENERATOR
    assert manifest['seed'] == 11
    assert manifest['frames'] == 2 + 2 + 2
    assert [s['frames'] for s in manifest['splits']['train']['shards']] == [2]
    for split, summary in manifest['splits'].items():
        frames = ds.load_split(root, split)  # checks every shard's digest
        assert len(frames) == summary['frames']
        fractions = summary['class_fractions']
        assert fractions['floor'] + fractions['obstacle'] == pytest.approx(1.0)


def test_labels_are_floor_or_obstacle_and_shipped_worlds_only_in_test(tiny) -> None:
    root, manifest = tiny
    for split in manifest['splits']:
        frames = ds.load_split(root, split)
        assert frames.images.dtype == np.uint8 and frames.images.shape[1:] == (48, 64, 3)
        assert frames.labels.dtype == np.uint8
        assert set(np.unique(frames.labels)) <= {ds.FLOOR, ds.OBSTACLE}
        names = set(frames.worlds.tolist())
        if split.startswith('test_'):
            assert names == {'empty_room'}
        else:
            assert all(name.startswith(split + '_') for name in names)
    test = ds.load_split(root, 'test_empty_room')
    assert (test.labels == ds.FLOOR).any() and (test.labels == ds.OBSTACLE).any()


def test_a_changed_shard_fails_its_digest(tiny, tmp_path: Path) -> None:
    root, manifest = tiny
    frames = ds.load_split(root, 'val')
    frames.images[0, 0, 0, 0] ^= 1
    assert frames.digest() != manifest['splits']['val']['shards'][0]['sha256']


def test_mask_to_labels_floor_body_is_floor_everything_else_obstacle() -> None:
    mask = np.array([[-1, 0, 3], [0, 7, 0]])
    labels = ds.labels_from_mask(mask, floor_body=0)
    assert labels.dtype == np.uint8
    assert labels.tolist() == [[1, 0, 1], [0, 1, 0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_worlds_are_valid(seed: int) -> None:
    scene = random_scene(np.random.default_rng(seed), 'w')
    world = scene.world
    assert world.boxes or world.cylinders
    for box in world.boxes:
        assert all(s > 0 for s in box.size)
        assert all(0.0 <= c <= 1.0 for c in box.color)
    for cyl in world.cylinders:
        assert cyl.radius > 0 and cyl.height > 0
        assert all(0.0 <= c <= 1.0 for c in cyl.color)
    assert all(0.0 <= c <= 1.0 for c in world.floor_color)
    xmin, ymin, xmax, ymax = scene.region
    assert xmin < xmax and ymin < ymax
    # The floor (centred at the origin) covers the whole region the robot stands in.
    assert world.floor_size[0] / 2 >= max(abs(xmin), abs(xmax))
    assert world.floor_size[1] / 2 >= max(abs(ymin), abs(ymax))
    assert len({b.name for b in world.boxes} | {c.name for c in world.cylinders}) == (
        len(world.boxes) + len(world.cylinders))
    assert scene.looks.light_direction[2] > 0 and scene.looks.noise_std >= 0
    assert free_space(world, scene.region).allowed.any()


def test_sampled_poses_are_collision_free_and_near_ones_are_near() -> None:
    for seed in range(4):
        rng = np.random.default_rng(seed)
        scene = random_scene(rng, f'w{seed}')
        space = free_space(scene.world, scene.region)
        twin = Twin(scene.world, ds.twin_config(scene.looks, 32, 24), seed,
                    Pose2D(0.0, 0.0, 0.0), URDF)
        try:
            for i in range(20):
                near = i % 2 == 0
                pose = sample_pose(space, rng, near)
                xmin, ymin, xmax, ymax = scene.region
                assert xmin <= pose.x <= xmax and ymin <= pose.y <= ymax
                assert -math.pi <= pose.yaw <= math.pi
                place_robot(twin.client, twin.frames, pose)
                clearance = twin.update_clearance()
                assert clearance > 0.0, (seed, pose)
                if near:
                    assert clearance <= NEAR_BAND + 0.1
        finally:
            twin.close()


def test_shipped_world_poses_stay_inside_its_walls() -> None:
    space = free_space(EMPTY_ROOM)
    rng = np.random.default_rng(3)
    for _ in range(50):
        pose = sample_pose(space, rng, near=False)
        assert -4 + ROBOT_RADIUS < pose.x < 4 - ROBOT_RADIUS
        assert -4 + ROBOT_RADIUS < pose.y < 4 - ROBOT_RADIUS


def test_jitter_keeps_uint8_and_identity_is_identity() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    assert np.array_equal(NO_JITTER.apply(rgb), rgb)
    out = random_jitter(np.random.default_rng(1)).apply(rgb)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert Jitter(40.0, 1.0, (1.0, 1.0, 1.0)).apply(rgb).mean() > rgb.mean()


def test_committed_sample_loads() -> None:
    with np.load(SAMPLE, allow_pickle=False) as data:
        sample = ds.Frames(*(data[name] for name in ds.ARRAYS))
        digest = str(data['sha256'])
    assert SAMPLE.stat().st_size < 300_000
    assert sample.digest() == digest
    assert sample.images.dtype == np.uint8 and sample.images.shape[1:] == (120, 160, 3)
    assert sample.labels.shape == sample.images.shape[:3]
    assert set(np.unique(sample.labels)) == {ds.FLOOR, ds.OBSTACLE}
    assert set(sample.worlds.tolist()) <= set(ds.HELD_OUT_WORLDS)
