"""The twin core without ROS: repeatable streams, REP 117 scans, true intrinsics, contacts."""

import math
from pathlib import Path

import numpy as np
import pytest

from robo_edge.robot.kinematics import Pose2D, Velocity
from robo_edge.twin import camera
from robo_edge.twin.config import TwinConfig, from_flat
from robo_edge.twin.readings import ImageReading, ImuReading, ScanReading
from robo_edge.twin.scene import link_pose
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import load_world, parse_world

REPO = Path(__file__).resolve().parents[2]
URDF = REPO / 'sim' / 'robot' / 'diff_drive.urdf'
ONE_WALL = parse_world({'world': {'name': 'one_wall', 'obstacles': [
    {'type': 'wall', 'from': [3.0, -5.0], 'to': [3.0, 5.0], 'thickness': 0.2},
]}}, 'test')


ORIGIN = Pose2D(0, 0, 0)


def make_twin(world=ONE_WALL, seed: int = 1, start=ORIGIN, **flat) -> Twin:
    return Twin(world, from_flat(flat) if flat else TwinConfig(), seed, start, URDF)


def run(twin: Twin, seconds: float, command: Velocity) -> list:
    readings = []
    twin.set_command(command)
    for _ in range(int(seconds * twin.config.physics_rate_hz)):
        readings += twin.step()
    return readings


def test_sensor_rates_match_the_configuration() -> None:
    twin = make_twin()
    readings = run(twin, 1.0, Velocity(0.2, 0.0))
    counts = {}
    for reading in readings:
        counts[type(reading).__name__] = counts.get(type(reading).__name__, 0) + 1
    assert counts == {'ImuReading': 100, 'OdomReading': 50, 'GroundTruthReading': 50,
                      'ScanReading': 10, 'ImageReading': 15}
    twin.close()


def test_same_seed_same_streams_different_seed_different_noise() -> None:
    hashes = []
    for seed in (5, 5, 6):
        twin = make_twin(seed=seed, **{'camera.rate_hz': 5})
        run(twin, 2.0, Velocity(0.4, 0.3))
        hashes.append((twin.stream_hashes(), twin.pose))
        twin.close()
    assert hashes[0] == hashes[1]
    assert hashes[0][0]['ScanReading'] != hashes[2][0]['ScanReading']
    assert hashes[0][0]['ImuReading'] != hashes[2][0]['ImuReading']
    # The truth does not depend on the noise seed.
    assert hashes[0][1] == hashes[2][1]


def test_scan_measures_the_wall_and_reports_no_return_as_inf() -> None:
    twin = make_twin(**{'scan.noise_std': 0.0})
    scan = twin.scan()
    forward = scan.ranges[180]  # angle_min = -pi, 360 beams: index 180 looks along +x
    assert forward == pytest.approx(3.0 - 0.1, abs=1e-3)
    backward = scan.ranges[0]
    assert math.isinf(backward) and backward > 0
    assert not np.isnan(scan.ranges).any()
    twin.close()


def test_scan_noise_has_the_configured_spread() -> None:
    twin = make_twin(**{'scan.noise_std': 0.02})
    samples = np.array([twin.scan().ranges[180] for _ in range(300)])
    assert samples.std() == pytest.approx(0.02, rel=0.2)
    assert samples.mean() == pytest.approx(2.9, abs=0.01)
    twin.close()


def test_camera_intrinsics_project_a_known_point() -> None:
    k = camera.intrinsics(320, 240, 58.0)
    assert k.fx == pytest.approx(120 / math.tan(math.radians(29)))
    assert (k.cx, k.cy) == (159.5, 119.5)


def test_camera_sees_a_red_box_where_the_intrinsics_say() -> None:
    world = parse_world({'world': {'name': 'red', 'floor': {'color': [0.2, 0.2, 0.2]},
                                   'obstacles': [{'type': 'box', 'pose': [4.0, 0.0, 0.0],
                                                  'size': [0.4, 4.0, 3.0],
                                                  'color': [1.0, 0.0, 0.0]}]}}, 'test')
    twin = make_twin(world, **{'camera.noise_std': 0.0})
    image = camera.render(twin)
    assert image.rgb.shape == (240, 320, 3) and image.rgb.dtype == np.uint8
    # The URDF mounts the camera 0.12 m ahead of base_link, 0.42 m up, pitched 0.35 rad down:
    # the box's bottom edge (front face at x = 3.8) must appear on the row the intrinsics give.
    k = image.intrinsics
    above_axis = 0.35 - math.atan2(0.42, 3.8 - 0.12)
    edge_row = k.cy - k.fy * math.tan(above_axis)
    red, floor = image.rgb[int(edge_row) - 4, 160], image.rgb[int(edge_row) + 4, 160]
    assert red[0] > 100 and red[1] < 30 and red[2] < 30
    assert abs(int(floor[0]) - int(floor[1])) < 10
    twin.close()


