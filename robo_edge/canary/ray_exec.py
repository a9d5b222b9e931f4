"""Run the canary's scenarios as Ray tasks: Ray schedules them and retries them.

The only module of the package that imports Ray, and only inside its functions, so the
robot's runtime never needs it (`pip install robo_edge[canary]`). Each task runs one scenario
through the ordinary scenario runner, which leases its own ROS domain for the run.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robo_edge.exceptions import RoboEdgeError
from robo_edge.scenario.spec import Scenario

OBJECT_STORE_BYTES = 200 * 1024 * 1024  # results are small JSON dicts


@dataclass(frozen=True)
class Job:
    """One scenario run on one arm."""

    arm: str
    case_id: str
    scenario: Scenario
    overrides: dict[str, dict]


@dataclass
class Outcome:
    """Every arm's run records by case id, and the jobs that failed after their retries."""

    records: dict[str, dict[str, dict]] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)


def import_ray() -> Any:
    """Return the ray module, or raise a clear error naming the extra to install."""
    try:
        import ray  # noqa: PLC0415 - optional extra, never imported by the runtime
    except ImportError as e:
        raise RoboEdgeError('the canary runs on Ray: pip install "robo_edge[canary]" '
                            '(or -r requirements/canary.txt)') from e
    return ray


def run_scenario(scenario: Scenario, report_dir: str, overrides: dict[str, dict]) -> dict:
    """Run one scenario in this process (the body of each Ray task).

    Perception's agreement with the LiDAR (canary/agreement.py) is added to its record.
    """
    from robo_edge.canary.agreement import AgreementMonitor  # noqa: PLC0415 - in the worker
    from robo_edge.scenario.runner import RunOptions, run_one  # noqa: PLC0415

    monitor = AgreementMonitor()
    options = RunOptions(Path(report_dir), record=False, node_overrides=overrides,
                         monitor=monitor.attach)
    Path(report_dir).mkdir(parents=True, exist_ok=True)
    record = run_one(scenario, options)
    record['perception_agreement'] = monitor.mean()
    record['perception_agreement_frames'] = len(monitor.samples)
    return record


def start_cluster(address: str | None, num_cpus: int | None) -> Any:
    """Connect to a cluster at `address`, or start a local one with `num_cpus` CPUs."""
    ray = import_ray()
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        # 'local': always a new cluster of our own, never one a stale /tmp/ray file points at
        ray.init(address='local', num_cpus=num_cpus, include_dashboard=False,
                 object_store_memory=OBJECT_STORE_BYTES, log_to_driver=True)
    return ray


def run_jobs(jobs: list[Job], report_dir: Path, address: str | None = None,
             num_cpus: int | None = None, retries: int = 1,
             progress: Callable[[str], None] = print) -> Outcome:
    """Submit every job as a Ray task (one CPU each) and gather their records."""
    ray = start_cluster(address, num_cpus)
    try:
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(run_scenario)
        pending = {task.remote(j.scenario, str((report_dir / j.arm).resolve()), j.overrides): j
                   for j in jobs}
        progress(f'canary: {len(jobs)} runs submitted to Ray '
                 f'({ray.cluster_resources().get("CPU", 0):.0f} CPUs)')
        return _gather(ray, pending, progress)
    finally:
        ray.shutdown()


def _gather(ray: Any, pending: dict, progress: Callable[[str], None]) -> Outcome:
    """Wait for every task in completion order; a task that failed for good is an error."""
    outcome = Outcome()
    done_count, total = 0, len(pending)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        job = pending.pop(ready[0])
        done_count += 1
        try:
            record = ray.get(ready[0])
        except ray.exceptions.RayError as e:
            outcome.errors.append({'arm': job.arm, 'case': job.case_id, 'error': str(e)[:2000]})
            progress(f'canary [{done_count}/{total}] {job.arm} {job.case_id}: ERROR {e}')
            continue
        outcome.records.setdefault(job.arm, {})[job.case_id] = record
        progress(f'canary [{done_count}/{total}] {job.arm} {job.case_id}: '
                 f'{"PASS" if record.get("passed") else "FAIL"}')
    return outcome
