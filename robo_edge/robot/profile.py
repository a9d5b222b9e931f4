"""A robot profile: the one file that holds a robot's values, and the node parameters it implies.

`config/robot/<name>.yaml` gives the footprint, the base limits, the control rate, and each
sensor's driver topic, rate, layout and mount. `node_parameters` turns it into the parameters
of every node that needs one of those values (and of the twin, which plays the robot's
hardware), so no node file repeats them. A bringup names its profile (`bringup.robot`); a
scenario may name another (`robot:`). Parameters a node file or a scenario sets still win.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from robo_edge.exceptions import ConfigError
from robo_edge.robot.kinematics import LIMIT_FIELDS, BaseLimits
from robo_edge.yaml_fields import Fields, load_yaml


@dataclass(frozen=True, slots=True)
class Lidar:
    """A planar LiDAR: its driver topic, rate, beams over 360 deg, ranges and mount."""

    topic: str = '/scan'
    rate_hz: int = 10
    beams: int = 360
    range_min: float = 0.12
    range_max: float = 12.0
    mount: tuple[float, float, float] = (0.0, 0.0, 0.0)  # x, y, yaw in base_link


@dataclass(frozen=True, slots=True)
class Camera:
    """A forward camera (rate 0: none), its driver topics, image size and mount."""

    topic: str = '/camera/image_raw'
    info_topic: str = '/camera/camera_info'
    rate_hz: int = 15
    width: int = 320
    height: int = 240
    xyz: tuple[float, float, float] = (0.12, 0.0, 0.42)  # camera_link in base_link
    rpy: tuple[float, float, float] = (0.0, 0.35, 0.0)


@dataclass(frozen=True, slots=True)
class Stream:
    """A sensor known by its topic and rate (IMU, odometry)."""

    topic: str
    rate_hz: int


@dataclass(frozen=True, slots=True)
class RobotProfile:
    """Everything robot-specific that the stack and the twin read."""

    name: str
    footprint_radius: float
    limits: BaseLimits
    control_rate_hz: int
    lidar: Lidar
    camera: Camera
    imu: Stream
    odom: Stream


def load_profile(path: str | Path) -> RobotProfile:
    """Read and check a robot profile; errors name the file and the key."""
    source = str(path)
    return parse_profile(load_yaml(Path(path)), source)


def parse_profile(data: object, source: str) -> RobotProfile:
    """Check an already-loaded profile document and return it."""
    top = Fields(data, source, '')
    top.reject_unknown({'robot'})
    robot = top.sub('robot')
    robot.reject_unknown({'name', 'footprint_radius', 'base', 'control_rate_hz', 'lidar',
                          'camera', 'imu', 'odom'})
    base = robot.sub('base')
    base.reject_unknown(set(LIMIT_FIELDS))
    try:
        limits = BaseLimits(**{n: base.number(n, low=1e-6) for n in LIMIT_FIELDS})
    except (TypeError, ValueError) as e:
        raise ConfigError(source, 'robot.base', 'consistent base limits', str(e)) from e
    return RobotProfile(
        name=robot.string('name'),
        footprint_radius=robot.number('footprint_radius', low=0.01, high=5.0),
        limits=limits,
        control_rate_hz=robot.integer('control_rate_hz', low=1),
        lidar=_lidar(robot.sub('lidar')),
        camera=_camera(robot.sub('camera')),
        imu=_stream(robot.sub('imu')),
        odom=_stream(robot.sub('odom')),
    )


def _lidar(f: Fields) -> Lidar:
    f.reject_unknown(set(Lidar.__slots__))
    d = Lidar()
    range_min = f.number('range_min', d.range_min, low=0.0)
    return Lidar(f.string('topic', d.topic), f.integer('rate_hz', d.rate_hz, low=1),
                 f.integer('beams', d.beams, low=8), range_min,
                 f.number('range_max', d.range_max, low=range_min + 1e-3),
                 f.vector('mount', 3, list(d.mount)))


def _camera(f: Fields) -> Camera:
    f.reject_unknown(set(Camera.__slots__))
    d = Camera()
    return Camera(f.string('topic', d.topic), f.string('info_topic', d.info_topic),
                  f.integer('rate_hz', d.rate_hz, low=0), f.integer('width', d.width, low=8),
                  f.integer('height', d.height, low=8), f.vector('xyz', 3, list(d.xyz)),
                  f.vector('rpy', 3, list(d.rpy)))


def _stream(f: Fields) -> Stream:
    f.reject_unknown({'topic', 'rate_hz'})
    return Stream(f.string('topic'), f.integer('rate_hz', low=1))


def node_parameters(profile: RobotProfile) -> dict[str, dict[str, object]]:
    """Return, per node, the parameters the profile sets (the twin's as its hardware)."""
    lidar, camera = profile.lidar, profile.camera
    limits = {n: float(getattr(profile.limits, n)) for n in LIMIT_FIELDS}
    mount = [float(v) for v in lidar.mount]
    control = float(profile.control_rate_hz)
    frames = _frames(profile)
    return {
        'twin': _twin(profile),
        'frames': frames,
        'live_view': {**frames, 'lidar_topic': lidar.topic, 'camera_topic': camera.topic},
        'lidar_ingest': {'input_topic': lidar.topic, 'nominal_rate_hz': float(lidar.rate_hz)},
        'camera_ingest': {'input_topic': camera.topic, 'info_topic': camera.info_topic,
                          'nominal_rate_hz': float(max(camera.rate_hz, 1))},
        'imu_ingest': {'input_topic': profile.imu.topic,
                       'nominal_rate_hz': float(profile.imu.rate_hz)},
        'perception': {'camera_xyz': list(camera.xyz), 'camera_rpy': list(camera.rpy),
                       'info_topic': camera.info_topic},
        'sensor_guard': {'scan_rate_hz': float(lidar.rate_hz), 'laser_offset': mount,
                         'lidar.nominal_rate_hz': float(lidar.rate_hz),
                         'camera.nominal_rate_hz': float(max(camera.rate_hz, 1)),
                         'imu.nominal_rate_hz': float(profile.imu.rate_hz),
                         # IMU samples reach the breaker in per-tick bursts: silence is two
                         # control periods (100 ms at 20 Hz; 15 Hz ticks tripped on 67 ms)
                         'imu.silence_periods': 2.0 * profile.imu.rate_hz / control,
                         'odometry.nominal_rate_hz': float(profile.odom.rate_hz),
                         # the controller answers every control tick: its silence is counted
                         # in control periods (a 15 Hz robot tripped on a 20 Hz schedule)
                         'controller.nominal_rate_hz': control},
        'mapper': {'laser_offset': mount, 'odom_rate_hz': float(profile.odom.rate_hz)},
        'planner': {'robot_radius': profile.footprint_radius,
                    'odom_rate_hz': float(profile.odom.rate_hz)},
        'controller': {'laser_offset': mount, 'robot_radius': profile.footprint_radius,
                       'odom_rate_hz': float(profile.odom.rate_hz),
                       'scan_rate_hz': float(lidar.rate_hz), 'rate_hz': control,
                       'control_period_s': 1.0 / control, **limits},
        'safety_gate': {'laser_offset': mount, 'robot_radius': profile.footprint_radius,
                        'scan_rate_hz': float(lidar.rate_hz), 'rate_hz': control, **limits,
                        # the gate brakes at what the base can do
                        'decel': limits['max_linear_accel'],
                        'angular_decel': limits['max_angular_accel']},
    }


def _frames(profile: RobotProfile) -> dict[str, object]:
    """Return the mounts and odometry topic that the robot's frames are made of."""
    camera = profile.camera
    return {'laser_offset': [float(v) for v in profile.lidar.mount],
            'camera': camera.rate_hz > 0, 'camera_xyz': [float(v) for v in camera.xyz],
            'camera_rpy': [float(v) for v in camera.rpy], 'odom_topic': profile.odom.topic}


def check_twin_can_play(profile: RobotProfile, source: str) -> None:
    """Raise unless the twin's body (sim/robot/diff_drive.urdf) can play this robot.

    Its URDF puts the LiDAR at base_link's centre; a robot's own bringup has no such limit.
    """
    if any(not math.isclose(v, 0.0) for v in profile.lidar.mount):
        raise ConfigError(source, 'robot.lidar.mount', "[0, 0, 0] for the twin (its URDF puts "
                          "the LiDAR at base_link's centre)", list(profile.lidar.mount))


def _twin(profile: RobotProfile) -> dict[str, object]:
    """Return the twin's settings that make it this robot's hardware."""
    lidar, camera = profile.lidar, profile.camera
    return {
        'control_rate_hz': profile.control_rate_hz,
        'scan.rate_hz': lidar.rate_hz, 'scan.beams': lidar.beams,
        'scan.range_min': lidar.range_min, 'scan.range_max': lidar.range_max,
        'camera.rate_hz': camera.rate_hz, 'camera.width': camera.width,
        'camera.height': camera.height,
        'imu.rate_hz': profile.imu.rate_hz, 'odom.rate_hz': profile.odom.rate_hz,
        **{f'limits.{n}': float(getattr(profile.limits, n)) for n in LIMIT_FIELDS},
    }
