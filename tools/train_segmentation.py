"""Train the floor-segmentation model on CPU and export it to ONNX with its metadata.

    python tools/train_segmentation.py --data data/perception --out models/floor_seg.onnx

PyTorch is a train-time dependency (requirements/train.txt): nothing under robo_edge/ imports
it. The random-world train split trains the model, the random-world val split picks the best
epoch and stops early; the shipped worlds are not looked at here (tools/evaluate_segmentation.py
scores the exported file on them with onnxruntime).
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F  # noqa: N812 - the usual alias
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robo_edge.perception import dataset as ds  # noqa: E402
from robo_edge.perception.evaluation import (  # noqa: E402
    confusion,
    iou,
    resize_image,
    resize_labels,
)

MODEL_VERSION = 'floor_seg-3'
FORMAT = '1'


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """Return a 3x3 convolution, batch norm (folded into the conv on export) and ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FloorSeg(nn.Module):
    """A small U-Net: four stride-2 stages down to 1/16, three skip-joined stages back up.

    The deepest stage sees the whole frame (horizon and layout), the skips keep edges sharp;
    the head predicts at 1/2 resolution and is bilinearly upsampled to the input size.
    """

    def __init__(self, classes: int = 2, widths: tuple[int, ...] = (16, 24, 48, 64)) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.enc1 = nn.Sequential(conv_bn_relu(3, w1, 2), conv_bn_relu(w1, w1))
        self.enc2 = nn.Sequential(conv_bn_relu(w1, w2, 2), conv_bn_relu(w2, w2))
        self.enc3 = nn.Sequential(conv_bn_relu(w2, w3, 2), conv_bn_relu(w3, w3))
        self.enc4 = nn.Sequential(conv_bn_relu(w3, w4, 2), conv_bn_relu(w4, w4))
        self.dec3 = conv_bn_relu(w4 + w3, w3 * 3 // 4)
        self.dec2 = conv_bn_relu(w3 * 3 // 4 + w2, w2 * 3 // 4)
        self.dec1 = conv_bn_relu(w2 * 3 // 4 + w1, w1)
        self.head = nn.Conv2d(w1, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits at the input's resolution."""
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        y = self.dec3(torch.cat([_up(e4, e3), e3], 1))
        y = self.dec2(torch.cat([_up(y, e2), e2], 1))
        y = self.dec1(torch.cat([_up(y, e1), e1], 1))
        return _up(self.head(y), x)


def _up(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(t, size=like.shape[-2:], mode='bilinear', align_corners=False)


def load_split(data: Path, split: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Read a split shard by shard, brought to the model's size as the node will."""
    manifest = ds.load_manifest(data)
    images, labels = [], []
    for shard in manifest['splits'][split]['shards']:
        frames = ds.load_shard(data / shard['file'])
        if frames.digest() != shard['sha256']:
            raise SystemExit(f'{shard["file"]}: digest differs from the manifest')
        images += [resize_image(im, width, height) for im in frames.images]
        labels += [resize_labels(lb, width, height) for lb in frames.labels]
    return np.stack(images), np.stack(labels)


def augment(batch: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip, permute colour channels, change brightness/contrast, per image (0..1 input).

    Returns the images and which of them were flipped (their labels must flip too).
    """
    n = batch.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    perms = [torch.randperm(3, generator=gen) if torch.rand(1, generator=gen) < 0.5
             else torch.arange(3) for _ in range(n)]
    batch = torch.stack([img[p] for img, p in zip(batch, perms, strict=True)])
    contrast = 0.8 + 0.4 * torch.rand(n, 1, 1, 1, generator=gen)
    bright = 0.16 * torch.rand(n, 1, 1, 1, generator=gen) - 0.08
    return ((batch - 0.5) * contrast + 0.5 + bright).clamp(0.0, 1.0), flip


def labels_tensor(labels: np.ndarray, index: np.ndarray, flip: torch.Tensor) -> torch.Tensor:
    """Return the labels of a batch as int64, flipped where the images were."""
    target = torch.from_numpy(labels[index].astype(np.int64))
    return torch.where(flip[:, None, None], target.flip(-1), target)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray, mean: torch.Tensor,
             std: torch.Tensor, batch: int = 32) -> tuple[float, np.ndarray]:
    """Return (mIoU, IoU per class) of the model on frames."""
    model.eval()
    matrix = np.zeros((2, 2), dtype=np.int64)
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = to_tensor(images[start:start + batch])
            pred = model((x - mean) / std).argmax(1).numpy()
            matrix += confusion(pred, labels[start:start + batch], 2)
    per_class = iou(matrix)
    return float(np.nanmean(per_class)), per_class


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """Return uint8 NHWC images as float NCHW in 0..1."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', type=Path, default=Path('data/perception'))
    parser.add_argument('--out', type=Path, default=Path('models/floor_seg.onnx'))
    parser.add_argument('--width', type=int, default=160, help='model input width')
    parser.add_argument('--height', type=int, default=120, help='model input height')
    parser.add_argument('--widths', type=int, nargs=4, default=(16, 24, 48, 64),
                        help='channels of the four encoder stages')
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--patience', type=int, default=4, help='epochs without a better val')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--lr', type=float, default=3e-3)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (on a busy machine, 2 threads spin on each other)')
    parser.add_argument('--max-minutes', type=float, default=22.0,
                        help='stop after the epoch that crosses this wall-time budget')
    parser.add_argument('--report', type=Path, default=None,
                        help='training report JSON (default: <data>/train_report.json)')
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> dict:
    """Train, keep the best epoch on val, and return the report (model in the report)."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    order_rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    train_x, train_y = load_split(args.data, 'train', args.width, args.height)
    val_x, val_y = load_split(args.data, 'val', args.width, args.height)
    pixels = train_x.reshape(-1, 3).astype(np.float64) / 255.0
    mean = [round(float(v), 4) for v in pixels.mean(axis=0)]
    std = [round(float(v), 4) for v in pixels.std(axis=0)]
    del pixels
    print(f'loaded {len(train_x)} train, {len(val_x)} val frames at {args.width}x{args.height} '
          f'in {time.perf_counter() - t0:.0f} s; mean {mean} std {std}', flush=True)
    mean_t = torch.tensor(mean).view(1, 3, 1, 1)
    std_t = torch.tensor(std).view(1, 3, 1, 1)
    model = FloorSeg(len(ds.CLASSES), tuple(args.widths))
    params = sum(p.numel() for p in model.parameters())
    steps_per_epoch = math.ceil(len(train_x) / args.batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.15,
    )
    best = {'miou': -1.0, 'epoch': 0, 'state': None, 'iou': None}
    history = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = order_rng.permutation(len(train_x))
        losses = []
        for step in range(steps_per_epoch):
            index = np.sort(order[step * args.batch:(step + 1) * args.batch])
            x = to_tensor(train_x[index])
            x, flip = augment(x, gen)
            target = labels_tensor(train_y, index, flip)
            loss = F.cross_entropy(model((x - mean_t) / std_t), target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        val_miou, val_iou = evaluate(model, val_x, val_y, mean_t, std_t)
        elapsed = time.perf_counter() - start
        history.append({'epoch': epoch, 'loss': round(float(np.mean(losses)), 5),
                        'val_miou': round(val_miou, 5), 'seconds': round(elapsed, 1)})
        better = val_miou > best['miou']
        if better:
            best = {'miou': val_miou, 'epoch': epoch, 'iou': val_iou,
                    'state': {k: v.detach().clone() for k, v in model.state_dict().items()}}
        print(f'epoch {epoch:2d}/{args.epochs}: loss {np.mean(losses):.4f}, val mIoU '
              f'{val_miou:.4f} (floor {val_iou[0]:.4f}, obstacle {val_iou[1]:.4f})'
              f'{" *best" if better else ""}, {elapsed:.0f} s', flush=True)
        if epoch - best['epoch'] >= args.patience:
            print(f'early stop: no better val mIoU for {args.patience} epochs', flush=True)
            break
        if elapsed / epoch * (epoch + 1) > args.max_minutes * 60:
            print(f'stop: another epoch would pass the {args.max_minutes} min budget', flush=True)
            break
    model.load_state_dict(best['state'])
    model.eval()
    return {
        'model': model, 'mean': mean, 'std': std, 'val_x': val_x,
        'report': {
            'params': params, 'epochs_run': len(history), 'best_epoch': best['epoch'],
            'val_miou': round(best['miou'], 5),
            'val_iou_per_class': {c: round(float(v), 5) for c, v in zip(
                ds.CLASSES, best['iou'], strict=True)},
            'train_frames': len(train_x), 'val_frames': len(val_x),
            'train_seconds': round(time.perf_counter() - start, 1),
            'optimiser': f'AdamW(lr={args.lr}, weight_decay=1e-4), OneCycleLR, '
                         f'batch {args.batch}, cross-entropy',
            'augmentation': 'horizontal flip, RGB channel permutation, brightness/contrast',
            'widths': list(args.widths), 'threads': args.threads, 'seed': args.seed,
            'torch': torch.__version__,
            'input': {'width': args.width, 'height': args.height}, 'history': history,
        },
    }


def metadata(args: argparse.Namespace, mean: list[float], std: list[float]) -> dict[str, str]:
    """Return the model-file contract's metadata known at export (metrics come later)."""
    manifest = ds.load_manifest(args.data)
    return {
        'robo_edge.format': FORMAT,
        'robo_edge.classes': json.dumps(list(ds.CLASSES)),
        'robo_edge.input': json.dumps({
            'name': 'image', 'layout': 'NCHW', 'height': args.height, 'width': args.width,
            'mean': mean, 'std': std,
        }),
        'robo_edge.output': json.dumps({'name': 'logits', 'kind': 'logits'}),
        'robo_edge.dataset': json.dumps({
            'seed': manifest['seed'], 'sha256': manifest['sha256'],
            'frames': manifest['frames'], 'generator': manifest['generator'],
            'held_out_worlds': manifest['held_out_worlds'],
            'train_frames': manifest['splits']['train']['frames'],
        }),
        'robo_edge.version': MODEL_VERSION,
    }


def export(model: nn.Module, args: argparse.Namespace, props: dict[str, str]) -> None:
    """Export to ONNX (opset 17, TorchScript exporter), then attach the metadata."""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, args.height, args.width)
    torch.onnx.export(
        model, (dummy,), str(args.out), input_names=['image'], output_names=['logits'],
        opset_version=17, do_constant_folding=True, dynamo=False,
    )
    proto = onnx.load(str(args.out))
    onnx.checker.check_model(proto)
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = 'robo_edge floor segmentation: floor (0) vs obstacle (1) logits'
    onnx.save(proto, str(args.out))


def verify(model: nn.Module, args: argparse.Namespace, val_x: np.ndarray, mean: list[float],
           std: list[float], frames: int = 16) -> float:
    """Compare onnxruntime's logits with torch's on val frames; return the max abs diff."""
    session = ort.InferenceSession(str(args.out), providers=['CPUExecutionProvider'])
    mean_t = torch.tensor(mean).view(1, 3, 1, 1)
    std_t = torch.tensor(std).view(1, 3, 1, 1)
    worst = 0.0
    with torch.no_grad():
        for image in val_x[:frames]:
            x = ((to_tensor(image[None]) - mean_t) / std_t).contiguous()
            expected = model(x).numpy()
            got = session.run(['logits'], {'image': x.numpy()})[0]
            worst = max(worst, float(np.abs(expected - got).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    """Train, export, verify the export, write the training report."""
    args = parse_args(argv)
    result = train(args)
    model, mean, std = result['model'], result['mean'], result['std']
    export(model, args, metadata(args, mean, std))
    diff = verify(model, args, result['val_x'], mean, std)
    print(f'onnxruntime vs torch: max abs logit diff {diff:.2e} over 16 val frames', flush=True)
    if diff > 1e-3:
        raise SystemExit(f'export check failed: max abs diff {diff} > 1e-3')
    report = {**result['report'], 'onnx_max_abs_diff': diff,
              'onnx_bytes': args.out.stat().st_size, 'onnx': str(args.out)}
    path = args.report or args.data / 'train_report.json'
    path.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {args.out} ({report["onnx_bytes"]} bytes, {report["params"]} parameters), '
          f'report {path}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
