"""Robot identity and upload authentication: one Ed25519 key per robot, a counter against replay.

A robot signs every upload: `robo-edge-upload/1`, its id, the area it writes to, the file
name, a counter that only grows, and the SHA-256 of the body. The server accepts it only when
the robot is registered (its public key in `robots/<id>.pub`), the signature verifies with
that key, the area is the robot's own, and the counter is above every counter it accepted from
that robot before (kept in SQLite, so a restart does not reopen replays). Every refusal is
logged with its reason.
"""

import hashlib
import re
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from robo_edge.exceptions import SyncError
from robo_edge.sync.fsutil import atomic_write

ROBOT_ID = re.compile(r'^[a-z0-9][a-z0-9_-]{0,62}$')
NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')
H_ROBOT, H_COUNTER, H_SIGNATURE = 'X-Robot-Id', 'X-Robot-Counter', 'X-Robot-Signature'


def upload_message(robot_id: str, area: str, name: str, counter: int, body: bytes) -> bytes:
    """Return the bytes a robot signs for one upload."""
    digest = hashlib.sha256(body).hexdigest()
    return f'robo-edge-upload/1\n{robot_id}\n{area}\n{name}\n{counter}\n{digest}'.encode()


class RobotIdentity:
    """A robot's private key and id."""

    def __init__(self, robot_id: str, key: Ed25519PrivateKey) -> None:
        if not ROBOT_ID.match(robot_id):
            raise SyncError(f'robot id {robot_id!r} must match {ROBOT_ID.pattern}')
        self.robot_id = robot_id
        self._key = key

    @staticmethod
    def generate(robot_id: str, key_path: Path) -> 'RobotIdentity':
        """Create a new key, write it (0600) and return the identity."""
        key = Ed25519PrivateKey.generate()
        key_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(key_path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                 NoEncryption()), 0o600)
        return RobotIdentity(robot_id, key)

    @staticmethod
    def load(robot_id: str, key_path: Path) -> 'RobotIdentity':
        """Read an identity's key."""
        try:
            key = load_pem_private_key(Path(key_path).read_bytes(), password=None)
        except (OSError, ValueError) as e:
            raise SyncError(f'{key_path}: cannot read the robot key: {e}') from e
        if not isinstance(key, Ed25519PrivateKey):
            raise SyncError(f'{key_path}: not an Ed25519 key')
        return RobotIdentity(robot_id, key)

    def public_hex(self) -> str:
        """Return the raw public key in hex (what `robots/<id>.pub` holds)."""
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign_upload(self, name: str, body: bytes, counter: int,
                    area: str | None = None) -> dict[str, str]:
        """Return the headers of a signed upload into `area` (default: the robot's own)."""
        area = self.robot_id if area is None else area
        signature = self._key.sign(upload_message(self.robot_id, area, name, counter, body))
        return {H_ROBOT: self.robot_id, H_COUNTER: str(counter), H_SIGNATURE: signature.hex()}


@dataclass(frozen=True)
class UploadVerdict:
    """Accepted or refused, and why."""

    accepted: bool
    reason: str


class UploadVerifier:
    """The server's check of uploads against the robot registry and the replay counters."""

    def __init__(self, robots_dir: Path, state_db: Path) -> None:
        self.robots_dir = Path(robots_dir)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(state_db), check_same_thread=False, isolation_level=None)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=FULL')
        self._db.execute('CREATE TABLE IF NOT EXISTS counters '
                         '(robot TEXT PRIMARY KEY, counter INTEGER NOT NULL)')

    def register(self, robot_id: str, public_hex: str) -> None:
        """Add a robot's public key to the registry."""
        if not ROBOT_ID.match(robot_id):
            raise SyncError(f'robot id {robot_id!r} must match {ROBOT_ID.pattern}')
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))  # validates
        self.robots_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.robots_dir / f'{robot_id}.pub', public_hex.encode())

    def _key(self, robot_id: str) -> Ed25519PublicKey | None:
        if not ROBOT_ID.match(robot_id):
            return None
        try:
            raw = bytes.fromhex((self.robots_dir / f'{robot_id}.pub').read_text().strip())
            return Ed25519PublicKey.from_public_bytes(raw)
        except (OSError, ValueError):
            return None

    def verify(self, area: str, name: str, headers: Mapping[str, str],
               body: bytes) -> UploadVerdict:
        """Check one upload; on acceptance its counter is recorded (a replay then fails)."""
        robot = headers.get(H_ROBOT, '')
        if not NAME.match(name):
            return UploadVerdict(False, f'bad file name {name[:80]!r}')
        key = self._key(robot)
        if key is None:
            return UploadVerdict(False, f'unknown robot {robot[:64]!r}')
        try:
            counter = int(headers.get(H_COUNTER, ''))
            signature = bytes.fromhex(headers.get(H_SIGNATURE, ''))
        except ValueError:
            return UploadVerdict(False, f'{robot}: malformed counter or signature')
        try:
            key.verify(signature, upload_message(robot, area, name, counter, body))
        except InvalidSignature:
            return UploadVerdict(False, f'{robot}: signature does not verify (forged or '
                                        'altered)')
        if area != robot:
            return UploadVerdict(False, f'{robot}: may write only its own area, not {area!r}')
        with self._lock:
            row = self._db.execute('SELECT counter FROM counters WHERE robot = ?',
                                   (robot,)).fetchone()
            if row is not None and counter <= row[0]:
                return UploadVerdict(False, f'{robot}: counter {counter} not above {row[0]} '
                                            '(replay)')
            self._db.execute('INSERT INTO counters VALUES (?, ?) ON CONFLICT(robot) '
                             'DO UPDATE SET counter = excluded.counter', (robot, counter))
        return UploadVerdict(True, f'{robot}: {name} ({len(body)} bytes, counter {counter})')

    def close(self) -> None:
        """Close the counter database."""
        self._db.close()
