"""Storage of the floor-segmentation dataset: frames, shards, the manifest (pure).

Shards are compressed .npz files; the manifest records the seed, the generator, the counts,
the class balance and a SHA-256 over the arrays (not over the zip files, which carry dates).
`robo_edge.perception.dataset` renders the frames and re-exports these names.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robo_edge.perception.evaluation import resize_image, resize_labels

CLASSES = ('floor', 'obstacle')
ARRAYS = ('images', 'labels', 'poses', 'looks', 'void', 'worlds')


@dataclass(frozen=True)
class Frames:
    """Frames of one shard or split, index-aligned.

    images (N, H, W, 3) uint8 rgb; labels (N, H, W) uint8; poses (N, 3) float64 x, y, yaw;
    looks (N, 4) float64 light direction and noise std; void (N,) int64 pixels that show
    nothing (labelled obstacle); worlds (N,) str world names.
    """

    images: np.ndarray
    labels: np.ndarray
    poses: np.ndarray
    looks: np.ndarray
    void: np.ndarray
    worlds: np.ndarray

    def __len__(self) -> int:
        """Return the number of frames."""
        return int(self.images.shape[0])

    @staticmethod
    def concat(parts: list['Frames']) -> 'Frames':
        """Join frames in order."""
        return Frames(*(np.concatenate([getattr(p, name) for p in parts]) for name in ARRAYS))

    def take(self, index: np.ndarray | slice) -> 'Frames':
        """Return a subset of the frames."""
        return Frames(*(getattr(self, name)[index] for name in ARRAYS))

    def digest(self) -> str:
        """Return the SHA-256 of the arrays' bytes, in a fixed order."""
        h = hashlib.sha256()
        for name in ARRAYS[:-1]:
            array = np.ascontiguousarray(getattr(self, name))
            h.update(f'{name}{array.dtype.str}{array.shape}'.encode())
            h.update(array.tobytes())
        h.update('\n'.join(str(w) for w in self.worlds).encode())
        return h.hexdigest()


def save_shard(path: Path, frames: Frames) -> str:
    """Write one compressed shard; return its digest."""
    np.savez_compressed(path, **{name: getattr(frames, name) for name in ARRAYS})
    return frames.digest()


def load_shard(path: Path) -> Frames:
    """Read one shard."""
    with np.load(path, allow_pickle=False) as data:
        return Frames(*(data[name] for name in ARRAYS))


def class_fractions(frames: Frames) -> dict[str, float]:
    """Return the share of pixels per class, and of void pixels (counted in obstacle)."""
    counts = np.bincount(frames.labels.ravel(), minlength=len(CLASSES)).astype(np.float64)
    fractions = {name: float(counts[i] / counts.sum()) for i, name in enumerate(CLASSES)}
    fractions['void_in_obstacle'] = float(frames.void.sum() / counts.sum())
    return fractions


class SplitWriter:
    """Collect frames of one split and write them in shards of a fixed size."""

    def __init__(self, out_dir: Path, split: str, shard_frames: int) -> None:
        self.out_dir = out_dir
        self.split = split
        self.shard_frames = shard_frames
        self.pending: list[Frames] = []
        self.shards: list[dict[str, object]] = []
        self.fraction_sums = np.zeros(len(CLASSES) + 1)
        self.frames = 0

    def add(self, frames: Frames) -> None:
        """Take frames; write every full shard."""
        self.pending.append(frames)
        self.frames += len(frames)
        while sum(len(f) for f in self.pending) >= self.shard_frames:
            self.flush(final=False)

    def flush(self, final: bool = True) -> None:
        """Write one full shard of what is pending (`final`: everything pending)."""
        if not self.pending:
            return
        frames = Frames.concat(self.pending)
        keep = len(frames) if final else self.shard_frames
        self._write(frames.take(slice(0, keep)))
        rest = frames.take(slice(keep, None))
        self.pending = [rest] if len(rest) else []
        if final and self.pending:
            self.flush()

    def _write(self, frames: Frames) -> None:
        name = f'{self.split}-{len(self.shards):03d}.npz'
        digest = save_shard(self.out_dir / name, frames)
        self.shards.append({'file': name, 'frames': len(frames), 'sha256': digest})
        fractions = class_fractions(frames)
        self.fraction_sums += len(frames) * np.asarray(list(fractions.values()))

    def summary(self) -> dict[str, object]:
        """Return the split's frame count, shards and class fractions."""
        keys = [*CLASSES, 'void_in_obstacle']
        fractions = self.fraction_sums / max(self.frames, 1)
        return {'frames': self.frames, 'shards': self.shards,
                'class_fractions': {
                    k: round(float(v), 6) for k, v in zip(keys, fractions, strict=True)}}


def manifest_digest(splits: Mapping[str, Mapping[str, object]]) -> str:
    """Return one SHA-256 over every shard's name and digest, in split order."""
    h = hashlib.sha256()
    for split, summary in splits.items():
        for shard in summary['shards']:  # type: ignore[union-attr]
            h.update(f'{split}/{shard["file"]}:{shard["sha256"]}\n'.encode())
    return h.hexdigest()


def load_manifest(data_dir: Path) -> dict[str, object]:
    """Read a dataset's manifest."""
    return json.loads((data_dir / 'manifest.json').read_text())


def load_split(data_dir: Path, split: str, verify: bool = True) -> Frames:
    """Read every shard of a split, checking each against the manifest's digest."""
    manifest = load_manifest(data_dir)
    parts = []
    for shard in manifest['splits'][split]['shards']:
        frames = load_shard(data_dir / shard['file'])
        if verify and frames.digest() != shard['sha256']:
            raise ValueError(f'{data_dir / shard["file"]}: digest differs from the manifest')
        parts.append(frames)
    return Frames.concat(parts)


def make_sample(frames: Frames, count: int, width: int, height: int) -> dict[str, np.ndarray]:
    """Pick `count` evenly spaced frames, brought to the model's input size, for tests.

    Returns the arrays of the sample file: images, labels, poses, worlds and its digest.
    """
    index = np.linspace(0, len(frames) - 1, count).round().astype(int)
    chosen = frames.take(index)
    small = Frames(
        np.stack([resize_image(im, width, height) for im in chosen.images]),
        np.stack([resize_labels(lb, width, height) for lb in chosen.labels]),
        chosen.poses, chosen.looks, chosen.void, chosen.worlds,
    )
    return {**{name: getattr(small, name) for name in ARRAYS},
            'sha256': np.asarray(small.digest())}
