"""Store-and-forward uplink: a SQLite (WAL) queue of maps and telemetry summaries.

`put` returns only after the item is committed with `synchronous=FULL`, so an acknowledged
item survives kill -9 and power loss; `ack` deletes it only after the server stored it.
`drain` sends the highest priority first (oldest first within a priority) and stops at the
first failure, so a link that comes back drains in priority order.

Drop policy (the byte budget bounds the queue's payload bytes):
  1. an item larger than the whole budget is refused (`too_large`);
  2. otherwise queued items of strictly lower priority are evicted, lowest priority first
     and oldest first within one, until the new item fits (each counted as `evicted`);
  3. if it still does not fit, the new item is refused (`no_room`): equal or higher
     priority data already queued is never evicted for it.
Every refusal and eviction is counted in the database (`drops` table) by reason and kind.
"""

import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from robo_edge.sync.identity import RobotIdentity

SCHEMA = (
    'CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY AUTOINCREMENT, '
    'priority INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, '
    'created_ns INTEGER NOT NULL, size INTEGER NOT NULL, payload BLOB NOT NULL)',
    'CREATE INDEX IF NOT EXISTS items_order ON items (priority DESC, id ASC)',
    'CREATE TABLE IF NOT EXISTS drops (reason TEXT NOT NULL, kind TEXT NOT NULL, '
    'count INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (reason, kind))',
    'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)',
)


@dataclass(frozen=True)
class Item:
    """One queued upload."""

    id: int
    priority: int
    kind: str  # map|telemetry|event
    name: str
    created_ns: int
    payload: bytes


@dataclass(frozen=True)
class PutResult:
    """Whether the item was queued (durably), and what it evicted."""

    accepted: bool
    reason: str = ''
    evicted: list[int] = field(default_factory=list)


class Send(Enum):
    """What sending one item came to."""

    STORED = 'stored'  # the server has it: ack
    RETRY = 'retry'  # link down or server busy: keep it, stop draining
    REFUSED = 'refused'  # the server will never take it: drop (counted)


