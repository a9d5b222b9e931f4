"""Run scenarios in the twin through the supervisor and turn each into a measured verdict."""

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from rclpy.node import Node

from robo_edge.breakers.events import read_events
from robo_edge.ros.background import BackgroundNode
from robo_edge.scenario import stack
from robo_edge.scenario.belief import belief_line, belief_title
from robo_edge.scenario.chaos_agent import ChaosAgent
from robo_edge.scenario.domains import lease_domain
from robo_edge.scenario.evaluate import evaluate, localization_errors
from robo_edge.scenario.fault_timing import breaker_trips, highest_mode, time_faults
from robo_edge.scenario.junit import write_junit
from robo_edge.scenario.late_releases import late_releases
from robo_edge.scenario.plot import plot_run
from robo_edge.scenario.spec import Scenario
from robo_edge.supervisor.bringup import parse_bringup
from robo_edge.supervisor.diagnostics_publisher import DiagnosticsPublisher
from robo_edge.supervisor.supervisor import Supervisor
from robo_edge.twin.world import load_world

# A run may take this long in wall time per simulated second, plus startup, before it is cut.
WALL_PER_SIM_S = 8.0
STARTUP_ALLOWANCE_S = 60.0


@dataclass(frozen=True)
class RunOptions:
    """How to run: where reports go, how many at once, whether to record MCAP."""

    report_dir: Path
    jobs: int = 1
    record: bool = True
    echo_logs: bool = False
    # Parameters merged over the generated ones, per node (cloud sync's canary sets the
    # perception model_path of a candidate).
    node_overrides: dict[str, dict] = field(default_factory=dict)
    # Called with the runner's node on the run's domain before it spins, to add subscriptions
    # of its own (bench/robot.py watches /diagnostics, the commands and perception's scan).
    monitor: Callable[[Node], None] | None = None


def run_scenarios(scenarios: list[Scenario], options: RunOptions) -> list[dict]:
    """Run every scenario (up to `jobs` at once) and write JSON, PNG, MCAP and JUnit reports."""
    names = [s.name for s in scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'scenario names must be unique in one run: {duplicates}')
    options.report_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        results = list(pool.map(lambda s: run_one(s, options), scenarios))
    write_junit(options.report_dir / 'junit.xml', 'robo_edge.scenarios', results)
    return results


def run_one(scenario: Scenario, options: RunOptions) -> dict:
    """Bring up the twin and the stack for one scenario, run it, score it, report it."""
    report_dir = options.report_dir.resolve()  # the nodes run elsewhere: absolute paths only
    work_dir = report_dir / scenario.name
    work_dir.mkdir(parents=True, exist_ok=True)
    result_path = work_dir / 'twin_record.json'
    result_path.unlink(missing_ok=True)
    mcap_path = report_dir / f'{scenario.name}.mcap' if options.record else None
    if mcap_path is not None:
        mcap_path.unlink(missing_ok=True)
    world_path = stack.world_file(scenario, work_dir)
    params_file = work_dir / 'params.yaml'
    planner_report = work_dir / 'planner_report.json'
    planner_report.unlink(missing_ok=True)
    planner_report.with_name(stack.POSE_LOG).unlink(missing_ok=True)
    params = stack.node_parameters(scenario, world_path, result_path, mcap_path, planner_report)
    params = stack.with_overrides(params, options.node_overrides)
    params_file.write_text(yaml.dump(params, Dumper=NoAliasDumper), encoding='utf-8')
    bringup = parse_bringup(
        stack.bringup_document(scenario, params_file, options.record), f'scenario {scenario.name}'
    )
    avoid = {int(os.environ['ROS_DOMAIN_ID'])} if os.environ.get('ROS_DOMAIN_ID') else set()
    wall_start = time.monotonic()
    with lease_domain(avoid) as lease:
        print(f'[{scenario.name}] start: world {world_path.name}, seed {scenario.seed}, '
              f'{scenario.duration_s:.0f} s simulated, ROS domain {lease.domain_id}', flush=True)
        supervisor = Supervisor(
            bringup, domain_id=lease.domain_id, log_dir=work_dir / 'logs',
            echo=None if options.echo_logs else ProgressEcho(scenario.name),
        )
        chaos = ChaosAgent(scenario.faults, supervisor.kill, supervisor.release,
                           lease.domain_id)
        with _runner_node(lease.domain_id, supervisor, chaos, options.monitor):
            outcome = supervisor.run(
                timeout_s=STARTUP_ALLOWANCE_S + WALL_PER_SIM_S * scenario.duration_s
            )
        exit_codes = outcome.exit_codes
        kills = chaos.reports(scenario.faults)
    wall_time = time.monotonic() - wall_start
    result = _score(scenario, result_path, exit_codes, wall_time, mcap_path, planner_report,
                    kills)
    result['late_releases'] = late_releases(work_dir / 'logs')
    _write_reports(scenario, world_path, result, report_dir)
    verdict = 'PASS' if result['passed'] else 'FAIL ' + '; '.join(result['failures'])
    late = (f', lockstep waits ran out in {result["late_releases"]}'
            if result['late_releases'] else '')
    print(f'[{scenario.name}] {verdict} ({result.get("real_time_factor", 0):.2f}x, '
          f'{wall_time:.1f} s wall{late}){belief_line(result)}', flush=True)
    return result


