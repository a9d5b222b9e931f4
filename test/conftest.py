"""Test session setup: isolate the ROS graph of this run and use the shipped transport profile."""

import os
from pathlib import Path

from robo_edge.supervisor.transport import profile_variables

REPO = Path(__file__).resolve().parent.parent

# Each test session gets its own DDS domain so parallel runs on one machine never cross-talk.
os.environ.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
_profile = REPO / 'config' / 'fastdds_shm.xml'
if _profile.exists():
    for _name in profile_variables():
        os.environ.setdefault(_name, str(_profile))
