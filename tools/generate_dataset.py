"""Render the floor-segmentation dataset from the twin (train, val, held-out test splits).

    python tools/generate_dataset.py --out data/perception --seed 2024
    python tools/generate_dataset.py --out data/perception --sample-only \
        --sample test/data/perception_sample.npz

Prints a progress line every --every frames; writes shards and manifest.json into --out.
--sample also writes a few headline held-out frames at the model's input size (the test fixture).
"""

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robo_edge import paths  # noqa: E402
from robo_edge.perception.dataset import (  # noqa: E402
    HELD_OUT_WORLDS,
    DatasetSpec,
    generate,
    load_manifest,
    load_split,
    make_sample,
)
from robo_edge.twin.world import load_world  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    spec = DatasetSpec()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=Path('data/perception'))
    parser.add_argument('--seed', type=int, default=spec.seed)
    parser.add_argument('--train-worlds', type=int, default=spec.train_worlds)
    parser.add_argument('--val-worlds', type=int, default=spec.val_worlds)
    parser.add_argument('--frames-per-world', type=int, default=spec.frames_per_world)
    parser.add_argument('--held-out-frames', type=int, default=spec.held_out_frames,
                        help='frames per shipped (held-out) world')
    parser.add_argument('--every', type=int, default=200, help='progress line every N frames')
    parser.add_argument('--sample', type=Path, default=None,
                        help='also write a small sample of held-out frames to this .npz')
    parser.add_argument('--sample-only', action='store_true',
                        help='do not generate: write --sample from the dataset in --out')
    parser.add_argument('--sample-frames', type=int, default=8)
    parser.add_argument('--jobs', type=int, default=2,
                        help='worker processes (the data do not depend on it)')
    return parser.parse_args(argv)


def write_sample(data: Path, out: Path, frames: int) -> None:
    """Write the test fixture: evenly spaced frames of the headline held-out world, 160x120."""
    manifest = load_manifest(data)
    world = manifest['headline_world']
    sample = make_sample(load_split(data, f'test_{world}'), frames, 160, 120)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **sample)
    print(f'wrote {out} ({out.stat().st_size} bytes, {frames} frames of {world})')


def main(argv: list[str] | None = None) -> int:
    """Generate the dataset and print its manifest's summary."""
    args = parse_args(argv)
    if args.sample_only:
        write_sample(args.out, args.sample, args.sample_frames)
        return 0
    spec = DatasetSpec(
        seed=args.seed, train_worlds=args.train_worlds, val_worlds=args.val_worlds,
        frames_per_world=args.frames_per_world, held_out_frames=args.held_out_frames,
    )
    held_out = {
        name: load_world(paths.resolve(f'sim/worlds/{name}.yaml', 'sim/worlds'))
        for name in HELD_OUT_WORLDS
    }
    urdf = paths.resolve('sim/robot/diff_drive.urdf', 'sim/robot', suffix='.urdf')
    start = time.perf_counter()
    last = {'printed': 0}

    def progress(split: str, done: int, total: int) -> None:
        if done - last['printed'] < args.every and done < total:
            return
        last['printed'] = 0 if done >= total else done
        elapsed = time.perf_counter() - start
        print(f'[{elapsed:6.0f} s] {split}: {done}/{total} frames', flush=True)

    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            manifest = generate(spec, args.out, held_out, urdf, progress, pool.map)
    else:
        manifest = generate(spec, args.out, held_out, urdf, progress)
    elapsed = time.perf_counter() - start
    print(f'{manifest["frames"]} frames in {elapsed:.0f} s, seed {manifest["seed"]}, '
          f'sha256 {manifest["sha256"]}')
    for split, summary in manifest['splits'].items():
        print(f'  {split}: {summary["frames"]} frames, {summary["class_fractions"]}')
    if args.sample:
        write_sample(args.out, args.sample, args.sample_frames)
    return 0


if __name__ == '__main__':
    sys.exit(main())
