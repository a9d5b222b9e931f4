"""Ground truth in the twin: the virtual scan of the true floor mask matches the LiDAR.

The twin renders the camera with PyBullet's segmentation; the floor is composited analytically
(robo_edge.twin.floor) and labelled with the floor body's id there. The virtual scan of that
mask, at the model's resolution, must agree with the LiDAR where both look.
"""

from pathlib import Path

import numpy as np
import pytest

from robo_edge.perception.evaluate import (
    compare,
    free_poses,
    geometry_for,
    ground_truth_margin,
    render_view,
    teleport,
)
from robo_edge.perception.virtual_scan import MountPose, ScanConfig, column_grid, virtual_scan
from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin.config import TwinConfig
from robo_edge.twin.scene import link_pose
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import load_world

REPO = Path(__file__).resolve().parents[2]
URDF = REPO / 'sim' / 'robot' / 'diff_drive.urdf'
CONFIG = ScanConfig(range_min=0.1, range_max=4.0, min_obstacle_rows=2)


def make_twin(world: str) -> Twin:
    return Twin(load_world(REPO / 'sim' / 'worlds' / f'{world}.yaml'), TwinConfig(), 0,
                Pose2D(0.0, 0.0, 0.0), URDF, render_segmentation=True)


@pytest.fixture(scope='module', params=['empty_room', 'cluttered_room', 'corridors'])
def twin(request):
    instance = make_twin(request.param)
    yield instance
    instance.close()


def test_teleport_keeps_the_sensors_at_their_urdf_heights(twin):
    teleport(twin, Pose2D(0.3, -0.2, 1.0))
    camera_xyz, _ = link_pose(twin.client, twin.frames, 'camera_link')
    laser_xyz, _ = link_pose(twin.client, twin.frames, 'laser')
    assert camera_xyz[2] == pytest.approx(0.42, abs=1e-4)
    assert laser_xyz[2] == pytest.approx(0.27, abs=1e-4)
    assert camera_xyz[0] == pytest.approx(0.3 + 0.12 * np.cos(1.0), abs=1e-4)


def test_ground_truth_floor_label_is_the_composited_floor(twin):
    view = render_view(twin, free_poses(twin, 1, np.random.default_rng(3))[0])
    assert 0.02 < view.floor.mean() < 0.9
    floor_rgb = twin.camera_model.floor_rgb.astype(int)
    # Floor pixels carry the floor's shade (plus the camera's noise); others mostly do not.
    floor_error = np.abs(view.image.rgb[view.floor].astype(int) - floor_rgb).max(axis=1)
    assert np.median(floor_error) <= 6


def test_virtual_scan_of_the_true_mask_matches_the_lidar(twin):
    poses = free_poses(twin, 8, np.random.default_rng(7))
    assert len(poses) == 8
    errors, missed, seen = [], 0, 0
    for pose in poses:
        view = render_view(twin, pose)
        geometry = geometry_for(view, 160, 120, MountPose())
        grid = column_grid(geometry, CONFIG)
        scan = virtual_scan(ground_truth_margin(view.floor, 160, 120), geometry, grid, CONFIG)
        result = compare(scan, view.scan, max_range=4.0)
        errors.append(result.errors)
        missed += result.missed
        seen += len(result.errors) + result.missed
    errors = np.concatenate(errors)
    assert seen > 50, 'the poses should face obstacles within 4 m'
    assert np.median(errors) <= 0.10
    assert missed <= 0.1 * seen
