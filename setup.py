"""Build script for the robo_edge ament_python package."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = 'robo_edge'
NODES = (
    'twin',
    'camera_ingest',
    'lidar_ingest',
    'imu_ingest',
    'drive_script',
    'recorder',
    'mapper',
    'planner',
    'controller',
    'safety_gate',
    'perception',
    'sensor_guard',
    'mode_manager',
    'cloud_sync',
    'frames',
    'live_view',
)


def tree_data_files(root: str) -> list[tuple[str, list[str]]]:
    """Install every file under `root` into share/robo_edge/<root>, keeping the layout."""
    groups: dict[str, list[str]] = {}
    for path in sorted(Path(root).rglob('*')):
        if path.is_file() and '__pycache__' not in path.parts:
            groups.setdefault(str(Path('share', PACKAGE, path.parent)), []).append(str(path))
    return sorted(groups.items())


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    package_data={PACKAGE: ['py.typed']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('bin', ['scripts/robo-edge']),
        *tree_data_files('launch'),
        *tree_data_files('config'),
        *tree_data_files('models'),
        *tree_data_files('sim'),
    ],
    install_requires=['setuptools'],
    # The canary runs on Ray where releases are made; a robot never installs it.
    extras_require={'test': ['pytest'], 'canary': ['ray==2.60.0']},
    zip_safe=True,
    maintainer='robo_edge team',
    maintainer_email='team@robo-edge.dev',
    description='Robot edge runtime: ingest, digital twin, supervisor and scenario runner.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'robo-edge = robo_edge.cli:main',
            *[f'{node} = robo_edge.nodes.{node}:main' for node in NODES],
        ],
    },
)
