"""One sync cycle: refresh, pick, download, stage, gate, activate (or defer), and roll back.

No ROS and no clock: `poll(now_ns, idle)` is called by the node on its period with whether the
robot is idle (no goal in progress). Maps wait for idle; models and policies pass the canary
gate first. Every step reports an `Event`; nothing here raises for an expected failure.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tuf.api.metadata import TargetFile

from robo_edge.exceptions import ArtifactRejected, SyncError
from robo_edge.sync.client import Outcome, SyncClient
from robo_edge.sync.policy import (
    ArtifactInfo,
    Decision,
    RobotProfile,
    decide,
    parse_custom,
)
from robo_edge.sync.slots import SlotStore


@dataclass(frozen=True)
class Channel:
    """A target path this robot follows and the kind it must be."""

    target: str
    kind: str


@dataclass(frozen=True)
class GateResult:
    """The canary's verdict on a staged candidate."""

    passed: bool
    reason: str = ''


# Runs the canary on a staged slot folder; only kinds in `gated_kinds` pass through it.
Gate = Callable[[str, Path, ArtifactInfo], GateResult]


@dataclass(frozen=True)
class Event:
    """Something the agent did or refused, for logs, diagnostics and the uplink."""

    now_ns: int
    target: str
    # offline|refused|staged|gate_failed|deferred|defer_overdue|activated|rolled_back|
    # apply_refused
    action: str
    detail: str = ''


@dataclass
class _Pending:
    slot: str
    sha256: str
    info: ArtifactInfo
    deferred_since_ns: int | None = None  # a map first held back (the robot was navigating)
    overdue: bool = False  # reported once as waiting longer than map_defer_warn_s


@dataclass
class AgentState:
    """What the node reports."""

    last_refresh: Outcome | None = None
    last_reason: str = ''
    refreshes_ok: int = 0
    refused: int = 0
    activated: int = 0
    rolled_back: int = 0
    events: list[Event] = field(default_factory=list)


