"""The digital twin core: a PyBullet DIRECT client stepping a kinematic diff-drive base.

The base moves kinematically (wheel-speed and acceleration limits), and PyBullet answers
the geometric questions: contacts with obstacles (a contact blocks the motion and counts as
one collision until the robot backs off), clearance, LiDAR ray casts and camera renders.
Time is an integer step count, so stamps are exact and runs are repeatable.
"""

from pathlib import Path

import numpy as np
import pybullet as pb

from robo_edge.robot.kinematics import (
    BaseLimits,
    Pose2D,
    Velocity,
    accelerate,
    integrate,
    saturate,
)
from robo_edge.twin import camera
from robo_edge.twin.config import TwinConfig
from robo_edge.twin.digest import StreamDigests
from robo_edge.twin.readings import (
    Collision,
    GroundTruthReading,
    ImuReading,
    OdomReading,
    Reading,
    ScanReading,
)
from robo_edge.twin.scene import build_world, link_pose, load_robot, place_robot
from robo_edge.twin.sensor_models import ImuModel, OdometryModel, PixelNoise, scan_ranges
from robo_edge.twin.world import World

NS_PER_S = 1_000_000_000
CONTACT_TOLERANCE = 1e-3  # penetration deeper than this is a contact
CONTACT_RELEASE = 0.02  # a contact ends once the robot is this far from every obstacle


