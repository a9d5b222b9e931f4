"""A surveyed map of a world: what the robot's LiDAR maps there, for runs that start on a map.

A robot in service drives on the map it made when it was commissioned (or that the fleet
synced to it); it does not meet its building for the first time on every mission. The
survey stands in for that map: the world's obstacles that reach the LiDAR's plane (its joint
height in the robot's URDF), rasterised and written in the nav2 map_server format, which the
mapper's `static_map` parameter seeds its grid from. Lower obstacles are not in it, as a LiDAR
passes over them; the cells outside the world's bounds stay unknown. It is drawn at the
mapper's own resolution, sampled at cell centres: a finer survey would be resampled with the
most occupied value per cell, which widens every wall by up to a cell on each side and can
close a doorway the LiDAR's own map leaves open.

The survey is a prior, not the truth: its cells hold occupancy 70 and 30 (log-odds of one
LiDAR hit, either way), so where the robot's LiDAR looks it overrules the survey within a few
scans. Seeded at full confidence, a survey cell one cell off a door jamb and the LiDAR's own
return beside it together narrowed a 0.8 m doorway below the robot's width in a nominal run.
"""

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np

from robo_edge import paths
from robo_edge.planning.map_server import save_map
from robo_edge.robot.grid import OCCUPIED, Grid
from robo_edge.twin.raster import rasterise
from robo_edge.twin.world import World
from robo_edge.yaml_fields import load_yaml

LASER_JOINT = 'laser_joint'
SURVEY_OCCUPIED = 70
SURVEY_FREE = 30


def lidar_height(urdf: Path) -> float:
    """Return the height of the laser frame above base_link (m) in a URDF."""
    root = ET.parse(urdf).getroot()
    for joint in root.iter('joint'):
        if joint.get('name') == LASER_JOINT:
            origin = joint.find('origin')
            xyz = (origin.get('xyz') if origin is not None else None) or '0 0 0'
            return float(xyz.split()[2])
    raise ValueError(f'{urdf}: no joint {LASER_JOINT!r}')


def mapper_resolution(navigation: Path | None = None) -> float:
    """Return the mapper's cell size (m) in a navigation.yaml (default: the installed one)."""
    document = load_yaml(navigation or paths.share_file('config', 'navigation.yaml'))
    try:
        return float(document['mapper']['ros__parameters']['resolution'])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError('navigation config: mapper.ros__parameters needs a number '
                         'resolution') from e


def survey_map(world: World, urdf: Path, resolution: float = 0.05) -> Grid:
    """Return the map a LiDAR mounted as in `urdf` makes of `world`, as a prior (70 / 30)."""
    grid = rasterise(world, resolution, min_height=lidar_height(urdf))
    data = np.where(grid.data >= OCCUPIED, SURVEY_OCCUPIED, SURVEY_FREE).astype(np.int8)
    return replace(grid, data=data)


def write_survey(world: World, urdf: Path, yaml_path: Path, resolution: float = 0.05) -> Path:
    """Write the survey as map_server YAML (+ PGM, `raw` mode: the values as they are)."""
    yaml_path.parent.mkdir(parents=True, exist_ok=True)
    save_map(survey_map(world, urdf, resolution), yaml_path, mode='raw')
    return yaml_path