class SyncAgent:
    """Drives a SyncClient and a SlotStore for a set of channels."""

    def __init__(self, client: SyncClient, store: SlotStore, robot: RobotProfile,
                 channels: list[Channel], gate: Gate | None = None,
                 gated_kinds: tuple[str, ...] = ('model', 'policy'),
                 map_defer_warn_s: float = 600.0) -> None:
        self.client = client
        self.map_defer_warn_ns = round(map_defer_warn_s * 1e9)
        self.store = store
        self.robot = robot
        self.channels = list(channels)
        self.gate = gate
        self.gated_kinds = gated_kinds
        self.pending: dict[str, _Pending] = {}
        self.rejected: set[str] = set()  # sha256 refused this run (not fetched again)
        self.state = AgentState()

    def record(self, now_ns: int, target: str, action: str, detail: str = '') -> Event:
        """Remember an event (the last 100) and count refusals."""
        event = Event(now_ns, target, action, detail)
        self.state.events = [*self.state.events[-99:], event]
        if action in ('refused', 'gate_failed', 'apply_refused'):
            self.state.refused += 1
        return event

    def poll(self, now_ns: int, idle: 'bool | Callable[[], bool]') -> list[Event]:
        """Run one cycle; return what happened.

        `idle` may be a callable: it is asked at the moment a map would be swapped, so a goal
        that started during a long cycle (a canary run) still defers the map.
        """
        events: list[Event] = []
        result = self.client.refresh()
        self.state.last_refresh, self.state.last_reason = result.outcome, result.reason
        if result.outcome is Outcome.OK:
            self.state.refreshes_ok += 1
            for channel in self.channels:
                event = self._candidate(channel, now_ns)
                if event is not None:
                    events.append(event)
        else:
            action = 'offline' if result.outcome is Outcome.OFFLINE else 'refused'
            events.append(self.record(now_ns, '*', action, result.reason))
        events += self.activate_pending(now_ns, idle)
        return events

    def _candidate(self, channel: Channel, now_ns: int) -> Event | None:
        target = self.client.target(channel.target)
        if target is None:
            return None
        sha = target.hashes.get('sha256', '')
        if sha in self.rejected or self.store.is_blocked(channel.target, sha):
            return None
        pending = self.pending.get(channel.target)
        if pending is not None and pending.sha256 == sha:
            return None
        try:
            info = parse_custom(target.custom, channel.target)
        except ArtifactRejected as e:
            self.rejected.add(sha)
            return self.record(now_ns, channel.target, 'refused', str(e))
        pointer = self.store.pointer(channel.target)
        verdict = decide(info, sha, pointer.active.info['release'] if pointer else None,
                         pointer.active.sha256 if pointer else None, self.robot, channel.kind)
        if verdict.decision is Decision.CURRENT:
            return None
        if verdict.decision is Decision.REFUSE:
            self.rejected.add(sha)
            return self.record(now_ns, channel.target, 'refused', verdict.reason)
        return self._fetch_and_stage(channel, target, info, sha, now_ns)

    def _fetch_and_stage(self, channel: Channel, target: TargetFile, info: ArtifactInfo,
                         sha: str, now_ns: int) -> Event:
        result = self.client.download(target)
        if result.outcome is not Outcome.OK:
            if result.outcome is Outcome.REFUSED:
                return self.record(now_ns, channel.target, 'refused', result.reason)
            return self.record(now_ns, channel.target, 'offline', result.reason)
        try:
            slot = self.store.stage(channel.target, result.path, sha, info)
        except ArtifactRejected as e:
            self.rejected.add(sha)
            return self.record(now_ns, channel.target, 'refused', str(e))
        except SyncError as e:
            return self.record(now_ns, channel.target, 'refused', str(e))
        finally:
            result.path.unlink(missing_ok=True)
        if self.gate is not None and info.kind in self.gated_kinds:
            verdict = self.gate(channel.target, self.store.slot_dir(channel.target, slot), info)
            if not verdict.passed:
                self.rejected.add(sha)
                return self.record(now_ns, channel.target, 'gate_failed', verdict.reason)
        self.pending[channel.target] = _Pending(slot, sha, info)
        return self.record(now_ns, channel.target, 'staged', f'{info.kind} {info.version}')

    def activate_pending(self, now_ns: int, idle: 'bool | Callable[[], bool]') -> list[Event]:
        """Swap in every staged candidate; maps only while the robot is idle."""
        events = []
        for target, pending in list(self.pending.items()):
            if pending.info.kind == 'map' and not (idle() if callable(idle) else idle):
                events += self._defer(now_ns, target, pending)
                continue
            try:
                record = self.store.activate(target, pending.slot, now_ns)
            except (SyncError, OSError, ValueError) as e:
                events.append(self.record(now_ns, target, 'refused', f'activation: {e}'))
            else:
                self.state.activated += 1
                events.append(self.record(now_ns, target, 'activated',
                                          f'{pending.info.kind} {record.info["version"]}'))
            del self.pending[target]
        return events

    def _defer(self, now_ns: int, target: str, pending: _Pending) -> list[Event]:
        """Hold a map back while the robot navigates; say once when it has waited too long.

        A map never swaps under a moving robot, however long it waits: a robot that never
        stops keeps its map, and an operator hears of it (upstream and on /diagnostics).
        """
        if pending.deferred_since_ns is None:
            pending.deferred_since_ns = now_ns
        events = [self.record(now_ns, target, 'deferred', 'navigating: map waits')]
        waited_ns = now_ns - pending.deferred_since_ns
        if not pending.overdue and waited_ns > self.map_defer_warn_ns:
            pending.overdue = True
            events.append(self.record(
                now_ns, target, 'defer_overdue', f'map {pending.info.version} has waited '
                f'{waited_ns / 1e9:.0f} s for the robot to stop navigating'))
        return events

    def overdue_maps(self) -> list[str]:
        """Return the targets of maps held back longer than map_defer_warn_s."""
        return sorted(t for t, p in self.pending.items() if p.overdue)

    def refuse_active(self, target: str, now_ns: int, reason: str) -> Event:
        """Return to the previous slot after the stack refused the active one (not retried)."""
        pointer = self.store.pointer(target)
        if pointer is not None:
            self.rejected.add(pointer.active.sha256)
        try:
            record = self.store.rollback(target, now_ns)
            back = f'back to {record.info["version"]}'
        except SyncError:
            self.store.withdraw(target)
            back = 'nothing active'
        return self.record(now_ns, target, 'apply_refused', f'{reason}; {back}')

    def rollback(self, target: str, now_ns: int, reason: str) -> Event:
        """Return a channel to its previous slot (drift or breaker trips in probation)."""
        try:
            record = self.store.rollback(target, now_ns)
        except SyncError as e:
            return self.record(now_ns, target, 'refused', f'rollback impossible: {e}')
        self.state.rolled_back += 1
        return self.record(now_ns, target, 'rolled_back',
                           f'to {record.info["version"]}: {reason}')
