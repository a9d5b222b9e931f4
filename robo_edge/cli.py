"""The robo-edge command: bring up a stack, run scenarios, check config files, cloud sync."""

import argparse
import sys
from pathlib import Path
from typing import Any

from robo_edge.cli_canary import add_canary_verb
from robo_edge.cli_fleet import add_fleet_verbs
from robo_edge.cli_generate import add_scenario_generate, add_world_generate
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
    up.add_argument('--twin', metavar='WORLD', default=None,
                    help="play the robot's hardware in the twin (a world name or file), "
                         'free-running at real time')
    up.add_argument('--start', nargs=3, type=float, metavar=('X', 'Y', 'YAW'), default=None,
                    help="the twin's start pose (default: the world's first spawn hint)")
    up.add_argument('--live', action='store_true',
                    help='serve a Foxglove live view (mode, breakers, scans, map, plan, pose, '
                         'camera) on ws://localhost:PORT')
    up.add_argument('--live-port', type=_port, default=None, metavar='PORT',
                    help="the live view's port (with --live; default 8765)")
    up.set_defaults(func=_cmd_up)

    _add_status(verbs)

    scenario = verbs.add_parser('scenario', help='run, check or generate scenario files')
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
    add_scenario_generate(scenario_verbs)

    world = verbs.add_parser('world', help='check or generate world files')
    world_verbs = world.add_subparsers(dest='world_verb', required=True)
    world_check = world_verbs.add_parser('check', help='validate world files')
    world_check.add_argument('files', nargs='+')
    world_check.set_defaults(func=_cmd_world_check)
    add_world_generate(world_verbs)
    _add_cloud(verbs)
    return parser


def _add_status(verbs: argparse._SubParsersAction) -> None:
    status = verbs.add_parser('status', help='the declared graph beside the running one: '
                                             'nodes, restarts, parameters, versions')
    status.add_argument('config', help='bringup YAML file the graph was brought up from')
    status.add_argument('--domain-id', type=int, default=None, help='ROS_DOMAIN_ID to read')
    status.add_argument('--json', action='store_true', help='print JSON instead of a table')
    status.add_argument('--wait', type=float, default=3.0, metavar='S',
                        help="wait at most S seconds for the supervisor's figures (default 3)")
    status.set_defaults(func=_cmd_status)


def _add_cloud(verbs: argparse._SubParsersAction) -> None:
    cloud = verbs.add_parser('cloud', help='publish, serve and provision signed artifacts; '
                                           'the fleet CA and servers')
    cloud_verbs = cloud.add_subparsers(dest='cloud_verb', required=True)
    repo_args = argparse.ArgumentParser(add_help=False)
    repo_args.add_argument('--repo', required=True, type=Path, help='repository folder')
    repo_args.add_argument('--keys', type=Path, default=None,
                           help='signing keys folder (default: REPO/../keys; never served)')
    init = cloud_verbs.add_parser('init', parents=[repo_args], help='create a TUF repository')
    init.set_defaults(func=_cmd_cloud_init)
    publish = cloud_verbs.add_parser('publish', parents=[repo_args],
                                     help='sign and add an artifact (a map YAML is packed)')
    publish.add_argument('file', type=Path, help='ONNX model, policy YAML or nav2 map YAML')
    publish.add_argument('--kind', required=True, choices=('map', 'model', 'policy'))
    publish.add_argument('--target', required=True, help='target path, e.g. model/floor.onnx')
    publish.add_argument('--version', required=True)
    publish.add_argument('--release', required=True, type=int, help='release counter >= 0')
    publish.add_argument('--hardware', action='append', default=None,
                         help='a hardware id it fits (repeat; default: any)')
    publish.add_argument('--map-frame', default='map', help='frame of a map artifact')
    publish.set_defaults(func=_cmd_cloud_publish)
    serve = cloud_verbs.add_parser('serve', help='serve a repository (Range, robot uploads)')
    serve.add_argument('--repo', required=True, type=Path)
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--port', type=int, default=8765)
    serve.set_defaults(func=_cmd_cloud_serve)
    provision = cloud_verbs.add_parser('provision', help="install the repository's root.json "
                                                         "as a robot's trust anchor")
    provision.add_argument('--repo', required=True, type=Path)
    provision.add_argument('--data-dir', required=True, type=Path, help='cloud_sync data_dir')
    provision.set_defaults(func=_cmd_cloud_provision)
    add_fleet_verbs(cloud_verbs)
    add_canary_verb(cloud_verbs)


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


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f'a TCP port in 1..65535, not {port}')
    return port


