"""`robo-edge cloud canary`: an A/B canary of a candidate artifact against the release, on Ray."""

import argparse
import time
from pathlib import Path

from robo_edge.canary.suite import KINDS, Suite

# The canary's modules (the twin, the runner, Ray) load only when the verb runs: the robot's
# `robo-edge` never imports them.

EXIT_PASSED = 0
EXIT_FAILED = 1


def add_canary_verb(cloud_verbs: argparse._SubParsersAction) -> None:
    """Add `cloud canary` to the cloud verbs."""
    canary = cloud_verbs.add_parser(
        'canary', help='compare a candidate model, map or policy with the release in the '
                       'twin, on Ray (pip install robo_edge[canary])')
    canary.add_argument('candidate', type=Path, help='the candidate artifact file')
    canary.add_argument('--kind', required=True, choices=KINDS)
    canary.add_argument('--release', type=Path, default=None,
                        help='the current release (default: the shipped model; for a map or '
                             'policy: none, the shipped configuration)')
    canary.add_argument('--suite', default='canary',
                        help='suite file or installed config name (default config/canary.yaml)')
    canary.add_argument('--quick', action='store_true', help="run the suite's quick section")
    canary.add_argument('--address', default=None,
                        help='an existing Ray cluster (default: start a local one)')
    canary.add_argument('--num-cpus', type=int, default=None,
                        help='CPUs of the local cluster (default: all)')
    canary.add_argument('--report', type=Path, default=Path('reports/canary'),
                        help='report directory (default reports/canary)')
    canary.set_defaults(func=cmd_canary)


def build_jobs(suite: Suite, kind: str, release: Path | None, candidate: Path) -> list:
    """Return every run of the canary (ray_exec.Job): each case once per arm."""
    from robo_edge.canary import plan  # noqa: PLC0415
    from robo_edge.canary.ray_exec import Job  # noqa: PLC0415

    docs = plan.base_documents(suite)
    overrides = {'release': plan.arm_overrides(kind, release),
                 'candidate': plan.arm_overrides(kind, candidate)}
    jobs = []
    for case in plan.cases(suite, docs):
        scenario = plan.scenario_for(case, suite, docs)
        jobs.extend(Job(arm, case.case_id, scenario, overrides[arm]) for arm in plan.ARMS)
    return jobs


def cmd_canary(args: argparse.Namespace) -> int:
    """Run the canary, write its report and return 0 when the candidate passes."""
    from robo_edge import paths  # noqa: PLC0415
    from robo_edge.canary import plan  # noqa: PLC0415
    from robo_edge.canary.compare import Verdict, compare  # noqa: PLC0415
    from robo_edge.canary.ray_exec import run_jobs  # noqa: PLC0415
    from robo_edge.canary.report import provenance, write_report  # noqa: PLC0415
    from robo_edge.canary.suite import load_suite  # noqa: PLC0415

    suite = load_suite(paths.resolve(args.suite, 'config'), quick=args.quick)
    release = args.release if args.release is not None else plan.default_release(args.kind)
    jobs = build_jobs(suite, args.kind, release, args.candidate)
    stamp = provenance()
    start = time.monotonic()
    outcome = run_jobs(jobs, args.report, args.address, args.num_cpus, suite.retries)
    verdict = compare(outcome.records.get('release', {}), outcome.records.get('candidate', {}),
                      suite.thresholds)
    if outcome.errors:
        verdict = Verdict(False, [*verdict.reasons, f'{len(outcome.errors)} run(s) failed '
                                  'after their retries'], verdict.metrics)
    document = {
        **stamp, 'kind': args.kind, 'candidate': str(args.candidate.resolve()),
        'release': str(release.resolve()) if release else None, 'suite': suite.source,
        'quick': args.quick, 'cluster': args.address or 'local',
        'wall_time_s': time.monotonic() - start,
        'cases': sorted({j.case_id for j in jobs}), 'errors': outcome.errors,
        'runs': {arm: {case: _summary(r) for case, r in sorted(runs.items())}
                 for arm, runs in outcome.records.items()},
    }
    path = write_report(args.report, document, verdict)
    print(f'canary: {"PASS" if verdict.passed else "FAIL"}'
          + ''.join(f'\n  - {r}' for r in verdict.reasons))
    print(f'report: {path}, {path.with_name("differences.png")}')
    return EXIT_PASSED if verdict.passed else EXIT_FAILED


def _summary(record: dict) -> dict:
    """Return the parts of a run record the report keeps (the full one is in <arm>/)."""
    from robo_edge.canary.compare import run_metrics  # noqa: PLC0415

    return {'passed': record.get('passed'), 'failures': record.get('failures', [])[:5],
            'seed': record.get('seed'), 'wall_time_s': record.get('wall_time_s'),
            'metrics': run_metrics(record)}
