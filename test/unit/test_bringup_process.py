"""Node argv and environment, diagnostic mapping, DDS environment, shared-memory sweep."""

import fcntl
import os
import time
from pathlib import Path

import pytest

from robo_edge.exceptions import ResourceNotFound
from robo_edge.supervisor import shm
from robo_edge.supervisor.bringup import NodeSpec
from robo_edge.supervisor.process import (
    NODE_ENV,
    SUPERVISOR_ENV,
    LogSink,
    node_argv,
    node_environment,
)
from robo_edge.supervisor.stats import (
    ERROR,
    OK,
    WARN,
    NodeState,
    NodeStats,
    status_level,
    status_name,
    status_values,
)
from robo_edge.supervisor.transport import PROFILE_ENV, dds_environment

REPO = Path(__file__).resolve().parents[2]


def test_argv_carries_name_parameters_overrides_and_remappings(tmp_path: Path) -> None:
    params = tmp_path / 'p.yaml'
    spec = NodeSpec(name='lidar', executable='lidar_ingest', parameters=(params,),
                    overrides={'use_sim_time': True, 'frame': 'laser', 'tag': 'true'},
                    remappings={'/scan': '/sensors/scan'})
    assert node_argv(spec, ['/x/lidar_ingest']) == [
        '/x/lidar_ingest', '--ros-args', '-r', '__node:=lidar', '--params-file', str(params),
        '-p', 'use_sim_time:=true', '-p', 'frame:=laser', '-p', "tag:='true'",
        '-r', '/scan:=/sensors/scan',
    ]


def test_environment_layers_and_markers() -> None:
    spec = NodeSpec(name='a', command=('x',), env={'LEVEL': 'node'})
    env = node_environment(spec, {'LEVEL': 'base', 'HOME': '/h'}, {'ROS_DOMAIN_ID': '7'},
                           {'LEVEL': 'extra', 'X': '1'}, 'sup1')
    assert env['LEVEL'] == 'node' and env['HOME'] == '/h' and env['X'] == '1'
    assert env['ROS_DOMAIN_ID'] == '7' and env['PYTHONUNBUFFERED'] == '1'
    assert env['RCUTILS_CONSOLE_OUTPUT_FORMAT'] == '[{severity}] [{name}]: {message}'
    assert env[SUPERVISOR_ENV] == 'sup1' and env[NODE_ENV] == 'a'


def test_log_sink_prefixes_lines_and_writes_one_file_per_node(tmp_path: Path) -> None:
    import io

    echo = io.StringIO()
    sink = LogSink(echo, tmp_path / 'logs')
    sink.write('cam', 'hello')
    sink.write('imu', 'world')
    sink.close()
    assert echo.getvalue() == '[cam] hello\n[imu] world\n'
    assert (tmp_path / 'logs' / 'cam.log').read_text() == 'hello\n'


