"""Score a virtual scan against the twin's LiDAR, on views rendered from the twin (no ROS).

Used by the ground-truth test and bench/perception.py: place the robot at a pose, render the
camera (with PyBullet's segmentation) and cast the LiDAR, and compare ranges where both
sensors look. The LiDAR sits on base_link's z axis (sim/robot/diff_drive.urdf), so its beam
angles are base_link bearings, like the virtual scan's.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from robo_edge.perception.virtual_scan import (
    CameraGeometry,
    Intrinsics,
    MountPose,
    VirtualScan,
    floor_margin_from_labels,
)
from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin import camera
from robo_edge.twin.readings import ImageReading, ScanReading
from robo_edge.twin.scene import place_robot
from robo_edge.twin.sim import Twin

MIN_CLEARANCE_M = 0.3


@dataclass(frozen=True)
class View:
    """One rendered view: the image, the ground-truth floor mask and the LiDAR scan."""

    pose: Pose2D
    image: ImageReading
    floor: np.ndarray  # (H, W) bool at the camera's resolution
    scan: ScanReading


@dataclass(frozen=True)
class ScanErrors:
    """Range errors of the virtual scan against the LiDAR on the LiDAR's beams.

    `errors` holds |virtual - lidar| on beams inside the camera's grid where the LiDAR sees an
    obstacle within `max_range` and the virtual scan has a range; `missed` counts such beams
    where the virtual scan has none (inf or NaN), `phantom` beams where the virtual scan sees
    an obstacle within `max_range` and the LiDAR sees nothing within 2 x `max_range`.
    """

    errors: np.ndarray
    missed: int
    phantom: int
    beams: int


def teleport(twin: Twin, pose: Pose2D) -> None:
    """Place the robot, base_link on the floor, at `pose` without stepping the twin."""
    place_robot(twin.client, twin.frames, pose)
    twin.pose = pose


def render_view(twin: Twin, pose: Pose2D) -> View:
    """Teleport to `pose` and return the camera frame, its floor mask and the LiDAR scan."""
    if not twin.render_segmentation:
        raise ValueError('render_view needs a Twin(..., render_segmentation=True)')
    teleport(twin, pose)
    image = camera.render(twin)
    floor = image.segmentation == twin.camera_model.floor_body
    return View(pose, image, floor, twin.scan())


def free_poses(twin: Twin, count: int, rng: np.random.Generator,
               spread_m: float = 1.5) -> list[Pose2D]:
    """Return `count` poses near the world's spawn hints with clearance, headings at random."""
    hints = twin.world.spawn_hints or ((0.0, 0.0, 0.0),)
    poses: list[Pose2D] = []
    for _ in range(count * 50):
        if len(poses) == count:
            break
        hint = hints[len(poses) % len(hints)]
        pose = Pose2D(hint[0] + rng.uniform(-spread_m, spread_m),
                      hint[1] + rng.uniform(-spread_m, spread_m), rng.uniform(-np.pi, np.pi))
        teleport(twin, pose)
        if twin.update_clearance() >= MIN_CLEARANCE_M:
            poses.append(pose)
    return poses


def twin_intrinsics(view: View) -> Intrinsics:
    """Return the intrinsics of the twin's render (what its CameraInfo announces)."""
    k = view.image.intrinsics
    return Intrinsics(k.width, k.height, k.fx, k.fy, k.cx, k.cy)


def ground_truth_margin(floor: np.ndarray, width: int, height: int) -> np.ndarray:
    """Return the floor margin of a ground-truth mask at width x height.

    Downsampling averages the floor indicator over each output pixel (area interpolation, as
    the model's input is made), so the margin 2 p - 1 keeps the boundary's sub-pixel position.
    """
    if floor.shape == (height, width):
        return floor_margin_from_labels(floor)
    share = cv2.resize(floor.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    return 2.0 * share - 1.0


def geometry_for(view: View, width: int, height: int, mount: MountPose) -> CameraGeometry:
    """Return the camera geometry of a view at width x height."""
    return CameraGeometry(twin_intrinsics(view).scaled(width, height), mount)


def compare(virtual: VirtualScan, lidar: ScanReading, max_range: float = 4.0) -> ScanErrors:
    """Compare a virtual scan with the LiDAR on the LiDAR beams inside the virtual grid."""
    grid = virtual.grid
    beams = len(lidar.ranges)
    angles = lidar.angle_min + lidar.angle_increment * np.arange(beams)
    angles = (angles + np.pi) % (2 * np.pi) - np.pi
    inside = (angles >= grid.angle_min) & (angles <= grid.angle_max)
    index = np.rint((angles[inside] - grid.angle_min) / grid.angle_increment).astype(int)
    ours = np.asarray(virtual.ranges, float)[index]
    theirs = np.asarray(lidar.ranges, float)[inside]
    seen = np.isfinite(theirs) & (theirs <= max_range)
    valid = np.isfinite(ours)
    phantom = valid & (ours <= max_range) & ~(np.isfinite(theirs) & (theirs <= 2 * max_range))
    return ScanErrors(np.abs(ours[seen & valid] - theirs[seen & valid]),
                      int(np.count_nonzero(seen & ~valid)), int(np.count_nonzero(phantom)),
                      int(np.count_nonzero(inside)))
