"""The tests run on the ROS 2 distribution they were set up for, never silently on another.

`make test` runs on Kilted (requirements/constraints.txt); `make test-jazzy` sets
ROBO_EDGE_ROS_DISTRO=jazzy and runs on Jazzy (requirements/constraints-jazzy.txt). A run that
picked up the other distribution's wheels or shared libraries fails here.
"""

import importlib.metadata
import os
import sys
from pathlib import Path

import rclpy

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = {
    'kilted': REPO / 'requirements' / 'constraints.txt',
    'jazzy': REPO / 'requirements' / 'constraints-jazzy.txt',
}
# The prefixes of the shared libraries that rclpy's extension loads from the ROS wheels.
ROS_LIBRARIES = ('librcl', 'librmw', 'librosidl', 'libfastrtps', 'libfastdds', 'libfastcdr')


def expected_distro() -> str:
    distro = os.environ.get('ROBO_EDGE_ROS_DISTRO', 'kilted')
    assert distro in CONSTRAINTS, f'ROBO_EDGE_ROS_DISTRO={distro!r}: not in {list(CONSTRAINTS)}'
    return distro


def ros_pins(constraints: Path) -> dict[str, str]:
    pins = {}
    for line in constraints.read_text().splitlines():
        if line.startswith('ros-'):
            name, version = line.split('==')
            pins[name] = version
    return pins


def test_every_ros_wheel_is_the_pinned_one_of_the_expected_distribution() -> None:
    pins = ros_pins(CONSTRAINTS[expected_distro()])
    assert 'ros-rclpy' in pins
    installed = {}
    for name in pins:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed[name] = None
    assert installed == pins


def test_rclpy_is_imported_from_the_pinned_wheel() -> None:
    wheel = importlib.metadata.distribution('ros-rclpy')
    assert Path(rclpy.__file__).resolve() == Path(wheel.locate_file('rclpy/__init__.py')).resolve()


def test_rclpy_runs_on_this_environments_shared_libraries(context: rclpy.Context) -> None:
    # The wheels find their libraries through LD_LIBRARY_PATH: one inherited from the other
    # distribution's environment would mix its librcl under this rclpy.
    node = rclpy.create_node('distribution_probe', context=context)
    try:
        mapped = {line.split()[-1] for line in Path('/proc/self/maps').read_text().splitlines()}
    finally:
        node.destroy_node()
    ros = {Path(path) for path in mapped if Path(path).name.startswith(ROS_LIBRARIES)}
    assert any(path.name == 'librcl.so' for path in ros)
    prefix = Path(sys.prefix).resolve()
    assert {path for path in ros if not path.resolve().is_relative_to(prefix)} == set()
