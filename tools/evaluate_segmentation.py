"""Score the exported floor-segmentation model on the held-out shipped worlds with onnxruntime.

    python tools/evaluate_segmentation.py --model models/floor_seg.onnx --data data/perception

Measures mIoU per world and per class on the test splits (the shipped worlds, never trained
on), the output statistics for drift checks, and the inference latency with 1 and 2
intra-op threads. Writes the metrics into the model's metadata (`robo_edge.metrics`,
`robo_edge.reference_output`) and bench/results/perception_model.json.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'bench'))

from _hostinfo import host_info  # noqa: E402

from robo_edge.perception import dataset as ds  # noqa: E402
from robo_edge.perception.evaluation import (  # noqa: E402
    InputSpec,
    Scores,
    reference_output,
    score,
    to_input,
)


def session(model: Path, threads: int) -> ort.InferenceSession:
    """Open the model on the CPU with a fixed number of intra-op threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model), options, providers=['CPUExecutionProvider'])


def latency(model: Path, spec: InputSpec, frames: np.ndarray, threads: int, runs: int,
            warmup: int = 20) -> dict[str, float | int]:
    """Time preprocessing and session.run per frame; return percentiles in milliseconds."""
    sess = session(model, threads)
    run_ms, prep_ms = [], []
    for i in range(warmup + runs):
        rgb = frames[i % len(frames)]
        t0 = time.perf_counter()
        x = to_input(rgb, spec)
        t1 = time.perf_counter()
        sess.run(['logits'], {spec.name: x})
        t2 = time.perf_counter()
        if i >= warmup:
            prep_ms.append((t1 - t0) * 1e3)
            run_ms.append((t2 - t1) * 1e3)
    run = np.asarray(run_ms)
    return {
        'threads': threads, 'count': int(run.size),
        'p50_ms': round(float(np.percentile(run, 50)), 3),
        'p99_ms': round(float(np.percentile(run, 99)), 3),
        'max_ms': round(float(run.max()), 3),
        'preprocess_p50_ms': round(float(np.percentile(prep_ms, 50)), 3),
    }


def world_entry(scores: Scores, frames: int) -> dict[str, object]:
    """Return one world's figures."""
    return {
        'frames': frames, 'miou': round(scores.miou, 4),
        'iou_per_class': {c: round(float(v), 4) for c, v in zip(
            ds.CLASSES, scores.iou, strict=True)},
        'confusion': scores.confusion.tolist(),
    }


def write_metadata(model: Path, props: dict[str, str]) -> None:
    """Replace the given keys in the model's metadata_props, keeping the others and order."""
    proto = onnx.load(str(model))
    existing = {p.key: p.value for p in proto.metadata_props}
    existing.update(props)
    del proto.metadata_props[:]
    for key, value in existing.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(model))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', type=Path, default=Path('models/floor_seg.onnx'))
    parser.add_argument('--data', type=Path, default=Path('data/perception'))
    parser.add_argument('--out', type=Path, default=REPO / 'bench/results/perception_model.json')
    parser.add_argument('--runs', type=int, default=300, help='timed runs per thread count')
    parser.add_argument('--no-write-metadata', action='store_true',
                        help='leave the model file unchanged')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Evaluate, time, and record the results."""
    args = parse_args(argv)
    manifest = ds.load_manifest(args.data)
    sess = session(args.model, 2)
    meta = sess.get_modelmeta().custom_metadata_map
    spec = InputSpec.from_metadata(meta)
    classes = json.loads(meta['robo_edge.classes'])
    headline = manifest['headline_world']

    def predict(x: np.ndarray) -> np.ndarray:
        return sess.run(['logits'], {spec.name: x})[0]

    per_world: dict[str, dict[str, object]] = {}
    all_scores: list[Scores] = []
    images_for_timing = None
    for world in manifest['held_out_worlds']:
        frames = ds.load_split(args.data, f'test_{world}')
        scores = score(frames.images, frames.labels, predict, spec, len(classes))
        all_scores.append(scores)
        per_world[world] = world_entry(scores, len(frames))
        if world == headline:
            images_for_timing = frames.images
        print(f'{world:>15}: mIoU {scores.miou:.4f} (floor {scores.iou[0]:.4f}, obstacle '
              f'{scores.iou[1]:.4f}) over {len(frames)} frames', flush=True)
    pooled = Scores(sum(s.confusion for s in all_scores),
                    np.concatenate([s.floor_fraction for s in all_scores]),
                    np.concatenate([s.confidence for s in all_scores]))
    print(f'{"all held-out":>15}: mIoU {pooled.miou:.4f} (floor {pooled.iou[0]:.4f}, '
          f'obstacle {pooled.iou[1]:.4f})', flush=True)
    metrics = {
        'miou_held_out': per_world[headline]['miou'],
        'held_out_world': headline,
        'iou_per_class': per_world[headline]['iou_per_class'],
        'per_world': {w: e['miou'] for w, e in per_world.items()},
        'miou_all_held_out': round(pooled.miou, 4),
        'resolution': f'{spec.width}x{spec.height}',
    }
    reference = reference_output(pooled)
    timing = [latency(args.model, spec, images_for_timing, t, args.runs) for t in (1, 2)]
    for t in timing:
        print(f'onnxruntime {t["threads"]} thread(s): p50 {t["p50_ms"]} ms, p99 '
              f'{t["p99_ms"]} ms, max {t["max_ms"]} ms ({t["count"]} runs); preprocess p50 '
              f'{t["preprocess_p50_ms"]} ms', flush=True)
    if not args.no_write_metadata:
        write_metadata(args.model, {
            'robo_edge.metrics': json.dumps(metrics),
            'robo_edge.reference_output': json.dumps(reference),
        })
    train_report = args.data / 'train_report.json'
    result = {
        'model': str(args.model),
        'model_bytes': args.model.stat().st_size,
        'version': meta.get('robo_edge.version'),
        'dataset': json.loads(meta['robo_edge.dataset']),
        'input': json.loads(meta['robo_edge.input']),
        'metrics': metrics,
        'per_world': per_world,
        'all_held_out': world_entry(pooled, int(pooled.confidence.size)),
        'reference_output': reference,
        'latency': timing,
        'load_average_1m': round(os.getloadavg()[0], 2),
        'onnxruntime': ort.__version__,
        'training': (json.loads(train_report.read_text()) if train_report.exists() else None),
        'host': host_info(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + '\n')
    print(f'wrote {args.out}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