def test_imu_measures_gravity_and_yaw_rate() -> None:
    twin = make_twin(**{'imu.accel_bias_std': 0.0, 'imu.gyro_bias_std': 0.0})
    readings = [r for r in run(twin, 3.0, Velocity(0.0, 0.5)) if isinstance(r, ImuReading)]
    late = readings[-50:]
    assert np.mean([r.angular_velocity[2] for r in late]) == pytest.approx(0.5, abs=0.01)
    assert np.mean([r.linear_acceleration[2] for r in late]) == pytest.approx(9.80665, abs=0.02)
    twin.close()


def test_collision_is_counted_once_with_its_position_and_blocks_motion() -> None:
    twin = make_twin()
    run(twin, 8.0, Velocity(0.5, 0.0))
    assert len(twin.collisions) == 1
    hit = twin.collisions[0]
    assert hit.contact_x == pytest.approx(2.9, abs=0.05)
    assert twin.pose.x < 2.9 - 0.19
    assert twin.min_clearance == float('inf') or twin.update_clearance() < 0.01
    # Backing off ends the contact; driving in again is a second collision.
    run(twin, 2.0, Velocity(-0.3, 0.0))
    run(twin, 6.0, Velocity(0.5, 0.0))
    assert len(twin.collisions) == 2
    twin.close()


def test_twins_in_one_process_are_independent() -> None:
    a, b = make_twin(seed=2), make_twin(seed=2)
    run(a, 1.0, Velocity(0.5, 0.0))
    run(b, 1.0, Velocity(-0.5, 0.0))
    assert a.pose.x > 0.3 and b.pose.x < -0.3
    a.close()
    b.close()


def test_camera_off_produces_no_images() -> None:
    twin = make_twin(**{'camera.rate_hz': 0})
    readings = run(twin, 1.0, Velocity())
    assert not any(isinstance(r, ImageReading) for r in readings)
    assert any(isinstance(r, ScanReading) for r in readings)
    twin.close()


def test_rates_must_divide_the_physics_rate() -> None:
    with pytest.raises(Exception, match='scan.rate_hz'):
        from_flat({'scan.rate_hz': 7})


def test_shipped_world_spawn_hints_are_free() -> None:
    for path in sorted((REPO / 'sim' / 'worlds').glob('*.yaml')):
        world = load_world(path)
        for hint in world.spawn_hints:
            twin = make_twin(world, start=Pose2D(*hint), **{'camera.rate_hz': 0})
            assert twin.update_clearance() > 0.1, (path.name, hint)
            twin.close()


@pytest.mark.parametrize('name, pose', [
    ('warehouse', (-10.0, -7.0, 0.0)), ('corridors', (-8.0, 0.0, 0.3)),
    ('cluttered_room', (-5.5, -5.5, 0.785)),
])
def test_analytic_floor_matches_a_full_render(name: str, pose: tuple) -> None:
    import pybullet as pb

    world = load_world(REPO / 'sim' / 'worlds' / f'{name}.yaml')
    twin = make_twin(world, start=Pose2D(*pose), **{'camera.noise_std': 0.0})
    composite = camera.render(twin).rgb.astype(int)
    floor = next(b for b, n in twin.obstacle_names.items() if n == 'floor')
    pb.changeVisualShape(floor, -1, rgbaColor=(*world.floor_color, 1.0),
                         physicsClientId=twin.client)
    twin.camera_model = camera.camera_model(twin.config.camera, world, floor)
    twin.camera_model = type(twin.camera_model)(
        **{**twin.camera_model.__dict__, 'floor_size': (0.0, 0.0)}  # the renderer draws it
    )
    full = camera.render(twin).rgb.astype(int)
    differs = np.abs(composite - full).max(axis=2) > 3
    assert differs.mean() < 0.005, f'{differs.mean():.2%} of pixels differ'
    twin.close()


def test_sensors_stay_at_their_urdf_heights_while_driving() -> None:
    """PyBullet places a base by its centre of mass: moving must keep base_link on the floor."""
    twin = make_twin(start=Pose2D(-2.0, -2.0, 0.3))
    try:
        twin.set_command(Velocity(0.5, 0.2))
        for _ in range(200):
            twin.step(sense=False)
        camera_xyz, _ = link_pose(twin.client, twin.frames, 'camera_link')
        laser_xyz, _ = link_pose(twin.client, twin.frames, 'laser')
        assert camera_xyz[2] == pytest.approx(0.42, abs=1e-6)
        assert laser_xyz[2] == pytest.approx(0.27, abs=1e-6)
    finally:
        twin.close()
