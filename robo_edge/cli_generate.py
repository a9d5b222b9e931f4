"""The generate verbs of robo-edge: seeded worlds and navigation scenarios over them."""

import argparse
import os
import sys
from pathlib import Path

EXIT_USAGE = 2
KIND_HELP = 'layout: rooms, corridor, aisles or hall (default: drawn from the seed)'
SEED_HELP = 'evaluation seed (100000 or more; lower seeds are reserved for training data)'


def add_world_generate(world_verbs: argparse._SubParsersAction) -> None:
    """Register `robo-edge world generate`."""
    generate = world_verbs.add_parser('generate', help='generate a world from a seed')
    generate.add_argument('--seed', type=int, required=True, help=SEED_HELP)
    generate.add_argument('--kind', default=None, help=KIND_HELP)
    generate.add_argument('--out', type=Path, default=None,
                          help='world YAML file to write (default: print it)')
    generate.set_defaults(func=_cmd_world_generate)


def add_scenario_generate(scenario_verbs: argparse._SubParsersAction) -> None:
    """Register `robo-edge scenario generate`."""
    generate = scenario_verbs.add_parser(
        'generate', help='generate a navigation scenario with reachable goals from a seed')
    generate.add_argument('--seed', type=int, required=True, help=SEED_HELP)
    generate.add_argument('--goals', type=int, default=4, help='number of goals')
    generate.add_argument('--kind', default=None, help=KIND_HELP)
    generate.add_argument('--out', type=Path, required=True, help='scenario YAML file')
    generate.add_argument('--world-out', type=Path, default=None,
                          help='also write the world here and refer to it (default: inline)')
    generate.add_argument('--no-camera', action='store_true',
                          help='turn the camera off (faster; the lighting then shows nowhere)')
    generate.add_argument('--navigation-config', type=Path, default=None,
                          help="the planner's robot radius and margin come from this file "
                               '(default: the installed config/navigation.yaml)')
    generate.set_defaults(func=_cmd_scenario_generate)


def _fail(error: Exception) -> int:
    print(f'robo-edge: error: {error}', file=sys.stderr)
    return EXIT_USAGE


def _cmd_world_generate(args: argparse.Namespace) -> int:
    import yaml  # noqa: PLC0415 - the parser stays light

    from robo_edge.twin.worldgen import generate_world, write_world  # noqa: PLC0415

    try:
        doc = generate_world(args.seed, args.kind)
    except ValueError as e:
        return _fail(e)
    if args.out is None:
        print(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=99), end='')
        return 0
    write_world(doc, args.out)
    print(f'{args.out}: {doc["world"]["name"]}: {doc["world"]["description"]}')
    return 0


def _footprint(path: Path | None, robot: str = 'default') -> tuple[float, float]:
    """Return the robot's footprint radius and the planner's inflation margin."""
    from robo_edge.twin.goalgen import installed_footprint  # noqa: PLC0415

    return installed_footprint(robot, path)


def _cmd_scenario_generate(args: argparse.Namespace) -> int:
    from robo_edge.twin.goalgen import generate_scenario, write_scenario  # noqa: PLC0415
    from robo_edge.twin.worldgen import generate_world, write_world  # noqa: PLC0415

    try:
        radius, margin = _footprint(args.navigation_config)
        world_ref = None
        if args.world_out is not None:
            write_world(generate_world(args.seed, args.kind), args.world_out)
            world_ref = os.path.relpath(args.world_out.resolve(), args.out.resolve().parent)
        doc = generate_scenario(args.seed, args.goals, radius, margin, args.kind, world_ref,
                                camera=not args.no_camera)
    except ValueError as e:
        return _fail(e)
    write_scenario(doc, args.out)
    print(f'{args.out}: {doc["name"]}, {len(doc["goals"])} goals, '
          f'duration {doc["duration_s"]:.0f} s (robot radius {radius} m + margin {margin} m)')
    return 0
