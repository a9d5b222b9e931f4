"""Render the robot's camera with PyBullet's TinyRenderer, with true pinhole intrinsics."""

from typing import TYPE_CHECKING

import numpy as np
import pybullet as pb

from robo_edge.twin.readings import CameraIntrinsics, ImageReading
from robo_edge.twin.scene import link_pose, vertical_fov_to_focal

if TYPE_CHECKING:
    from robo_edge.twin.sim import Twin


def intrinsics(width: int, height: int, vertical_fov_deg: float) -> CameraIntrinsics:
    """Return the intrinsics of an OpenGL perspective render (square pixels, centred axis)."""
    focal = vertical_fov_to_focal(height, vertical_fov_deg)
    return CameraIntrinsics(width, height, focal, focal, (width - 1) / 2, (height - 1) / 2)


def render(twin: 'Twin') -> ImageReading:
    """Render the camera at the twin's current pose, add noise, and return an rgb8 reading."""
    cfg = twin.config.camera
    position, orientation = link_pose(twin.client, twin.frames, 'camera_link')
    rotation = np.array(pb.getMatrixFromQuaternion(orientation)).reshape(3, 3)
    forward, up = rotation[:, 0], rotation[:, 2]
    eye = np.asarray(position)
    view = pb.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), up.tolist())
    projection = pb.computeProjectionMatrixFOV(
        cfg.vertical_fov_deg, cfg.width / cfg.height, cfg.near, cfg.far
    )
    flags = 0 if twin.render_segmentation else pb.ER_NO_SEGMENTATION_MASK
    _, _, rgba, _, segmentation = pb.getCameraImage(
        cfg.width, cfg.height, view, projection, shadow=0,
        lightDirection=list(cfg.light_direction), renderer=pb.ER_TINY_RENDERER,
        flags=flags, physicsClientId=twin.client,
    )
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(cfg.height, cfg.width, 4)[:, :, :3]
    rgb = np.ascontiguousarray(twin.pixel_noise.apply(rgb))
    mask = None
    if twin.render_segmentation:
        mask = np.asarray(segmentation, dtype=np.int32).reshape(cfg.height, cfg.width)
    return ImageReading(
        twin.time_ns, rgb, intrinsics(cfg.width, cfg.height, cfg.vertical_fov_deg), mask
    )
