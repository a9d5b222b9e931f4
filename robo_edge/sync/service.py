"""What the cloud_sync node runs, without ROS: sync cycles, probation, uplink, status.

`poll` runs on the node's worker thread (network, canary); `observe` runs on the executor
thread with each perception health update and may roll a model back at once (the slot store
serialises pointer changes). Every event goes into the uplink queue, which drains whenever a
refresh reached the server. Time is passed in: `now_ns` for ordering, `wall` (UTC) for
metadata expiry.
"""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from robo_edge.exceptions import ModelError
from robo_edge.health.report import Level
from robo_edge.sync.agent import Event, SyncAgent
from robo_edge.sync.client import Outcome
from robo_edge.sync.probation import Probation, ProbationConfig
from robo_edge.sync.slots import PAYLOAD
from robo_edge.sync.uplink import HttpSender, UplinkQueue

# Called with (target, kind, path of the now-active payload or slot folder).
OnActive = Callable[[str, str, Path], None]
EVENT_PRIORITY = {'rolled_back': 8, 'apply_refused': 8, 'refused': 6, 'gate_failed': 6,
                  'defer_overdue': 6, 'activated': 5}


def reference_of(model: Path) -> object | None:
    """Return a model's reference output statistics (None if it cannot be read)."""
    from robo_edge.perception.model import load_model  # noqa: PLC0415 - onnxruntime is heavy

    try:
        session = load_model(model)
    except ModelError:
        return None
    try:
        return session.spec.reference
    finally:
        session.close()


@dataclass
class _Watch:
    target: str
    probation: Probation


