"""Render the robot's camera with PyBullet's TinyRenderer, with true pinhole intrinsics.

TinyRenderer draws the obstacles; the floor is composited analytically (robo_edge.twin.floor).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pybullet as pb

from robo_edge.twin.config import CameraConfig
from robo_edge.twin.floor import floor_mask, pixel_rays
from robo_edge.twin.readings import CameraIntrinsics, ImageReading
from robo_edge.twin.scene import link_pose, shaded_floor_color, vertical_fov_to_focal
from robo_edge.twin.world import World

if TYPE_CHECKING:
    from robo_edge.twin.sim import Twin

BACKGROUND_DEPTH = 1.0  # TinyRenderer's depth where nothing was drawn


def intrinsics(width: int, height: int, vertical_fov_deg: float) -> CameraIntrinsics:
    """Return the intrinsics of an OpenGL perspective render (square pixels, centred axis)."""
    focal = vertical_fov_to_focal(height, vertical_fov_deg)
    return CameraIntrinsics(width, height, focal, focal, (width - 1) / 2, (height - 1) / 2)


@dataclass(frozen=True)
class CameraModel:
    """What stays fixed between frames: intrinsics, projection, pixel rays, the floor's shade."""

    config: CameraConfig
    intrinsics: CameraIntrinsics
    projection: tuple
    rays: np.ndarray
    floor_rgb: np.ndarray
    floor_size: tuple[float, float]
    floor_body: int


def camera_model(config: CameraConfig, world: World, floor_body: int) -> CameraModel:
    """Precompute everything per-frame rendering reuses."""
    k = intrinsics(config.width, config.height, config.vertical_fov_deg)
    projection = pb.computeProjectionMatrixFOV(
        config.vertical_fov_deg, config.width / config.height, config.near, config.far
    )
    return CameraModel(
        config, k, projection, pixel_rays(k),
        shaded_floor_color(world.floor_color, config.light_direction),
        world.floor_size, floor_body,
    )


def render(twin: 'Twin') -> ImageReading:
    """Render the camera at the twin's current pose, add noise, and return an rgb8 reading."""
    model = twin.camera_model
    cfg = model.config
    position, orientation = link_pose(twin.client, twin.frames, 'camera_link')
    rotation = np.array(pb.getMatrixFromQuaternion(orientation)).reshape(3, 3)
    eye = np.asarray(position)
    view = pb.computeViewMatrix(
        eye.tolist(), (eye + rotation[:, 0]).tolist(), rotation[:, 2].tolist()
    )
    flags = 0 if twin.render_segmentation else pb.ER_NO_SEGMENTATION_MASK
    _, _, rgba, depth, segmentation = pb.getCameraImage(
        cfg.width, cfg.height, view, model.projection, shadow=0,
        lightDirection=list(cfg.light_direction), renderer=pb.ER_TINY_RENDERER,
        flags=flags, physicsClientId=twin.client,
    )
    rgb = np.array(rgba, dtype=np.uint8).reshape(cfg.height, cfg.width, 4)[:, :, :3]
    background = np.asarray(depth).reshape(cfg.height, cfg.width) >= BACKGROUND_DEPTH
    floor = background & floor_mask(model.rays, eye, rotation, cfg.far, model.floor_size)
    rgb[floor] = model.floor_rgb
    rgb = np.ascontiguousarray(twin.pixel_noise.apply(rgb))
    mask = None
    if twin.render_segmentation:
        mask = np.asarray(segmentation, dtype=np.int32).reshape(cfg.height, cfg.width)
        mask[floor] = model.floor_body
    return ImageReading(twin.time_ns, rgb, model.intrinsics, mask)
