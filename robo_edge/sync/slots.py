"""A/B slots per artifact channel: stage into the inactive slot, verify, then swap a pointer.

    <store>/<channel>/a/, b/       slots: `payload` (the verified bytes), `info.json`, and for
                                   maps the unpacked `map/` folder
    <store>/<channel>/active.json  which slot is active, its sha256 and release, the previous
                                   slot (for rollback) and the sha256 values rolled back from

Only the inactive slot is ever written: it is built in `<slot>.staging`, every file fsynced,
checked, and renamed into place; then `active.json` is replaced by write-fsync-rename. A kill
at any moment therefore leaves `active.json` naming a slot that is whole and verified: the old
one or the new one. `active()` re-hashes the payload before it returns anything.
"""

import errno
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from robo_edge.exceptions import ArtifactRejected, SyncError
from robo_edge.sync.fsutil import atomic_write, fsync_dir
from robo_edge.sync.policy import ArtifactInfo

SLOTS = ('a', 'b')
PAYLOAD = 'payload'
POINTER = 'active.json'
CHUNK = 1 << 20

# Checks the staged folder (payload + anything unpacked); raises ArtifactRejected.
Verifier = Callable[[Path, ArtifactInfo], None]


@dataclass(frozen=True)
class SlotRecord:
    """What one slot holds."""

    slot: str
    sha256: str
    target: str
    info: dict[str, Any]
    activated_ns: int = 0


@dataclass(frozen=True)
class Pointer:
    """The content of active.json."""

    active: SlotRecord
    previous: SlotRecord | None = None
    blocked: tuple[str, ...] = field(default_factory=tuple)  # sha256 values rolled back from

    def to_json(self) -> bytes:
        """Serialise."""
        doc = {'active': asdict(self.active),
               'previous': asdict(self.previous) if self.previous else None,
               'blocked': list(self.blocked)}
        return json.dumps(doc, indent=1, sort_keys=True).encode()

    @staticmethod
    def from_json(data: bytes) -> 'Pointer':
        """Parse."""
        doc = json.loads(data)
        previous = doc.get('previous')
        return Pointer(SlotRecord(**doc['active']),
                       SlotRecord(**previous) if previous else None,
                       tuple(doc.get('blocked', ())))


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_file(src: Path, dst: Path) -> None:
    """Copy `src` to a new file `dst` and fsync it (ENOSPC surfaces as OSError)."""
    with open(src, 'rb') as fin, open(dst, 'wb') as fout:
        while chunk := fin.read(CHUNK):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())


def fsync_tree(root: Path) -> None:
    """Fsync every file and folder under root (files written by unpackers too)."""
    for directory, _, files in os.walk(root):
        for name in files:
            fd = os.open(Path(directory) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(directory))


def channel_dir_name(target: str) -> str:
    """Return the folder name of a target path's channel."""
    return target.replace('/', '__')