def _cmd_up(args: argparse.Namespace) -> int:
    from robo_edge.supervisor import live  # noqa: PLC0415 - only this verb needs it
    from robo_edge.supervisor.up import up_main  # noqa: PLC0415 - only this verb needs ROS

    if args.live_port is not None and not args.live:
        print('robo-edge up: --live-port needs --live', file=sys.stderr)
        return EXIT_USAGE
    overlays = []
    if args.twin is not None:
        from robo_edge.scenario.twin_up import twin_overlay  # noqa: PLC0415 - the twin side

        overlays.append(twin_overlay(args.twin, args.start))
    if args.live:
        port = live.DEFAULT_PORT if args.live_port is None else args.live_port
        overlays.append(live.live_overlay(port))
        print(f'robo-edge up: live view on {live.live_url(port)} (Foxglove: Open connection, '
              'Foxglove WebSocket)', flush=True)
    return up_main(args.config, args.domain_id, overlay=live.chained(overlays))


def _cmd_status(args: argparse.Namespace) -> int:
    from robo_edge.supervisor.bringup import load_bringup  # noqa: PLC0415
    from robo_edge.supervisor.graph_status import status_main  # noqa: PLC0415 - needs ROS

    bringup = load_bringup(args.config)
    return status_main(bringup, args.domain_id, args.json, sys.stdout, args.wait)


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



def _repository(args: argparse.Namespace) -> Any:
    from robo_edge.sync.repository import Repository  # noqa: PLC0415 - only cloud verbs

    return Repository(args.repo, args.keys or args.repo.resolve().parent / 'keys')


def _cmd_cloud_init(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime  # noqa: PLC0415

    repo = _repository(args)
    repo.init(datetime.now(UTC))
    print(f'{repo.dir}: repository created; keys in {repo.keys_dir} (keep them offline)')
    return 0


def _cmd_cloud_publish(args: argparse.Namespace) -> int:
    import tempfile  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from robo_edge.sync import artifacts  # noqa: PLC0415
    from robo_edge.sync.policy import parse_custom  # noqa: PLC0415

    repo = _repository(args)
    compat: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if args.kind == 'map':
            path = artifacts.pack_map(args.file, Path(tmp) / 'map.tar')
            compat['map_frame'] = args.map_frame
        elif args.kind == 'model':
            from robo_edge.perception.model import load_model  # noqa: PLC0415

            session = load_model(args.file)
            compat['input_size'] = [session.spec.input.width, session.spec.input.height]
            session.close()
        else:
            artifacts.load_policy(args.file)
        info = parse_custom({'kind': args.kind, 'version': args.version,
                             'release': args.release, 'hardware': args.hardware or ['*'],
                             'compat': compat}, args.target)
        target = repo.add_target(path, args.target, info.to_dict(), datetime.now(UTC))
    print(f'{args.target}: {args.kind} {args.version} release {args.release}, '
          f'{target.length} bytes, sha256 {target.hashes["sha256"][:16]}…, '
          f'targets v{repo.version("targets")}')
    return 0


def _cmd_cloud_serve(args: argparse.Namespace) -> int:
    from robo_edge.sync.server import serve  # noqa: PLC0415

    return serve(args.repo, args.host, args.port)


def _cmd_cloud_provision(args: argparse.Namespace) -> int:
    from robo_edge.sync.client import provision  # noqa: PLC0415

    root = args.repo / 'metadata' / 'root.json'
    provision(args.data_dir / 'trust', root.read_bytes())
    print(f'{args.data_dir / "trust" / "root.json"}: trust anchor installed')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
