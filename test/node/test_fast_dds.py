"""robo_edge's use of Fast DDS works with the ROS install's Fast DDS (3 on Kilted, 2 on Jazzy).

Fast DDS 3 reads the profile named by FASTDDS_DEFAULT_PROFILES_FILE, Fast DDS 2 only the one
named by FASTRTPS_DEFAULT_PROFILES_FILE. A profile nobody reads leaves a participant on the
built-in 512 kB shared-memory segment, too small for one camera frame; the profile's 32 MB
segment, mapped by the process, is the proof that it was read. Fast DDS 2 also names its
/dev/shm files fastrtps_* where Fast DDS 3 writes fastdds_*; the supervisor sweeps both.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import rclpy

from robo_edge.supervisor import shm
from robo_edge.supervisor.transport import dds_environment

SEGMENT_BYTES = 32 * 1024 * 1024
PROFILE_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')
PROBE = """
import os
import signal
import sys
from pathlib import Path

import rclpy

context = rclpy.Context()
rclpy.init(context=context)
node = rclpy.create_node('profile_probe', context=context)
print(Path('/proc/self/maps').read_text(), flush=True)
if sys.argv[1:] == ['kill']:
    os.kill(os.getpid(), signal.SIGKILL)
node.destroy_node()
rclpy.shutdown(context=context)
"""


def run_probe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a process that joins the graph with the supervisor's environment; `kill` kills it."""
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
    env.update(dds_environment())
    return subprocess.run(
        [sys.executable, '-c', PROBE, *args], env=env, capture_output=True, text=True, timeout=60,
    )


def largest_segment(maps: str) -> int:
    """Return the bytes mapped from the largest Fast DDS shared-memory segment (0 if none)."""
    sizes: dict[str, int] = {}
    for line in maps.splitlines():
        fields = line.split()
        name = Path(fields[-1]).name if len(fields) == 6 else ''
        if name.startswith(('fastdds_', 'fastrtps_')) and '_port' not in name:
            start, end = (int(x, 16) for x in fields[0].split('-'))
            sizes[name] = sizes.get(name, 0) + end - start
    return max(sizes.values(), default=0)


def test_the_test_process_reads_the_profile(context: rclpy.Context) -> None:
    node = rclpy.create_node('profile_probe', context=context)
    try:
        segment = largest_segment(Path('/proc/self/maps').read_text())
    finally:
        node.destroy_node()
    assert segment >= SEGMENT_BYTES


def test_a_process_with_the_supervisors_environment_reads_the_profile() -> None:
    result = run_probe()
    assert result.returncode == 0, result.stderr
    segment = largest_segment(result.stdout)
    assert segment >= SEGMENT_BYTES
    assert 'deprecated' not in result.stderr


def test_the_files_of_a_killed_process_are_swept() -> None:
    before = shm.fastdds_files()
    result = run_probe('kill')
    assert result.returncode == -9, result.stderr
    left = shm.fastdds_files() - before
    assert left  # the killed participant's segment, ports and locks, by the names it uses
    time.sleep(shm.MIN_AGE_S + 0.1)
    shm.sweep()
    # Only what a live process holds stays (another participant may share a port).
    assert left & shm.fastdds_files() <= shm.held_names()
