"""The robo-edge command: bring up a stack, run scenarios in the twin, check config files."""

import argparse
import sys
from pathlib import Path

from robo_edge.exceptions import ConfigError, RoboEdgeError

EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every verb."""
    parser = argparse.ArgumentParser(prog='robo-edge', description=__doc__)
    verbs = parser.add_subparsers(dest='verb', required=True)

    up = verbs.add_parser('up', help='start every node of a bringup file under the supervisor')
    up.add_argument('config', help='bringup YAML file')
    up.add_argument('--domain-id', type=int, default=None, help='ROS_DOMAIN_ID for the nodes')
    up.set_defaults(func=_cmd_up)

    scenario = verbs.add_parser('scenario', help='run or check scenario files')
    scenario_verbs = scenario.add_subparsers(dest='scenario_verb', required=True)
    run = scenario_verbs.add_parser('run', help='run scenarios in the twin and report verdicts')
    run.add_argument('files', nargs='+', help='scenario YAML files')
    run.add_argument('--report', required=True, type=Path, help='report directory')
    run.add_argument('--jobs', type=int, default=1, help='scenarios run in parallel')
    run.add_argument('--no-record', action='store_true', help='skip the MCAP recording')
    run.add_argument('--echo', action='store_true', help="show every node's log lines")
    run.set_defaults(func=_cmd_scenario_run)
    check = scenario_verbs.add_parser('check', help='validate scenario files and their worlds')
    check.add_argument('files', nargs='+')
    check.set_defaults(func=_cmd_scenario_check)

    world = verbs.add_parser('world', help='check or draw world files')
    world_verbs = world.add_subparsers(dest='world_verb', required=True)
    world_check = world_verbs.add_parser('check', help='validate world files')
    world_check.add_argument('files', nargs='+')
    world_check.set_defaults(func=_cmd_world_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; config errors print one clear line and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as e:
        print(f'robo-edge: error: {e}', file=sys.stderr)
        return EXIT_USAGE
    except RoboEdgeError as e:
        print(f'robo-edge: error: {e}', file=sys.stderr)
        return EXIT_FAILED


def _cmd_up(args: argparse.Namespace) -> int:
    from robo_edge.supervisor.up import up_main  # noqa: PLC0415 - only this verb needs ROS

    return up_main(args.config, args.domain_id)


def _cmd_scenario_run(args: argparse.Namespace) -> int:
    from robo_edge.scenario.runner import RunOptions, run_scenarios  # noqa: PLC0415
    from robo_edge.scenario.spec import load_scenario  # noqa: PLC0415

    scenarios = [load_scenario(path) for path in args.files]
    options = RunOptions(args.report, args.jobs, not args.no_record, args.echo)
    results = run_scenarios(scenarios, options)
    _print_summary(results)
    print(f'reports: {args.report}/<name>.json|.png|.mcap, {args.report}/junit.xml')
    return 0 if all(r['passed'] for r in results) else EXIT_FAILED


def _print_summary(results: list[dict]) -> None:
    header = f'{"scenario":<34} {"verdict":<7} {"collisions":>10} {"goals":>7} ' \
             f'{"clearance":>9} {"path_m":>7} {"sim_s":>6} {"rtf":>5}  trajectory'
    print(header)
    print('-' * len(header))
    for r in results:
        clearance = r.get('min_clearance_m')
        print(
            f'{r["name"]:<34} {"PASS" if r["passed"] else "FAIL":<7} '
            f'{len(r.get("collisions", [])):>10} '
            f'{r.get("goals_reached", 0)}/{r.get("goals_total", 0):<5} '
            f'{clearance if clearance is None else round(clearance, 2)!s:>9} '
            f'{r.get("path_length_m", 0.0):>7.2f} {r.get("sim_time_s", 0.0):>6.1f} '
            f'{r.get("real_time_factor", 0.0):>5.2f}  {r.get("trajectory_hash", "")[:12]}'
        )
    for r in results:
        for failure in r.get('failures', []):
            print(f'  {r["name"]}: {failure}')


def _cmd_scenario_check(args: argparse.Namespace) -> int:
    from robo_edge.scenario import stack  # noqa: PLC0415
    from robo_edge.scenario.spec import load_scenario  # noqa: PLC0415
    from robo_edge.twin.world import load_world  # noqa: PLC0415

    for path in args.files:
        scenario = load_scenario(path)
        if scenario.world_ref is not None:
            load_world(stack.world_file(scenario, Path('.')))
        print(f'{path}: ok ({scenario.name})')
    return 0


def _cmd_world_check(args: argparse.Namespace) -> int:
    from robo_edge.twin.world import load_world  # noqa: PLC0415

    for path in args.files:
        world = load_world(path)
        print(f'{path}: ok ({world.name}: {len(world.boxes)} boxes and walls, '
              f'{len(world.cylinders)} cylinders)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
