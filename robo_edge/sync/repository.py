"""The publishing side of cloud sync: a TUF repository on disk, signed with the Metadata API.

Layout of a repository directory (only `metadata/` and `targets/` are ever served):

    metadata/1.root.json ... N.root.json, root.json, timestamp.json, N.snapshot.json,
             N.targets.json           (consistent snapshots)
    targets/<kind>/<sha256>.<name>    (content-addressed: a URL never changes its bytes)

The four top-level roles each have their own Ed25519 key, kept in a separate key directory
(`<role>.pem`, PKCS#8) that is never served. Every target carries custom metadata:
`{kind, version, release, hardware, compat}` (see `robo_edge.sync.policy`). Time is an
argument everywhere so expiry can be set in the past to test expired metadata.
"""

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from robo_edge.exceptions import SyncError
from robo_edge.sync.fsutil import atomic_write

ROLES = ('root', 'targets', 'snapshot', 'timestamp')


@dataclass(frozen=True)
class Expiry:
    """How long each role's metadata stays valid after it is signed."""

    root: timedelta = timedelta(days=365)
    targets: timedelta = timedelta(days=30)
    snapshot: timedelta = timedelta(days=7)
    timestamp: timedelta = timedelta(days=1)

    def of(self, role: str) -> timedelta:
        """Return the validity of one role."""
        return getattr(self, role)


def generate_keys(keys_dir: Path) -> None:
    """Write one new Ed25519 private key per top-level role (existing keys are kept)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    for role in ROLES:
        path = keys_dir / f'{role}.pem'
        if not path.exists():
            atomic_write(path, CryptoSigner(Ed25519PrivateKey.generate()).private_bytes, 0o600)


def load_signer(keys_dir: Path, role: str) -> CryptoSigner:
    """Return the signer of one role from its PEM file."""
    path = keys_dir / f'{role}.pem'
    try:
        return CryptoSigner(load_pem_private_key(path.read_bytes(), password=None))
    except (OSError, ValueError, TypeError) as e:
        raise SyncError(f'{path}: cannot load the {role} key: {e}') from e


class Repository:
    """A TUF repository directory and the keys that sign it."""

    def __init__(self, repo_dir: Path, keys_dir: Path, expiry: Expiry | None = None) -> None:
        self.dir = Path(repo_dir)
        self.metadata_dir = self.dir / 'metadata'
        self.targets_dir = self.dir / 'targets'
        self.keys_dir = Path(keys_dir)
        self.expiry = expiry or Expiry()
        self._serializer = JSONSerializer(compact=False)

    # -- creation -------------------------------------------------------------------------
    def init(self, now: datetime) -> None:
        """Create version 1 of every role, signed with the keys (generated when absent)."""
        if (self.metadata_dir / 'root.json').exists():
            raise SyncError(f'{self.dir}: already a repository (metadata/root.json exists)')
        generate_keys(self.keys_dir)
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        root = Root(expires=now + self.expiry.root, consistent_snapshot=True)
        for role in ROLES:
            root.add_key(load_signer(self.keys_dir, role).public_key, role)
        self._write('root', Metadata(root))
        targets = Targets(expires=now + self.expiry.targets)
        self._write('targets', Metadata(targets))
        self._sign_snapshot_and_timestamp(now, new=True)

    # -- reading --------------------------------------------------------------------------
    def _path(self, role: str, version: int | None = None) -> Path:
        if role == 'timestamp':
            return self.metadata_dir / 'timestamp.json'
        if version is None:
            version = self.version(role)
        return self.metadata_dir / f'{version}.{role}.json'

    def version(self, role: str) -> int:
        """Return the newest version of a role on disk."""
        if role == 'timestamp':
            return self.load('timestamp').signed.version
        versions = [int(p.name.split('.')[0]) for p in self.metadata_dir.glob(f'*.{role}.json')]
        if not versions:
            raise SyncError(f'{self.metadata_dir}: no {role} metadata (run `cloud init`)')
        return max(versions)

    def load(self, role: str) -> Metadata:
        """Return the newest metadata of a role."""
        return Metadata.from_file(str(self._path(role)))

    def root_path(self) -> Path:
        """Return the newest root file, the trust anchor a robot is provisioned with."""
        return self._path('root')

    def targets(self) -> Mapping[str, TargetFile]:
        """Return every published target by path."""
        return dict(self.load('targets').signed.targets)

    # -- writing --------------------------------------------------------------------------
    def _write(self, role: str, md: Metadata) -> None:
        md.signatures.clear()
        md.sign(load_signer(self.keys_dir, role), append=True)
        data = md.to_bytes(self._serializer)
        path = self._path(role, md.signed.version)
        atomic_write(path, data)
        if role == 'root':
            atomic_write(self.metadata_dir / 'root.json', data)

    def _sign_snapshot_and_timestamp(self, now: datetime, new: bool = False) -> None:
        if new:
            snapshot = Metadata(Snapshot(expires=now + self.expiry.snapshot))
        else:
            snapshot = self.load('snapshot')
            snapshot.signed.version += 1
            snapshot.signed.expires = now + self.expiry.snapshot
        snapshot.signed.meta['targets.json'] = MetaFile(version=self.version('targets'))
        self._write('snapshot', snapshot)
        timestamp = Metadata(Timestamp(expires=now + self.expiry.timestamp))
        if not new:
            timestamp.signed.version = self.load('timestamp').signed.version + 1
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        self._write('timestamp', timestamp)

    def add_target(self, local: Path, target_path: str, custom: Mapping[str, Any],
                   now: datetime) -> TargetFile:
        """Copy an artifact in under its hash, list it in targets with `custom`, re-sign."""
        if target_path.startswith('/') or '..' in target_path.split('/'):
            raise SyncError(f'target path {target_path!r} must be relative, without ..')
        target = TargetFile.from_file(target_path, str(local), ['sha256'])
        target.unrecognized_fields['custom'] = json.loads(json.dumps(dict(custom)))
        directory, _, name = target_path.rpartition('/')
        stored = self.targets_dir / directory / f'{target.hashes["sha256"]}.{name}'
        stored.parent.mkdir(parents=True, exist_ok=True)
        if not stored.exists():
            partial = stored.with_name(stored.name + '.part')
            shutil.copyfile(local, partial)
            os.replace(partial, stored)
        targets = self.load('targets')
        targets.signed.targets[target_path] = target
        targets.signed.version += 1
        targets.signed.expires = now + self.expiry.targets
        self._write('targets', targets)
        self._sign_snapshot_and_timestamp(now)
        return target

    def refresh_timestamp(self, now: datetime) -> None:
        """Sign a new timestamp (what a server does periodically to keep robots fresh)."""
        timestamp = self.load('timestamp')
        timestamp.signed.version += 1
        timestamp.signed.expires = now + self.expiry.timestamp
        self._write('timestamp', timestamp)