class Twin:
    """One twin instance: its own PyBullet client, world, robot and seeded sensor noise."""

    def __init__(
        self, world: World, config: TwinConfig, seed: int, start: Pose2D, urdf: Path,
        render_segmentation: bool = False,
    ) -> None:
        self.config = config
        self.world = world
        self.seed = seed
        self.client = pb.connect(pb.DIRECT)
        self.obstacle_names = build_world(self.client, world)
        self.frames = load_robot(self.client, urdf, start)
        self.limits = _limits_for_robot(config.limits, self.frames)
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
        self._scan_rng, camera_rng, imu_rng, odom_rng = rngs
        shape = (config.camera.height, config.camera.width, 3)
        self.pixel_noise = PixelNoise(config.camera.noise_std, shape, camera_rng)
        self.imu_model = ImuModel(config.imu, imu_rng, start.yaw)
        self.odom_model = OdometryModel(config.odom, odom_rng)
        self.render_segmentation = render_segmentation
        floor_body = next(b for b, name in self.obstacle_names.items() if name == 'floor')
        self.camera_model = camera.camera_model(config.camera, world, floor_body)
        self.step_count = 0
        self.pose = start
        self.velocity = Velocity()
        self.target = Velocity()
        self._imu_previous = Velocity()
        self._in_contact = False
        self.collisions: list[Collision] = []
        self.min_clearance = float('inf')
        self.path_length = 0.0
        self.digests = StreamDigests()
        self._ray_directions = _ray_directions(config.scan.beams)

    # -- time -------------------------------------------------------------------------------
    @property
    def time_ns(self) -> int:
        """Simulated time of the current step, in integer nanoseconds."""
        return self.step_count * NS_PER_S // self.config.physics_rate_hz

    @property
    def dt(self) -> float:
        """Physics step in seconds."""
        return 1.0 / self.config.physics_rate_hz

    def at_control_boundary(self) -> bool:
        """Whether the current step starts a control period (a lockstep handshake point)."""
        return self._due(self.config.control_rate_hz)

    def _due(self, rate_hz: int) -> bool:
        return rate_hz > 0 and self.step_count % self.config.steps(rate_hz) == 0

    # -- commands and motion ----------------------------------------------------------------
    def set_command(self, command: Velocity) -> None:
        """Set the body twist the base tries to follow from now on (limits apply)."""
        self.target = saturate(command, self.limits)

    def step(self, sense: bool = True) -> list[Reading]:
        """Advance one physics step and return the readings due at the new time.

        `sense=False` skips the sensors (physics-only benchmarks); their noise streams then
        fall out of step with a sensing run, so never mix the two in one run.
        """
        previous = self.pose
        self.velocity = accelerate(self.velocity, self.target, self.limits, self.dt)
        self.step_count += 1
        self._move_to(integrate(self.pose, self.velocity, self.dt))
        self.path_length += float(np.hypot(self.pose.x - previous.x, self.pose.y - previous.y))
        self.odom_model.update(self.velocity, self.dt)
        return self.readings_due() if sense else []

    def _move_to(self, candidate: Pose2D) -> None:
        place_robot(self.client, self.frames, candidate)
        contact = self._first_penetration()
        if contact is None:
            self.pose = candidate
            if self._in_contact and self._nearest_distance(CONTACT_RELEASE) >= CONTACT_RELEASE:
                self._in_contact = False
            return
        # Blocked: the base stops where it was, as a bumper-stopped robot would.
        place_robot(self.client, self.frames, self.pose)
        self.velocity = Velocity()
        if not self._in_contact:
            self._in_contact = True
            self.collisions.append(Collision(
                self.time_ns, candidate, contact[0], contact[1], contact[2]
            ))

    def _first_penetration(self) -> tuple[float, float, str] | None:
        pb.performCollisionDetection(physicsClientId=self.client)
        for point in pb.getContactPoints(bodyA=self.frames.body, physicsClientId=self.client):
            other = point[2]
            if self.obstacle_names.get(other) == 'floor' or point[8] > -CONTACT_TOLERANCE:
                continue
            position = point[6]
            return (position[0], position[1], self.obstacle_names.get(other, str(other)))
        return None

    def _nearest_distance(self, horizon: float) -> float:
        nearest = horizon
        for body, name in self.obstacle_names.items():
            if name == 'floor':
                continue
            for point in pb.getClosestPoints(
                self.frames.body, body, horizon, physicsClientId=self.client
            ):
                nearest = min(nearest, point[8])
        return nearest

    def update_clearance(self) -> float:
        """Measure the distance from the robot to the nearest obstacle and track the minimum."""
        distance = max(0.0, self._nearest_distance(self.config.clearance_horizon))
        self.min_clearance = min(self.min_clearance, distance)
        return distance

    # -- sensors ----------------------------------------------------------------------------
    def readings_due(self) -> list[Reading]:
        """Return every reading whose rate falls on the current step."""
        cfg = self.config
        due: list[Reading] = []
        if self._due(cfg.imu.rate_hz):
            due.append(self._imu())
        if self._due(cfg.odom.rate_hz):
            due.append(OdomReading(self.time_ns, self.odom_model.pose, self.velocity))
        if self._due(cfg.ground_truth_rate_hz):
            due.append(GroundTruthReading(self.time_ns, self.pose, self.velocity))
        if self._due(cfg.scan.rate_hz):
            due.append(self.scan())
        if self._due(cfg.camera.rate_hz):
            due.append(camera.render(self))
        for reading in due:
            self._digest(reading)
        return due

    def _imu(self) -> ImuReading:
        period = 1.0 / self.config.imu.rate_hz
        gyro, accel, orientation = self.imu_model.measure(
            self._imu_previous, self.velocity, period
        )
        self._imu_previous = self.velocity
        return ImuReading(self.time_ns, gyro, accel, orientation)

    def scan(self) -> ScanReading:
        """Cast the LiDAR's beams from the laser frame and return a REP 117 scan."""
        cfg = self.config.scan
        position, orientation = link_pose(self.client, self.frames, 'laser')
        rotation = np.array(pb.getMatrixFromQuaternion(orientation)).reshape(3, 3)
        origin = np.asarray(position)
        ends = origin + (self._ray_directions @ rotation.T) * cfg.range_max
        starts = np.broadcast_to(origin, ends.shape)
        results = pb.rayTestBatch(
            starts.tolist(), ends.tolist(), numThreads=1, physicsClientId=self.client
        )
        hit = np.array([r[0] >= 0 for r in results])
        fraction = np.array([r[2] for r in results])
        ranges = scan_ranges(fraction, hit, cfg, self._scan_rng)
        increment = 2 * np.pi / cfg.beams
        return ScanReading(
            self.time_ns, -np.pi, increment, cfg.range_min, cfg.range_max,
            1.0 / cfg.rate_hz, ranges,
        )

    def ground_truth(self) -> GroundTruthReading:
        """Return the true pose and twist now."""
        return GroundTruthReading(self.time_ns, self.pose, self.velocity)

    def _digest(self, reading: Reading) -> None:
        self.digests.add(self.time_ns, reading)

    def stream_hashes(self) -> dict[str, str]:
        """Return a SHA-256 per sensor stream over every reading produced so far."""
        return self.digests.hexdigests()

    def close(self) -> None:
        """Disconnect the PyBullet client."""
        if pb.isConnected(self.client):
            pb.disconnect(self.client)


def _ray_directions(beams: int) -> np.ndarray:
    angles = -np.pi + np.arange(beams) * (2 * np.pi / beams)
    return np.stack([np.cos(angles), np.sin(angles), np.zeros(beams)], axis=1)


def _limits_for_robot(limits: BaseLimits, frames) -> BaseLimits:  # noqa: ANN001
    """Take the wheel geometry from the URDF, the body limits from the config."""
    return BaseLimits(
        max_linear=limits.max_linear,
        max_angular=limits.max_angular,
        max_linear_accel=limits.max_linear_accel,
        max_angular_accel=limits.max_angular_accel,
        wheel_separation=frames.wheel_separation,
        max_wheel_speed=frames.max_wheel_speed,
    )
