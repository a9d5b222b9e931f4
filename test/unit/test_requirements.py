"""Kilted and Jazzy install the same packages apart from ROS itself, at the same versions.

runtime.txt (Kilted) and jazzy.txt (Jazzy) hold only ROS wheels; everything else comes from
common.txt and tools.txt, which both include, so a dependency added for one distribution is
there for the other, and both constraints files pin it alike.
"""

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / 'requirements'
DISTROS = {'runtime.txt': 'constraints.txt', 'jazzy.txt': 'constraints-jazzy.txt'}
SHARED = ('common.txt', 'tools.txt')


def canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def entries(filename: str) -> list[str]:
    text = (REQUIREMENTS / filename).read_text()
    lines = (line.split('#')[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def pins(filename: str) -> dict[str, str]:
    found = {}
    for line in entries(filename):
        if not line.startswith('-r '):
            name, version = line.split('==')
            found[canonical(name.split('[')[0])] = version
    return found


@pytest.mark.parametrize('filename', list(DISTROS))
def test_a_distribution_file_holds_only_ros_wheels(filename: str) -> None:
    assert [name for name in pins(filename) if not name.startswith('ros-')] == []


def test_both_distributions_include_the_shared_files() -> None:
    includes = {
        filename: [line for line in entries(filename) if line.startswith('-r ')]
        for filename in ('runtime.txt', 'dev.txt', 'jazzy.txt')
    }
    assert includes == {
        'runtime.txt': ['-r common.txt'],
        'dev.txt': ['-r runtime.txt', '-r tools.txt'],
        'jazzy.txt': ['-r common.txt', '-r tools.txt'],
    }


@pytest.mark.parametrize(('requirements', 'constraints'), list(DISTROS.items()))
def test_each_constraints_file_pins_what_its_distribution_asks_for(
    requirements: str, constraints: str,
) -> None:
    wanted = {**pins(requirements), **{k: v for f in SHARED for k, v in pins(f).items()}}
    pinned = pins(constraints)
    assert {name: pinned.get(name) for name in wanted} == wanted


def test_both_distributions_pin_every_package_that_is_not_ros_alike() -> None:
    # A package only one distribution has is a ROS one (message wheels also install a
    # distribution named after the bare package, e.g. `rclpy` beside `ros-rclpy`).
    kilted, jazzy = pins('constraints.txt'), pins('constraints-jazzy.txt')
    ros_kilted = {name for name in kilted if name.startswith('ros-')}
    bare = {name.removeprefix('ros-') for name in ros_kilted}
    shared = (set(kilted) & set(jazzy)) - ros_kilted - bare
    assert {name: jazzy[name] for name in shared} == {name: kilted[name] for name in shared}