class UplinkQueue:
    """The on-disk queue."""

    def __init__(self, path: Path, budget_bytes: int) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.budget_bytes = int(budget_bytes)
        # One connection shared by the sync worker and the executor thread: serialise it.
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None,
                                   check_same_thread=False)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=FULL')
        for statement in SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def queued_bytes(self) -> int:
        """Return the payload bytes queued."""
        with self._lock:
            return int(self._db.execute('SELECT COALESCE(SUM(size), 0) FROM items').fetchone()[0])

    def __len__(self) -> int:
        """Return the number of queued items."""
        with self._lock:
            return int(self._db.execute('SELECT COUNT(*) FROM items').fetchone()[0])

    def _count_drop(self, reason: str, kind: str, size: int) -> None:
        self._db.execute('INSERT INTO drops VALUES (?, ?, 1, ?) ON CONFLICT(reason, kind) DO '
                         'UPDATE SET count = count + 1, bytes = bytes + excluded.bytes',
                         (reason, kind, size))

    def put(self, kind: str, name: str, payload: bytes, priority: int,
            now_ns: int) -> PutResult:
        """Queue one item durably, applying the drop policy; see the module docstring."""
        with self._lock:
            size = len(payload)
            self._db.execute('BEGIN IMMEDIATE')
            try:
                if size > self.budget_bytes:
                    self._count_drop('too_large', kind, size)
                    self._db.execute('COMMIT')
                    return PutResult(False, 'too_large')
                free = self.budget_bytes - self.queued_bytes()
                victims: list[tuple[int, int, str]] = []
                if free < size:
                    rows = self._db.execute(
                        'SELECT id, size, kind FROM items WHERE priority < ? '
                        'ORDER BY priority ASC, id ASC', (priority,)).fetchall()
                    for row_id, row_size, row_kind in rows:
                        if free >= size:
                            break
                        victims.append((row_id, row_size, row_kind))
                        free += row_size
                if free < size:
                    self._count_drop('no_room', kind, size)
                    self._db.execute('COMMIT')
                    return PutResult(False, 'no_room')
                for row_id, row_size, row_kind in victims:
                    self._db.execute('DELETE FROM items WHERE id = ?', (row_id,))
                    self._count_drop('evicted', row_kind, row_size)
                self._db.execute('INSERT INTO items (priority, kind, name, created_ns, size, '
                                 'payload) VALUES (?, ?, ?, ?, ?, ?)',
                                 (priority, kind, name, now_ns, size, payload))
                self._db.execute('COMMIT')
            except BaseException:
                self._db.execute('ROLLBACK')
                raise
            return PutResult(True, evicted=[v[0] for v in victims])

    def peek(self, kinds: tuple[str, ...] | None = None) -> Item | None:
        """Return the next item to send (highest priority, then oldest), of `kinds` if given."""
        where = '' if kinds is None else f'WHERE kind IN ({", ".join("?" * len(kinds))}) '
        with self._lock:
            row = self._db.execute('SELECT id, priority, kind, name, created_ns, payload '
                                   f'FROM items {where}ORDER BY priority DESC, id ASC LIMIT 1',
                                   kinds or ()).fetchone()
            return None if row is None else Item(*row[:5], bytes(row[5]))

    def ack(self, item_id: int) -> None:
        """Forget an item the server stored."""
        with self._lock:
            self._db.execute('DELETE FROM items WHERE id = ?', (item_id,))

    def drain(self, send: Callable[[Item], Send], max_items: int = 1000,
              kinds: tuple[str, ...] | None = None) -> list[Item]:
        """Send in priority order until empty, a RETRY, or max_items; return what was sent.

        `kinds` limits the drain to those kinds (another sender drains the rest).
        """
        sent = []
        for _ in range(max_items):
            item = self.peek(kinds)
            if item is None:
                break
            outcome = send(item)
            if outcome is Send.RETRY:
                break
            self.ack(item.id)
            if outcome is Send.REFUSED:
                self._count_drop('refused_by_server', item.kind, len(item.payload))
            else:
                sent.append(item)
        return sent

    def drops(self) -> dict[str, dict[str, int]]:
        """Return drop counts: {reason: {'count': n, 'bytes': b}} summed over kinds."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for reason, count, size in self._db.execute(
                    'SELECT reason, SUM(count), SUM(bytes) FROM drops GROUP BY reason'):
                out[reason] = {'count': int(count), 'bytes': int(size)}
            return out

    def next_counter(self, floor: int) -> int:
        """Return a new upload counter: above every earlier one and at least `floor`."""
        with self._lock:
            self._db.execute('BEGIN IMMEDIATE')
            row = self._db.execute("SELECT value FROM meta WHERE key = 'counter'").fetchone()
            value = max(floor, (row[0] + 1) if row else 1)
            self._db.execute("INSERT INTO meta VALUES ('counter', ?) ON CONFLICT(key) DO UPDATE "
                             'SET value = excluded.value', (value,))
            self._db.execute('COMMIT')
            return value


class HttpSender:
    """Sends queue items to `robo-edge cloud serve` as signed uploads."""

    def __init__(self, identity: RobotIdentity, base_url: str, queue: UplinkQueue,
                 timeout_s: float = 10.0, clock_us: Callable[[], int] | None = None) -> None:
        self.identity = identity
        self.base_url = base_url.rstrip('/')
        self.queue = queue
        self.timeout_s = timeout_s
        # Counters start from wall-clock microseconds, so a robot whose queue database was lost
        # still signs counters above those the server accepted before.
        self._clock_us = clock_us or (lambda: time.time_ns() // 1000)

    def __call__(self, item: Item) -> Send:
        """Upload one item into this robot's own area."""
        name = f'{item.kind}-{item.name}'
        counter = self.queue.next_counter(self._clock_us())
        headers = self.identity.sign_upload(name, item.payload, counter)
        url = f'{self.base_url}/upload/{self.identity.robot_id}/{name}'
        request = urllib.request.Request(url, data=item.payload, headers=headers,
                                         method='POST')
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return Send.STORED if response.status == 201 else Send.RETRY
        except urllib.error.HTTPError as e:
            return Send.REFUSED if e.code in (400, 403, 404, 413) else Send.RETRY
        except (urllib.error.URLError, OSError, TimeoutError):
            return Send.RETRY
