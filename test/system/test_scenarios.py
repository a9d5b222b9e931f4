"""System tests: the twin and the stack as processes over DDS, run by the scenario runner."""

import json
from pathlib import Path

import pytest
import yaml
from mcap_ros2.reader import read_ros2_messages

from robo_edge import paths
from robo_edge.scenario.runner import RunOptions, run_one, run_scenarios
from robo_edge.scenario.spec import load_scenario, parse_scenario

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent / 'scenarios'

def test_smoke_scenario_passes_with_reports_and_recording(tmp_path: Path) -> None:
    scenario = load_scenario(paths.share_file('sim', 'scenarios', 'empty_room_smoke.yaml'))
    # Everything on the wire: the full profile (the default keeps one camera copy at 5 Hz).
    result = run_one(scenario, RunOptions(tmp_path,
                                          node_overrides={'recorder': {'profile': 'full'}}))
    assert result['passed'], result['failures']
    assert result['collision_count'] == 0 and result['path_length_m'] > 3.0
    assert result['sim_time_s'] == pytest.approx(12.0)
    on_disk = json.loads((tmp_path / 'empty_room_smoke.json').read_text())
    assert on_disk['trajectory_hash'] == result['trajectory_hash']
    assert (tmp_path / 'empty_room_smoke.png').stat().st_size > 10_000
    counts: dict[str, int] = {}
    statuses: dict[str, dict] = {}
    last_clock_s = 0.0
    for item in read_ros2_messages(str(tmp_path / 'empty_room_smoke.mcap')):
        counts[item.channel.topic] = counts.get(item.channel.topic, 0) + 1
        if item.channel.topic == '/clock':
            stamp = item.ros_msg.clock
            last_clock_s = max(last_clock_s, stamp.sec + stamp.nanosec * 1e-9)
        if item.channel.topic == '/diagnostics':
            for status in item.ros_msg.status:
                statuses[status.name] = {kv.key: kv.value for kv in status.values}
    # The twin's streams, the validated copies and the commands were all on the wire. The
    # recorder joins like any subscriber: what went out before discovery matched it is not in
    # the file (a loaded CI host missed 17 of 240 commands), so each count allows a sixth less,
    # and the clock must reach the end of the run.
    assert counts['/scan'] >= 100 and counts['/sensors/scan'] >= 100
    assert counts['/camera/image_raw'] >= 150 and counts['/sensors/camera/image'] >= 150
    assert counts['/imu/data'] >= 1000 and counts['/sensors/imu'] >= 1000
    assert counts['/cmd_vel'] >= 200 and counts['/clock'] >= 200
    assert last_clock_s >= 11.9
    assert any(name.startswith('robo_edge/supervisor/') for name in statuses)  # CPU, RSS
    # Perception runs in the graph whenever the camera does: a virtual scan per kept frame.
    # The twin does not wait for it, so under load it skips frames a newer one replaced
    # (how many depends on the host: its throughput is bench/perception.py's to measure).
    # Every frame it received is accounted for, and every inference becomes a scan.
    perception = {k: int(v) for k, v in statuses['robo_edge/perception'].items()
                  if k in ('received', 'inferences', 'skipped_stale', 'drops')}
    assert perception['received'] - perception['skipped_stale'] - perception['drops'] \
        - perception['inferences'] in (0, 1)  # one frame may be in flight
    drops = {k: v for k, v in statuses['robo_edge/perception'].items()
             if k.startswith(('drops_', 'last_drop')) and v not in ('0', '', 'none')}
    assert perception['drops'] == 0 and perception['inferences'] > 0, drops
    assert counts['/perception/scan'] >= perception['inferences']
    assert counts['/perception/mask'] == counts['/perception/scan']
    assert statuses['robo_edge/perception']['model_version'].startswith('floor_seg')
    lidar = statuses['robo_edge/ingest/lidar']
    assert int(lidar['drops']) == 0 and float(lidar['rate_hz']) == pytest.approx(10, rel=0.2)


def test_collision_is_reported_and_fails_the_verdict(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / 'bump_crate.yaml')
    result = run_one(scenario, RunOptions(tmp_path, record=False))
    assert not result['passed']
    assert any(f.startswith('collisions') for f in result['failures'])
    hit = result['collisions'][0]
    assert hit['obstacle'] == 'crate'
    assert 0.3 < hit['contact'][0] < 1.0  # the crate's near face, not somewhere else


def test_lockstep_runs_repeat_bit_for_bit_in_parallel(tmp_path: Path) -> None:
    base = load_scenario(SCENARIOS / 'repeat_short.yaml')
    copies = [parse_scenario({**_as_document(SCENARIOS / 'repeat_short.yaml'),
                              'name': f'repeat_{i}'}, 'copy') for i in range(3)]
    results = run_scenarios(copies, RunOptions(tmp_path, jobs=3, record=False))
    assert all(r['passed'] for r in results), [r['failures'] for r in results]
    assert len({r['trajectory_hash'] for r in results}) == 1
    assert len({json.dumps(r['stream_hashes'], sort_keys=True) for r in results}) == 1
    other_seed = parse_scenario({**_as_document(SCENARIOS / 'repeat_short.yaml'),
                                 'name': 'repeat_seed', 'seed': base.seed + 1}, 'copy')
    different = run_one(other_seed, RunOptions(tmp_path, record=False))
    assert different['stream_hashes']['ScanReading'] != results[0]['stream_hashes']['ScanReading']
    junit = (tmp_path / 'junit.xml').read_text()
    assert 'tests="3"' in junit and 'failures="0"' in junit


def _as_document(path: Path) -> dict:
    return yaml.safe_load(path.read_text())