class SlotStore:
    """The A/B slots of every channel under one folder."""

    def __init__(self, root: Path, verifiers: dict[str, Verifier] | None = None) -> None:
        self.root = Path(root)
        self.verifiers = dict(verifiers or {})
        # Pointer changes come from the sync worker (activate) and from probation (rollback).
        self._lock = threading.RLock()

    def _dir(self, target: str) -> Path:
        return self.root / channel_dir_name(target)

    def pointer(self, target: str) -> Pointer | None:
        """Return the channel's pointer (None before the first activation)."""
        path = self._dir(target) / POINTER
        try:
            return Pointer.from_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            raise SyncError(f'{path}: unreadable pointer: {e}') from e

    def slot_dir(self, target: str, slot: str) -> Path:
        """Return the folder of one slot."""
        return self._dir(target) / slot

    def active(self, target: str) -> SlotRecord | None:
        """Return the active slot after re-hashing its payload; None when nothing is active."""
        pointer = self.pointer(target)
        if pointer is None:
            return None
        payload = self.slot_dir(target, pointer.active.slot) / PAYLOAD
        if not payload.is_file() or sha256_file(payload) != pointer.active.sha256:
            raise SyncError(f'{payload}: active payload missing or not what was verified')
        return pointer.active

    def active_path(self, target: str) -> Path | None:
        """Return the folder of the active slot (verified), or None."""
        record = self.active(target)
        return None if record is None else self.slot_dir(target, record.slot)

    def is_blocked(self, target: str, sha256: str) -> bool:
        """Return whether a candidate was rolled back from before (never reinstalled)."""
        pointer = self.pointer(target)
        return pointer is not None and sha256 in pointer.blocked

    def stage(self, target: str, source: Path, sha256: str, info: ArtifactInfo) -> str:
        """Build the inactive slot from a verified download; return the slot name."""
        pointer = self.pointer(target)
        slot = SLOTS[0] if pointer is None or pointer.active.slot == SLOTS[1] else SLOTS[1]
        channel = self._dir(target)
        channel.mkdir(parents=True, exist_ok=True)
        staging = channel / f'{slot}.staging'
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir()
            copy_file(source, staging / PAYLOAD)
            if sha256_file(staging / PAYLOAD) != sha256:
                raise ArtifactRejected(f'{target}: staged bytes differ from the verified hash')
            verifier = self.verifiers.get(info.kind)
            if verifier is not None:
                verifier(staging, info)
            record = SlotRecord(slot, sha256, target, info.to_dict())
            atomic_write(staging / 'info.json', json.dumps(asdict(record)).encode())
            fsync_tree(staging)
        except OSError as e:
            shutil.rmtree(staging, ignore_errors=True)
            full = e.errno in (errno.ENOSPC, errno.EDQUOT)
            raise SyncError(f'{target}: staging failed ({"disk full" if full else e})') from e
        except Exception:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        with self._lock:
            if self.pointer(target) != pointer:
                shutil.rmtree(staging, ignore_errors=True)
                raise SyncError(f'{target}: the active slot changed while staging')
            final = channel / slot
            shutil.rmtree(final, ignore_errors=True)
            os.rename(staging, final)
            fsync_dir(channel)
        return slot

    def activate(self, target: str, slot: str, now_ns: int) -> SlotRecord:
        """Make a staged slot active (one atomic pointer replace); keep the old as previous."""
        with self._lock:
            return self._activate(target, slot, now_ns)

    def _activate(self, target: str, slot: str, now_ns: int) -> SlotRecord:
        doc = json.loads((self.slot_dir(target, slot) / 'info.json').read_bytes())
        record = SlotRecord(**{**doc, 'activated_ns': now_ns})
        if sha256_file(self.slot_dir(target, slot) / PAYLOAD) != record.sha256:
            raise SyncError(f'{target}: slot {slot} changed after staging')
        pointer = self.pointer(target)
        previous = pointer.active if pointer is not None else None
        blocked = pointer.blocked if pointer is not None else ()
        atomic_write(self._dir(target) / POINTER, Pointer(record, previous, blocked).to_json())
        return record

    def withdraw(self, target: str) -> None:
        """Make nothing active (the only slot was refused); its slot stays on disk."""
        with self._lock:
            (self._dir(target) / POINTER).unlink(missing_ok=True)

    def rollback(self, target: str, now_ns: int) -> SlotRecord:
        """Return to the previous slot and block the current sha256 from reinstalling."""
        with self._lock:
            return self._rollback(target, now_ns)

    def _rollback(self, target: str, now_ns: int) -> SlotRecord:
        pointer = self.pointer(target)
        if pointer is None or pointer.previous is None:
            raise SyncError(f'{target}: no previous slot to roll back to')
        previous = pointer.previous
        payload = self.slot_dir(target, previous.slot) / PAYLOAD
        if not payload.is_file() or sha256_file(payload) != previous.sha256:
            raise SyncError(f'{target}: previous slot {previous.slot} no longer intact')
        record = SlotRecord(**{**asdict(previous), 'activated_ns': now_ns})
        blocked = (*pointer.blocked, pointer.active.sha256)[-16:]
        atomic_write(self._dir(target) / POINTER, Pointer(record, None, blocked).to_json())
        return record
