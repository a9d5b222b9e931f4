"""The DDS environment every process robo_edge starts runs with (Fast DDS profile, domain, range).

The shipped profile `config/fastdds_shm.xml` gives each participant a 32 MB shared-memory
segment, so a camera frame crosses processes in one piece instead of queueing for a 512 kB one.
"""

import os
import sys
from pathlib import Path

from robo_edge.exceptions import ResourceNotFound
from robo_edge.paths import share_dir

PROFILE_NAME = 'fastdds_shm.xml'
PROFILE_ENV = 'FASTDDS_DEFAULT_PROFILES_FILE'
# Fast DDS 2 (ROS 2 Jazzy) reads the profile from this name only. rmw_fastrtps on Fast DDS 3 reads
# it too but warns that it is deprecated, so it is set only where a Fast DDS 2 library is found.
LEGACY_PROFILE_ENV = 'FASTRTPS_DEFAULT_PROFILES_FILE'
_LEGACY_LIBRARY = 'libfastrtps.so*'
DOMAIN_ENV = 'ROS_DOMAIN_ID'
RANGE_ENV = 'ROS_AUTOMATIC_DISCOVERY_RANGE'
# Source checkout layout: robo_edge/supervisor/transport.py -> <repo>/config/fastdds_shm.xml.
_SOURCE_PROFILE = Path(__file__).resolve().parents[2] / 'config' / PROFILE_NAME


def default_profile() -> Path:
    """Return the installed Fast DDS profile, or the source tree's when robo_edge is not built."""
    try:
        installed = share_dir() / 'config' / PROFILE_NAME
    except (ResourceNotFound, OSError):  # OSError: no workspace sourced (AMENT_PREFIX_PATH)
        installed = None
    if installed is not None and installed.is_file():
        return installed
    if _SOURCE_PROFILE.is_file():
        return _SOURCE_PROFILE
    raise ResourceNotFound(
        f'{PROFILE_NAME} is neither installed (share/robo_edge/config) nor in the source tree'
    )


def profile_variables() -> tuple[str, ...]:
    """Return the variables that name the profile file to this installation's Fast DDS."""
    if any(any(d.glob(_LEGACY_LIBRARY)) for d in _library_dirs() if d.is_dir()):
        return (PROFILE_ENV, LEGACY_PROFILE_ENV)
    return (PROFILE_ENV,)


def _library_dirs() -> list[Path]:
    """Return where the ROS libraries can be: the Python prefix (wheels) and the ROS paths."""
    dirs = [Path(sys.prefix) / 'lib']
    dirs += [Path(p) for p in os.environ.get('LD_LIBRARY_PATH', '').split(os.pathsep) if p]
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep)
    return dirs + [Path(p) / 'lib' for p in prefixes if p]


def dds_environment(profile: Path | None = None, domain_id: int | None = None) -> dict[str, str]:
    """Return the environment variables to add for a process of the robo_edge graph.

    `profile` defaults to the shipped shared-memory profile; `domain_id` is set only when given,
    and the discovery range defaults to LOCALHOST unless the caller's environment chose one.
    """
    path = default_profile() if profile is None else Path(profile)
    if not path.is_file():
        raise ResourceNotFound(f'Fast DDS profile {path} does not exist')
    env = dict.fromkeys(profile_variables(), str(path.resolve()))
    if domain_id is not None:
        env[DOMAIN_ENV] = str(int(domain_id))
    if not os.environ.get(RANGE_ENV):
        env[RANGE_ENV] = 'LOCALHOST'
    return env