@contextmanager
def _runner_node(domain_id: int, supervisor: Supervisor, chaos: ChaosAgent,
                 monitor: Callable[[Node], None] | None = None) -> Iterator[None]:
    """Spin the runner's one node on the run's domain (diagnostics, chaos agent, a monitor).

    The node publishes each process's CPU and memory on /diagnostics (and so into the
    recording) and carries the chaos agent's /clock. One participant per domain in this
    process: Fast DDS 3.2 once deadlocked when one of two in-process participants of a domain
    was destroyed while delivering to the other.
    """
    diagnostics = DiagnosticsPublisher(supervisor.resource_stats)
    node = BackgroundNode(f'robo_edge_runner_{domain_id}', domain_id, 'runner')
    node.start(lambda n: (diagnostics.attach(n), chaos.attach(n), monitor and monitor(n)))
    try:
        yield
    finally:
        chaos.close()
        node.close()


class NoAliasDumper(yaml.SafeDumper):
    """A YAML dumper that writes shared values out again: rcl's parser has no aliases."""

    def ignore_aliases(self, data: object) -> bool:
        """Never emit an anchor."""
        return True


class ProgressEcho:
    """A log stream that shows only the twin's progress and every node's errors.

    The full logs of each node are in `<report>/<name>/logs/`.
    """

    def __init__(self, scenario: str) -> None:
        self._scenario = scenario

    def write(self, text: str) -> int:
        """Print a line when it is progress or an error, prefixed with the scenario."""
        if 'progress:' in text or '[ERROR]' in text or '[FATAL]' in text:
            print(f'[{self._scenario}] {text.rstrip()}', flush=True)
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""


def _score(
    scenario: Scenario, result_path: Path, exit_codes: dict, wall_time: float,
    mcap_path: Path | None, planner_report: Path, kills: dict[int, dict] | None = None,
) -> dict:
    base = {
        'name': scenario.name, 'source': scenario.source, 'seed': scenario.seed,
        'wall_time_s': wall_time, 'exit_codes': exit_codes,
        'mcap': str(mcap_path) if mcap_path and mcap_path.exists() else None,
    }
    if not result_path.exists():
        failure = f'the twin left no run record (exit codes {exit_codes})'
        return {**base, 'passed': False, 'failures': [failure], 'trajectory': [],
                'collisions': [], 'real_time_factor': 0.0}
    record = json.loads(result_path.read_text(encoding='utf-8'))
    if planner_report.exists():
        record['planner_goals'] = json.loads(planner_report.read_text(encoding='utf-8'))['goals']
    _add_fault_timing(record, result_path.parent, kills or {})
    # Every report carries the comparison; without a mapper it holds no samples.
    record['pose_log'] = _pose_log(planner_report.with_name(stack.POSE_LOG))
    record['localization'] = localization_errors(record.get('trajectory', []),
                                                 record['pose_log'])
    verdict = evaluate(scenario, record)
    waits = np.asarray(record.pop('lockstep_wait_ms') or [0.0])
    return {
        **base, **record,
        'passed': verdict.passed,
        'failures': verdict.failures,
        'goals_total': len(scenario.goals),
        'goals_reached': verdict.goals_reached,
        'goal_times_s': verdict.goal_times_s,
        **verdict.belief_fields(),
        'collision_count': len(record['collisions']),
        'lockstep_wait_ms': {
            'p50': float(np.percentile(waits, 50)), 'p99': float(np.percentile(waits, 99)),
            'max': float(waits.max()), 'count': int(waits.size),
        },
        'twin_wall_time_s': record['wall_time_s'],
        'wall_time_s': wall_time,
    }


def _pose_log(path: Path) -> list[list[float]]:
    """Return the mapper's pose rows (t, x, y, yaw, odom_x, odom_y, odom_yaw), [] if none."""
    return json.loads(path.read_text(encoding='utf-8'))['poses'] if path.exists() else []


def _add_fault_timing(record: dict, run_dir: Path, kills: dict[int, dict]) -> None:
    """Join the injected faults with the breaker and mode timeline of the run."""
    faults = [kills.get(f.get('index'), f) for f in record.get('faults', [])]
    events = read_events([run_dir / stack.BREAKER_EVENTS, run_dir / stack.MODE_EVENTS])
    record['faults'] = faults
    record['events'] = events
    record['fault_timing'] = time_faults(faults, events)
    record['highest_mode'] = highest_mode(events)
    record['breaker_trips'] = breaker_trips(events)


def _write_reports(scenario: Scenario, world_path: Path, result: dict, report_dir: Path) -> None:
    (report_dir / f'{scenario.name}.json').write_text(
        json.dumps(result, indent=1), encoding='utf-8'
    )
    verdict = 'PASS' if result['passed'] else 'FAIL'
    title = (
        f'{scenario.name}: {verdict} | seed {scenario.seed} | '
        f'{result.get("sim_time_s", 0):.0f} s sim | collisions {len(result["collisions"])} | '
        f'goals {result.get("goals_reached", 0)}/{len(scenario.goals)}'
    )
    if belief_title(result):
        title += f'\n{belief_title(result)}'
    plot_run(
        report_dir / f'{scenario.name}.png', load_world(world_path), result['trajectory'],
        [(g.x, g.y, g.yaw) for g in scenario.goals], result['collisions'], title,
        scenario.goal_tolerance_xy,
        {'events': result.get('events', []), 'faults': result.get('fault_timing', []),
         'end_s': result.get('sim_time_s', scenario.duration_s)},
        {'pose_log': result.get('pose_log', []), 'goal_truth': result.get('goal_truth', [])},
    )
