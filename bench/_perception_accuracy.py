"""The accuracy section of bench/perception.py: the virtual scan against the LiDAR, per world.

No ROS. The robot is placed at poses with clearance in each world, the camera and the LiDAR
are rendered, and the virtual scans of the model's mask and of the ground-truth mask are
compared with the LiDAR (|error| on beams whose LiDAR range is within MAX_RANGE_M). Worlds:
the four shipped ones, and generated ones from the evaluation seeds (the same worlds, with
their random light, that bench/degradation.py drives in; never the training seeds).

Targets (issue 18): on the generated worlds, the median over all of them at most
GENERATED_MEDIAN_M and no world's median above WORLD_MEDIAN_M.
"""

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from robo_edge import paths
from robo_edge.perception import evaluate
from robo_edge.perception.model import ModelSession, load_model
from robo_edge.perception.preprocess import Normaliser, segment
from robo_edge.perception.virtual_scan import MountPose, ScanConfig, column_grid, virtual_scan
from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin.config import TwinConfig
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import World, load_world, parse_world
from robo_edge.twin.worldgen import EVALUATION_SEED_START, generate_lighting, generate_world

SHIPPED = ('empty_room', 'cluttered_room', 'corridors', 'warehouse')
CONFIG = ScanConfig(range_min=0.1, range_max=4.0, min_obstacle_rows=2)
MAX_RANGE_M = 4.0
GENERATED_MEDIAN_M = 0.05
WORLD_MEDIAN_M = 0.10


@dataclass(frozen=True)
class Case:
    """A world to score, the twin settings it renders with, and its evaluation seed."""

    name: str
    world: World
    config: TwinConfig
    world_seed: int | None = None


def shipped(name: str) -> Case:
    """Return a shipped world with the twin's default camera."""
    return Case(name, load_world(paths.resolve(name, 'sim/worlds')), TwinConfig())


def generated(index: int) -> Case:
    """Return the index-th evaluation world with its seed's light."""
    seed = EVALUATION_SEED_START + index
    doc = generate_world(seed)
    light = generate_lighting(seed)['camera.light_direction']
    config = TwinConfig()
    config = replace(config, camera=replace(config.camera, light_direction=tuple(light)))
    return Case(f'gen{seed}', parse_world(doc, f'gen{seed}'), config, seed)


def render_views(case: Case, count: int, seed: int) -> list[evaluate.View]:
    """Render `count` views at poses with clearance in the case's world."""
    twin = Twin(case.world, case.config, 0, Pose2D(0.0, 0.0, 0.0),
                paths.share_file('sim', 'robot', 'diff_drive.urdf'), render_segmentation=True)
    try:
        poses = evaluate.free_poses(twin, count, np.random.default_rng(seed))
        return [evaluate.render_view(twin, pose) for pose in poses]
    finally:
        twin.close()


def score_view(session: ModelSession, view: evaluate.View, source: str) -> evaluate.ScanErrors:
    """Return the scan errors of one view, from the model's mask or the ground truth's."""
    spec = session.spec.input
    geometry = evaluate.geometry_for(view, spec.width, spec.height, MountPose())
    grid = column_grid(geometry, CONFIG)
    if source == 'model':
        logits = session.run(Normaliser(spec)(view.image.rgb))
        margin = segment(logits, session.spec.floor_index).floor_margin
    else:
        margin = evaluate.ground_truth_margin(view.floor, spec.width, spec.height)
    return evaluate.compare(virtual_scan(margin, geometry, grid, CONFIG), view.scan, MAX_RANGE_M)


def summarise_errors(results: list[evaluate.ScanErrors]) -> dict[str, Any]:
    """Return median / p90 |error|, and missed and phantom beams, over many views."""
    errors = np.concatenate([r.errors for r in results]) if results else np.zeros(0)
    seen = int(errors.size + sum(r.missed for r in results))
    return {
        'median_m': float(np.median(errors)) if errors.size else None,
        'p90_m': float(np.percentile(errors, 90)) if errors.size else None,
        'within_0_10_m': float(np.mean(errors <= 0.10)) if errors.size else None,
        'beams_compared': int(errors.size),
        'missed': int(sum(r.missed for r in results)),
        'missed_fraction': (sum(r.missed for r in results) / seen) if seen else None,
        'phantom': int(sum(r.phantom for r in results)),
        'beams_in_view': int(sum(r.beams for r in results)),
    }


def score_group(session: ModelSession, cases: list[Case], poses: int, seed: int
                ) -> dict[str, Any]:
    """Score every case of a group; return per-world rows and the group's pooled figures."""
    rows, pooled = [], {'model': [], 'ground_truth': []}
    for i, case in enumerate(cases):
        views = render_views(case, poses, seed + i)
        row: dict[str, Any] = {'world': case.name, 'world_seed': case.world_seed,
                               'poses': len(views)}
        for source in pooled:
            results = [score_view(session, view, source) for view in views]
            pooled[source] += results
            row[source] = summarise_errors(results)
        rows.append(row)
        print(f'  {case.name}: model {_metres(row["model"]["median_m"])}, ground truth '
              f'{_metres(row["ground_truth"]["median_m"])}', flush=True)
    return {'worlds': rows,
            'all': {source: summarise_errors(results) for source, results in pooled.items()}}


def targets(group: dict[str, Any]) -> dict[str, Any]:
    """Return the generated worlds' targets: the pooled median, and the worst world's."""
    medians = [row['model']['median_m'] for row in group['worlds']]
    known = [m for m in medians if m is not None]
    worst = max(known) if known else None
    pooled = group['all']['model']['median_m']
    return {
        'generated_median': {'value': pooled, 'limit': GENERATED_MEDIAN_M,
                             'met': pooled is not None and pooled <= GENERATED_MEDIAN_M},
        'worst_world_median': {'value': worst, 'limit': WORLD_MEDIAN_M,
                               'met': worst is not None and len(known) == len(medians)
                               and worst <= WORLD_MEDIAN_M},
    }


def bench_accuracy(path: Any, args: Any) -> dict[str, Any]:
    """Score the shipped worlds and `args.generated` evaluation worlds; check the targets."""
    session = load_model(path, ['CPUExecutionProvider'], 2)
    print(' shipped worlds:', flush=True)
    ship = score_group(session, [shipped(name) for name in SHIPPED], args.poses, args.seed)
    print(f' generated worlds (evaluation seeds from {EVALUATION_SEED_START}):', flush=True)
    gen = score_group(session, [generated(i) for i in range(args.generated)], args.poses,
                      args.seed + len(SHIPPED))
    return {'range_within_m': MAX_RANGE_M, 'scan_config': CONFIG.__dict__,
            'worlds': ship['worlds'], 'all': ship['all'], 'generated': gen,
            'targets': targets(gen)}


def _metres(value: float | None) -> str:
    return '-' if value is None else f'{value:.3f} m'
