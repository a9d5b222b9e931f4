"""Chaos as code in the twin: every fault scenario meets its expectations; one must fail.

Each scenario declares its faults and what must come true (detected within, reacted within,
the modes allowed, goals, no collision); the runner injects them (the twin for sensors, the
runner for killed processes) and scores the run from the breaker and mode timeline.
"""

from pathlib import Path

from robo_edge import paths
from robo_edge.scenario.runner import RunOptions, run_scenarios
from robo_edge.scenario.spec import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / 'scenarios'


def test_fault_suite_meets_its_expectations_and_an_unchecked_lie_fails(tmp_path: Path) -> None:
    suite = sorted(paths.share_file('sim', 'scenarios', 'chaos').glob('chaos_*.yaml'))
    assert len(suite) >= 12
    runs = [load_scenario(path) for path in suite]
    runs.append(load_scenario(SCENARIOS / 'chaos_lidar_lie_unchecked.yaml'))
    results = {r['name']: r for r in run_scenarios(runs, RunOptions(tmp_path, jobs=2,
                                                                     record=False))}
    for run in runs[:-1]:
        result = results[run.name]
        assert result['passed'], (run.name, result['failures'])
        assert result['collision_count'] == 0, run.name
        for fault in result['fault_timing']:
            assert fault['injected_s'] is not None, (run.name, 'fault changed nothing')
    silence = results['chaos_lidar_silence']['fault_timing'][0]
    assert silence['detected_by'] == 'lidar'
    assert silence['reaction'] == 'obstacles from perception'
    killed = results['chaos_controller_kill']
    assert killed['fault_timing'][0]['detected_by'] == 'controller'
    assert killed['highest_mode'] == 'SAFE_STOP'
    offset = results['chaos_lidar_lie_offset']['events']
    assert any(e.get('detail', '').startswith('cross_check') for e in offset
               if e.get('source') == 'lidar')
    assert results['chaos_lidar_drop']['breaker_trips'] == 0
    # A camera painting a phantom obstacle is blamed, on odometry's vote: not the LiDAR.
    phantom = results['chaos_camera_phantom']
    assert phantom['fault_timing'][0]['detected_by'] == 'perception'
    assert phantom['fault_timing'][0]['blamed_right'] is True
    assert not any(e.get('source') == 'lidar' and e.get('state') == 'open'
                   for e in phantom['events'])
    assert any('decided by map' in e.get('detail', '') for e in offset)
    # Built to fail: the lie goes unseen without the cross-check, and the runner says so.
    unchecked = results['chaos_lidar_lie_unchecked']
    assert not unchecked['passed']
    assert any('lie on lidar' in f and 'detected never' in f for f in unchecked['failures'])
