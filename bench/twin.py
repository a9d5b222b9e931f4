"""Real-time factor of the digital twin: physics only, with sensors, and the whole stack.

Variants run side by side in one invocation so they share the machine's load:
  physics          kinematics and contacts only
  sensors_no_cam   + LiDAR, IMU, odometry, ground truth at their rates
  all_sensors      + the 320x240 camera at 15 Hz (the issue's target: >= 4x)
  stack_lockstep   twin + ingest + scripted driver (+ MCAP recorder) as processes over DDS,
                   lockstep, started by the supervisor through the scenario runner (>= 2x)
Writes bench/results/twin.json.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _provenance as provenance  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.scenario.runner import RunOptions, run_one  # noqa: E402
from robo_edge.scenario.spec import load_scenario  # noqa: E402
from robo_edge.twin.config import from_flat  # noqa: E402
from robo_edge.twin.sim import Twin  # noqa: E402
from robo_edge.twin.world import load_world  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
SCENARIO = 'warehouse_scripted_lap'


def core_variant(name: str, sim_s: float, sense: bool, camera_hz: int) -> dict:
    """Step the twin core for `sim_s` simulated seconds; return timing statistics."""
    scenario = load_scenario(paths.share_file('sim', 'scenarios', f'{SCENARIO}.yaml'))
    world = load_world(paths.resolve(scenario.world_ref, 'sim/worlds'))
    twin = Twin(world, from_flat({'camera.rate_hz': camera_hz}), scenario.seed,
                scenario.start, paths.share_file('sim', 'robot', 'diff_drive.urdf'))
    step_ms: list[float] = []
    start = time.perf_counter()
    for _ in range(int(sim_s * twin.config.physics_rate_hz)):
        if twin.at_control_boundary():
            twin.set_command(scenario.drive.command_at(twin.time_ns / 1e9))
            twin.update_clearance()
        t0 = time.perf_counter()
        twin.step(sense=sense)
        step_ms.append((time.perf_counter() - t0) * 1e3)
    wall = time.perf_counter() - start
    twin.close()
    steps = np.asarray(step_ms)
    return {
        'variant': name, 'sim_s': sim_s, 'wall_s': wall, 'real_time_factor': sim_s / wall,
        'step_ms': {'p50': float(np.percentile(steps, 50)), 'p99': float(np.percentile(steps, 99)),
                    'max': float(steps.max()), 'count': int(steps.size)},
    }


def stack_variant(name: str, sim_s: float, record: bool) -> dict:
    """Run the demo scenario (cut to `sim_s`) with the whole stack in lockstep."""
    scenario = load_scenario(paths.share_file('sim', 'scenarios', f'{SCENARIO}.yaml'))
    scenario = type(scenario)(**{**scenario.__dict__, 'duration_s': sim_s,
                                 'name': f'bench_{name}'})
    with tempfile.TemporaryDirectory() as report:
        result = run_one(scenario, RunOptions(Path(report), record=record))
    return {
        'variant': name, 'sim_s': result.get('sim_time_s', 0.0),
        'wall_s': result.get('twin_wall_time_s', 0.0),
        'real_time_factor': result.get('real_time_factor', 0.0),
        'lockstep_wait_ms': result.get('lockstep_wait_ms'),
        'passed': result['passed'], 'trajectory_hash': result.get('trajectory_hash'),
    }


def main() -> int:
    """Run every variant and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sim-s', type=float, default=30.0, help='simulated seconds per variant')
    provenance.add_arguments(parser)
    args = parser.parse_args()
    block = provenance.check(args)
    variants = [
        core_variant('physics', args.sim_s, sense=False, camera_hz=15),
        core_variant('sensors_no_camera', args.sim_s, sense=True, camera_hz=0),
        core_variant('all_sensors', args.sim_s, sense=True, camera_hz=15),
        stack_variant('stack_lockstep', args.sim_s, record=False),
        stack_variant('stack_lockstep_recorded', args.sim_s, record=True),
    ]
    targets = {'all_sensors': 4.0, 'stack_lockstep': 2.0}
    print(f'{"variant":<26} {"rtf":>7} {"target":>7}')
    for v in variants:
        target = targets.get(v['variant'])
        v['target_rtf'] = target
        v['meets_target'] = None if target is None else v['real_time_factor'] >= target
        print(f'{v["variant"]:<26} {v["real_time_factor"]:>6.2f}x '
              f'{"" if target is None else f">={target}x":>7}')
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {'benchmark': 'twin', **block, 'scenario': SCENARIO, 'variants': variants}
    (RESULTS / 'twin.json').write_text(json.dumps(out, indent=1), encoding='utf-8')
    print(f'wrote {RESULTS / "twin.json"}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
