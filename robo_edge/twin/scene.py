"""Build a World and the robot in a PyBullet client (one client per twin instance)."""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet as pb

from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin.world import World

FLOOR_THICKNESS = 0.1


@dataclass(frozen=True)
class RobotFrames:
    """Link indices of the robot's sensor frames and its wheel geometry, read from the URDF."""

    body: int
    links: dict[str, int]
    wheel_separation: float
    max_wheel_speed: float
    inertial_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # base_link -> its COM


def build_world(client: int, world: World) -> dict[int, str]:
    """Create the floor and every obstacle; return body id -> obstacle name.

    The floor has no visual shape: cameras draw it analytically (see robo_edge.twin.floor).
    """
    names: dict[int, str] = {}
    half = (world.floor_size[0] / 2, world.floor_size[1] / 2, FLOOR_THICKNESS / 2)
    floor_shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=client)
    floor = pb.createMultiBody(
        0.0, floor_shape, -1, (0.0, 0.0, -FLOOR_THICKNESS / 2), physicsClientId=client
    )
    # PyBullet draws a body without a visual shape from its collision shape: hide it.
    pb.changeVisualShape(floor, -1, rgbaColor=(0, 0, 0, 0), physicsClientId=client)
    names[floor] = 'floor'
    for box in world.boxes:
        body = _static_box(client, box.size, (box.x, box.y, box.size[2] / 2), box.yaw, box.color)
        names[body] = box.name
    for cyl in world.cylinders:
        shape = pb.createCollisionShape(
            pb.GEOM_CYLINDER, radius=cyl.radius, height=cyl.height, physicsClientId=client
        )
        visual = pb.createVisualShape(
            pb.GEOM_CYLINDER, radius=cyl.radius, length=cyl.height,
            rgbaColor=(*cyl.color, 1.0), physicsClientId=client,
        )
        body = pb.createMultiBody(
            0.0, shape, visual, (cyl.x, cyl.y, cyl.height / 2), physicsClientId=client
        )
        names[body] = cyl.name
    return names


def _static_box(
    client: int, size: tuple[float, float, float], position: tuple[float, float, float],
    yaw: float, color: tuple[float, float, float],
) -> int:
    """Create a static box with a collision and a visual shape; return its body id."""
    half = [s / 2 for s in size]
    shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=client)
    visual = pb.createVisualShape(
        pb.GEOM_BOX, halfExtents=half, rgbaColor=(*color, 1.0), physicsClientId=client
    )
    orientation = pb.getQuaternionFromEuler((0.0, 0.0, yaw))
    return pb.createMultiBody(0.0, shape, visual, position, orientation, physicsClientId=client)


def load_robot(client: int, urdf: Path, start: Pose2D) -> RobotFrames:
    """Load the robot URDF at the start pose and read its frames and wheel limits."""
    body = pb.loadURDF(
        str(urdf), (start.x, start.y, 0.0), pb.getQuaternionFromEuler((0, 0, start.yaw)),
        flags=pb.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client,
    )
    links: dict[str, int] = {'base_link': -1}
    wheel_y: list[float] = []
    wheel_speed: list[float] = []
    for joint in range(pb.getNumJoints(body, physicsClientId=client)):
        info = pb.getJointInfo(body, joint, physicsClientId=client)
        links[info[12].decode()] = joint
        if info[2] == pb.JOINT_REVOLUTE:
            wheel_y.append(info[14][1])
            radius = _wheel_radius(client, body, joint)
            wheel_speed.append(info[11] * radius)
    if len(wheel_y) != 2:
        raise ValueError(f'{urdf}: expected exactly two wheel joints, found {len(wheel_y)}')
    _hide_from_camera(client, body)
    return RobotFrames(
        body=body,
        links=links,
        wheel_separation=abs(wheel_y[0] - wheel_y[1]),
        max_wheel_speed=min(wheel_speed),
        inertial_offset=tuple(pb.getDynamicsInfo(body, -1, physicsClientId=client)[3]),
    )


def _hide_from_camera(client: int, body: int) -> None:
    """Make the robot's own visuals transparent, so TinyRenderer skips them.

    Its camera never sees them (the mount is above and ahead of the chassis); skipping them
    saves about 10% of a frame.
    """
    for link in range(-1, pb.getNumJoints(body, physicsClientId=client)):
        pb.changeVisualShape(body, link, rgbaColor=(0, 0, 0, 0), physicsClientId=client)


def _wheel_radius(client: int, body: int, link: int) -> float:
    for shape in pb.getVisualShapeData(body, physicsClientId=client):
        if shape[1] == link and shape[2] == pb.GEOM_CYLINDER:
            return float(shape[3][1])
    return 0.05


def link_pose(client: int, frames: RobotFrames, name: str) -> tuple[tuple, tuple]:
    """Return the world position and orientation (xyzw) of a robot frame."""
    index = frames.links[name]
    if index == -1:
        return pb.getBasePositionAndOrientation(frames.body, physicsClientId=client)
    state = pb.getLinkState(frames.body, index, computeForwardKinematics=True,
                            physicsClientId=client)
    return state[4], state[5]


def place_robot(client: int, frames: RobotFrames, pose: Pose2D) -> None:
    """Teleport the robot so that base_link lies on the floor at a planar pose.

    PyBullet places a base by its centre of mass (the URDF's inertial origin), not by the link
    frame that `loadURDF` takes, so the inertial offset is applied here; without it every
    sensor would sit that much (0.13 m) lower after the first step than on the real mount.
    """
    ox, oy, oz = frames.inertial_offset
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    pb.resetBasePositionAndOrientation(
        frames.body, (pose.x + c * ox - s * oy, pose.y + s * ox + c * oy, oz),
        pb.getQuaternionFromEuler((0.0, 0.0, pose.yaw)), physicsClientId=client,
    )


def shaded_floor_color(
    color: tuple[float, float, float], light_direction: tuple[float, float, float]
) -> np.ndarray:
    """Return the rgb8 colour TinyRenderer gives an unshadowed horizontal plane of `color`.

    Measured once in a scratch client (a floor patch seen from above), so the analytic floor
    matches the renderer's own lighting exactly.
    """
    client = pb.connect(pb.DIRECT)
    try:
        _static_box(client, (4.0, 4.0, FLOOR_THICKNESS), (0.0, 0.0, -FLOOR_THICKNESS / 2),
                    0.0, color)
        view = pb.computeViewMatrix((0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0))
        projection = pb.computeProjectionMatrixFOV(30.0, 1.0, 0.05, 5.0)
        _, _, rgba, _, _ = pb.getCameraImage(
            8, 8, view, projection, shadow=0, lightDirection=list(light_direction),
            renderer=pb.ER_TINY_RENDERER, flags=pb.ER_NO_SEGMENTATION_MASK,
            physicsClientId=client,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(8, 8, 4)[4, 4, :3].copy()
    finally:
        pb.disconnect(client)


def vertical_fov_to_focal(height: int, vertical_fov_deg: float) -> float:
    """Return the focal length in pixels for an image height and vertical field of view."""
    return (height / 2) / math.tan(math.radians(vertical_fov_deg) / 2)