class SyncService:
    """Sync cycles and probation for one robot."""

    def __init__(self, agent: SyncAgent, probation: ProbationConfig,
                 on_active: OnActive, uplink: UplinkQueue | None = None,
                 sender: HttpSender | None = None) -> None:
        self.agent = agent
        self.probation_config = probation
        self.on_active = on_active
        self.uplink = uplink
        self.sender = sender
        self._lock = threading.Lock()
        self._watch: _Watch | None = None
        self.uploaded = 0

    def active_payload(self, target: str) -> Path | None:
        """Return the verified active payload of a channel (None if nothing is active)."""
        folder = self.agent.store.active_path(target)
        return None if folder is None else folder / PAYLOAD

    def announce_active(self) -> None:
        """Tell the stack about every active artifact (at start: the last verified ones)."""
        for channel in self.agent.channels:
            folder = self.agent.store.active_path(channel.target)
            if folder is not None:
                self.on_active(channel.target, channel.kind, folder)

    def poll(self, now_ns: int, idle: 'bool | Callable[[], bool]', trips: int = 0) -> list[Event]:
        """Run one sync cycle (worker thread), start probation of a new model, drain uplink."""
        events = self.agent.poll(now_ns, idle)
        for event in events:
            if event.action != 'activated':
                continue
            kind = next(c.kind for c in self.agent.channels if c.target == event.target)
            folder = self.agent.store.active_path(event.target)
            # Announce before probation starts: a rollback it decides is announced after this.
            self.on_active(event.target, kind, folder)
            if kind == 'model':
                probation = Probation(self.probation_config, reference_of(folder / PAYLOAD),
                                      now_ns, trips)
                with self._lock:
                    self._watch = _Watch(event.target, probation)
        self._queue(events, now_ns)
        if self.agent.state.last_refresh is Outcome.OK:
            self.drain()
        return events

    def observe(self, now_ns: int, floor_fraction: float, confidence: float,
                trips: int) -> Event | None:
        """Feed probation with one perception health sample; roll back if it says so."""
        with self._lock:
            watch = self._watch
            if watch is None:
                return None
            decision = watch.probation.observe(now_ns, floor_fraction, confidence, trips)
            if not (decision.rollback or decision.confirmed):
                return None
            self._watch = None
        if decision.confirmed:
            event = self.agent.record(now_ns, watch.target, 'confirmed', decision.reason)
        else:
            event = self.agent.rollback(watch.target, now_ns, decision.reason)
            if event.action == 'rolled_back':
                self.on_active(watch.target, 'model', self.agent.store.active_path(watch.target))
        self._queue([event], now_ns)
        return event

    def refuse(self, target: str, now_ns: int, reason: str) -> tuple[Event, Path | None]:
        """Roll back an artifact a node refused and report it upstream.

        Returns the event and the folder now active (None: nothing is).
        """
        with self._lock:
            if self._watch is not None and self._watch.target == target:
                self._watch = None
        event = self.agent.refuse_active(target, now_ns, reason)
        self._queue([event], now_ns)
        return event, self.agent.store.active_path(target)

    @property
    def on_probation(self) -> str:
        """Return the target on probation, or ''."""
        watch = self._watch
        return '' if watch is None else watch.target

    def _queue(self, events: list[Event], now_ns: int) -> None:
        if self.uplink is None:
            return
        for event in events:
            if event.action in EVENT_PRIORITY:
                body = json.dumps({'t_ns': event.now_ns, 'target': event.target,
                                   'action': event.action, 'detail': event.detail}).encode()
                self.uplink.put('event', f'{event.action}-{event.now_ns}.json', body,
                                EVENT_PRIORITY[event.action], now_ns)

    def put_telemetry(self, name: str, summary: dict, now_ns: int, priority: int = 1) -> None:
        """Queue a telemetry summary (store and forward)."""
        if self.uplink is not None:
            self.uplink.put('telemetry', name, json.dumps(summary).encode(), priority, now_ns)

    def put_map(self, grid: object, name: str, now_ns: int, priority: int = 4) -> bool:
        """Queue a map the robot built, packed as a nav2 map tar (store and forward)."""
        import tempfile  # noqa: PLC0415

        from robo_edge.planning.map_server import save_map  # noqa: PLC0415
        from robo_edge.sync.artifacts import pack_map  # noqa: PLC0415

        if self.uplink is None:
            return False
        with tempfile.TemporaryDirectory() as tmp:
            save_map(grid, Path(tmp) / 'map.yaml')
            data = pack_map(Path(tmp) / 'map.yaml', Path(tmp) / 'map.tar').read_bytes()
        return self.uplink.put('map', name, data, priority, now_ns).accepted

    def telemetry(self, wall: datetime) -> dict:
        """Return a telemetry summary of sync itself (what the node sends periodically)."""
        level, message, values = self.status(wall)
        stats = self.agent.client.fetcher.stats
        return {'level': int(level), 'message': message, **dict(values),
                'bytes_received': stats.bytes_received, 'downloads_resumed': stats.resumed}

    def drain(self) -> int:
        """Send what the uplink holds, by priority; return how many were stored."""
        if self.uplink is None or self.sender is None:
            return 0
        sent = len(self.uplink.drain(self.sender))
        self.uploaded += sent
        return sent

    def status(self, wall: datetime) -> tuple[Level, str, list[tuple[str, str]]]:
        """Return the diagnostics level, message and key-values."""
        state = self.agent.state
        stale = self.agent.client.stale(wall)
        expires = self.agent.client.expires()
        if state.last_refresh is None:
            level, message = Level.OK, 'waiting for the first sync'
        elif stale:
            level, message = Level.WARN, 'stale: trusted metadata expired; nothing new accepted'
        elif state.last_refresh is Outcome.OFFLINE:
            level, message = Level.OK, 'offline: running the last verified artifacts'
        elif state.last_refresh is Outcome.REFUSED:
            level, message = Level.WARN, f'refused repository metadata: {state.last_reason}'
        else:
            level, message = Level.OK, 'in sync'
        values = [('link', state.last_refresh.value if state.last_refresh else 'unknown'),
                  ('stale', str(stale).lower()),
                  ('metadata_expires', expires.isoformat() if expires else ''),
                  ('refreshes_ok', str(state.refreshes_ok)),
                  ('activated', str(state.activated)),
                  ('refused', str(state.refused)),
                  ('rolled_back', str(state.rolled_back)),
                  ('on_probation', self.on_probation),
                  ('uplink_queued', str(len(self.uplink)) if self.uplink else '0'),
                  ('uplink_sent', str(self.uploaded)),
                  ('last_event', _describe(state.events[-1]) if state.events else ''),
                  ('download', _progress(self.agent.client.fetcher.last_progress))]
        if self.uplink is not None:
            values.append(('uplink_drops', json.dumps(self.uplink.drops(), sort_keys=True)))
        overdue = self.agent.overdue_maps()
        values.append(('maps_overdue', ','.join(overdue)))
        if overdue:
            level = max(level, Level.WARN)
            message += f'; map held back while navigating: {", ".join(overdue)}'
        for channel in self.agent.channels:
            pointer = self.agent.store.pointer(channel.target)
            values.append((f'active/{channel.target}',
                           f'{pointer.active.info["version"]} (release '
                           f'{pointer.active.info["release"]})' if pointer else ''))
        return level, message, values


def _progress(progress: tuple[str, int, int] | None) -> str:
    if progress is None:
        return ''
    url, held, total = progress
    return f'{url.rsplit("/", 1)[-1][:40]} {held}/{total} bytes'


def _describe(event: Event) -> str:
    return f'{event.action} {event.target}: {event.detail}'[:200]