def test_dds_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv('ROS_AUTOMATIC_DISCOVERY_RANGE', raising=False)
    env = dds_environment(domain_id=42)
    assert Path(env[PROFILE_ENV]).name == 'fastdds_shm.xml' and Path(env[PROFILE_ENV]).is_file()
    assert env['ROS_DOMAIN_ID'] == '42'
    assert env['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'SUBNET')
    assert 'ROS_AUTOMATIC_DISCOVERY_RANGE' not in dds_environment()
    assert 'ROS_DOMAIN_ID' not in dds_environment()
    with pytest.raises(ResourceNotFound):
        dds_environment(profile=tmp_path / 'absent.xml')


def test_a_fast_dds_2_library_gets_the_profile_under_the_name_it_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    # Fast DDS 2 (Jazzy) ignores FASTDDS_DEFAULT_PROFILES_FILE; test_dds_profile.py checks that
    # the profile is read on the distribution the tests run on.
    (tmp_path / 'libfastrtps.so.2.14').touch()
    monkeypatch.setenv('LD_LIBRARY_PATH', str(tmp_path))
    env = dds_environment()
    assert env[PROFILE_ENV] == env['FASTRTPS_DEFAULT_PROFILES_FILE']


def test_shipped_profile_sets_a_32_mb_segment() -> None:
    text = (REPO / 'config' / 'fastdds_shm.xml').read_text()
    assert '<segment_size>33554432</segment_size>' in text
    assert '<useBuiltinTransports>false</useBuiltinTransports>' in text
    assert 'is_default_profile="true"' in text


@pytest.mark.parametrize(('state', 'code', 'level'), [
    (NodeState.RUNNING, None, OK),
    (NodeState.RESTARTING, -9, WARN),
    (NodeState.GIVEN_UP, 1, ERROR),
    (NodeState.EXITED, 0, OK),
    (NodeState.EXITED, 3, WARN),
])
def test_status_levels(state: NodeState, code: int | None, level: int) -> None:
    assert status_level(NodeStats('a', None, state, 0, None, None, code)) == level


def test_status_values() -> None:
    stats = NodeStats('cam', 12, NodeState.RUNNING, 2, 12.345, 99.96, -9)
    assert dict(status_values(stats)) == {
        'pid': '12', 'state': 'running', 'restarts': '2', 'cpu_percent': '12.3',
        'rss_mb': '100.0', 'last_exit_code': '-9'}
    assert status_name('cam') == 'robo_edge/supervisor/cam'


# ---------------------------------------------------------------- shared-memory sweep


def _touch(directory: Path, *names: str, age_s: float = 10.0) -> None:
    stamp = time.time() - age_s
    for name in names:
        (directory / name).write_bytes(b'')
        os.utime(directory / name, (stamp, stamp))


def test_sweep_removes_dead_owners_files_and_keeps_held_ones(tmp_path: Path) -> None:
    dead = 'fastdds_0123456789abcdef'
    live = 'fastdds_fedcba9876543210'
    _touch(tmp_path, dead, dead + '_el', live, live + '_el',
           'fastdds_port7411', 'fastdds_port7411_el', 'sem.fastdds_port7411_mutex',
           'fastdds_port7413', 'sem.fastdds_port7413_mutex',  # lock-less leftover, unmapped
           'fastdds_port7415', 'sem.fastdds_port7415_mutex',  # lock-less but mapped: in use
           'unrelated_file')
    _touch(tmp_path, 'fastdds_1111111111111111', 'fastdds_1111111111111111_el', age_s=0.0)
    holder = os.open(tmp_path / (live + '_el'), os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        report = shm.sweep(tmp_path, mapped={'fastdds_port7415'})
    finally:
        os.close(holder)
    assert set(report.removed) == {
        dead, dead + '_el', 'fastdds_port7411', 'fastdds_port7411_el',
        'sem.fastdds_port7411_mutex', 'fastdds_port7413', 'sem.fastdds_port7413_mutex'}
    left = set(os.listdir(tmp_path))
    assert {live, live + '_el', 'fastdds_port7415', 'sem.fastdds_port7415_mutex',
            'unrelated_file', 'fastdds_1111111111111111'} <= left
    assert set(report.kept) >= {live, 'fastdds_port7415', 'fastdds_1111111111111111'}


def test_recognises_fast_dds_file_names() -> None:
    names = ['fastdds_c6e2e7310a86c4f0', 'fastdds_c6e2e7310a86c4f0_el', 'fastdds_port7000',
             'fastdds_port17911_sl', 'sem.fastdds_port7000_mutex', 'fast_datasharing_x']
    assert all(shm.is_fastdds_file(n) for n in names)
    assert not any(shm.is_fastdds_file(n) for n in ['lttng-ust-wait-6', 'fastdds_x', 'sem.x'])


def test_sweeps_fast_dds_2_files_as_well(tmp_path: Path) -> None:
    # Fast DDS 2 (ROS 2 Jazzy) names the same files fastrtps_*.
    leftovers = {'fastrtps_858389e7d2327275', 'fastrtps_858389e7d2327275_el', 'fastrtps_port7000',
                 'fastrtps_port7000_el', 'sem.fastrtps_port7000_mutex'}
    _touch(tmp_path, *leftovers, 'fastrtps_x')
    assert set(shm.sweep(tmp_path, mapped=set()).removed) == leftovers
    assert os.listdir(tmp_path) == ['fastrtps_x']
