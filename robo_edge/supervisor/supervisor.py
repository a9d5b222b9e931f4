"""The supervisor: one process per node of a bringup, restarted per policy, stopped cleanly.

Nothing here blocks for long: `poll()` only reaps, schedules and starts; every wait in `run()`
and `stop()` has a deadline. After a node dies uncleanly, and at stop, the Fast DDS segments a
dead process left in /dev/shm are removed (see robo_edge.supervisor.shm).
"""

import enum
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from robo_edge.exceptions import ResourceNotFound
from robo_edge.supervisor import shm
from robo_edge.supervisor.bringup import Bringup, NodeSpec
from robo_edge.supervisor.process import (
    LogSink,
    NodeProcess,
    node_argv,
    node_environment,
    resolve_executable,
)
from robo_edge.supervisor.restart import Action, RestartHistory, decide
from robo_edge.supervisor.sampling import ResourceSampler
from robo_edge.supervisor.stats import NodeState, NodeStats
from robo_edge.supervisor.transport import dds_environment

POLL_PERIOD_S = 0.05
SAMPLE_PERIOD_S = 1.0
# A restart waits for a shared-memory clean-up in flight, but never longer than this.
CLEAN_WAIT_MAX_S = 1.0
START_FAILED_CODE = 127
TERM_WAIT_S = 2.0
KILL_WAIT_S = 2.0
LOG_JOIN_S = 1.0
CLEAN_JOIN_S = 15.0


class EventKind(enum.Enum):
    """What happened to a node (or to the shared memory)."""

    STARTED = 'started'
    START_FAILED = 'start_failed'
    EXITED = 'exited'
    RESTART_SCHEDULED = 'restart_scheduled'
    GAVE_UP = 'gave_up'
    ENDS_BRINGUP = 'ends_bringup'
    STOPPED = 'stopped'
    SHM_CLEANED = 'shm_cleaned'


@dataclass(frozen=True)
class Event:
    """One supervisor event, stamped with the supervisor's clock."""

    time: float
    node: str
    kind: EventKind
    pid: int | None = None
    exit_code: int | None = None
    detail: str = ''


class StopReason(enum.Enum):
    """Why `run()` returned."""

    NODE_ENDED_BRINGUP = 'node_ended_bringup'
    STOP_REQUESTED = 'stop_requested'
    TIMEOUT = 'timeout'
    ALL_EXITED = 'all_exited'


@dataclass(frozen=True)
class SupervisorResult:
    """The outcome of a run: why it ended, each node's exit code, restarts, and cleanliness."""

    reason: StopReason
    ended_by: str | None
    exit_codes: dict[str, int | None]
    restarts: dict[str, int]
    given_up: tuple[str, ...]
    clean: bool


@dataclass
class _Node:
    spec: NodeSpec
    state: NodeState = NodeState.PENDING
    proc: NodeProcess | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    started_at: float = 0.0
    due_at: float | None = None
    history: RestartHistory = field(default_factory=RestartHistory)
    clean_exit: bool = False
    stop_signal: int | None = None
    cpu_percent: float | None = None
    rss_mb: float | None = None
    held: bool = False  # chaos: a killed node kept down until released


class Supervisor:
    """Starts every node of a bringup as its own process group and keeps them running."""

    def __init__(self, bringup: Bringup, *, domain_id: int | None = None,
                 log_dir: Path | None = None, extra_env: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, echo: TextIO | None = None,
                 quiet: bool = False, profile: Path | None = None,
                 clean_shm: bool = True) -> None:
        self.bringup = bringup
        self.domain_id = domain_id
        self.instance_id = uuid.uuid4().hex[:12]
        self._clock = clock
        self._dds = dds_environment(profile, domain_id)
        self._extra_env = dict(extra_env or {})
        self._sink = LogSink(None if quiet else (echo or sys.stdout), log_dir)
        self._nodes = {spec.name: _Node(spec) for spec in bringup.nodes}
        self._lock = threading.RLock()
        self._sampler = ResourceSampler()
        self._next_sample = 0.0
        self._started = False
        self._stopping = False
        self._ended_by: str | None = None
        self._clean_shm = clean_shm
        self._shm_dirty = False
        self._cleaner: threading.Thread | None = None
        self._cleaner_started = 0.0
        self._shm_reports: list[shm.ShmCleanReport] = []
        self._shm_reported = 0
        self._finished: list[NodeProcess] = []
        self.events: list[Event] = []

    # ------------------------------------------------------------ public API

    def start(self) -> list[Event]:
        """Start every node; return the events (a node that cannot start is retried per policy)."""
        with self._lock:
            if self._started:
                return []
            self._started = True
            now = self._clock()
            events: list[Event] = []
            for node in self._nodes.values():
                self._spawn(node, now, events)
            self.events.extend(events)
            return events

    def poll(self) -> list[Event]:
        """Reap exited nodes, schedule and start restarts, sample resources; never blocks."""
        with self._lock:
            now = self._clock()
            events: list[Event] = self._collect_shm_reports(now)
            for node in self._nodes.values():
                self._reap(node, now, events)
            self._start_cleaner_if_needed()
            if not self._stopping and self._restarts_may_start(now):
                self._start_due(now, events)
            if now >= self._next_sample:
                self._sample()
                self._next_sample = now + SAMPLE_PERIOD_S
            self.events.extend(events)
            return events

    def run(self, stop_event: threading.Event | None = None,
            timeout_s: float | None = None) -> SupervisorResult:
        """Supervise until the bringup ends, then stop everything and return the outcome.

        It ends when a node with exit_ends_bringup exits, on `stop_event`, after `timeout_s`,
        or when no node is left to supervise.
        """
        self.start()
        deadline = None if timeout_s is None else self._clock() + timeout_s
        waiter = stop_event or threading.Event()
        reason = None
        while reason is None:
            self.poll()
            reason = self._run_reason(stop_event, deadline)
            if reason is None:
                waiter.wait(POLL_PERIOD_S)
        codes = self.stop()
        return SupervisorResult(
            reason=reason,
            ended_by=self._ended_by,
            exit_codes=codes,
            restarts={name: node.restarts for name, node in self._nodes.items()},
            given_up=self.given_up,
            clean=self.stopped_cleanly,
        )

    def stop(self, grace_s: float = 5.0) -> dict[str, int | None]:
        """Stop every node and return each node's exit code.

        Each process group gets SIGINT, then SIGTERM, then SIGKILL, each waited on with a
        deadline; then the shared memory the nodes left is cleaned.
        """
        with self._lock:
            self._stopping = True
            for node in self._nodes.values():
                if node.state in (NodeState.RESTARTING, NodeState.PENDING):
                    node.state = NodeState.STOPPED
                    node.due_at = None
        phases = ((signal.SIGINT, grace_s), (signal.SIGTERM, TERM_WAIT_S),
                  (signal.SIGKILL, KILL_WAIT_S))
        for signum, wait_s in phases:
            self._signal_and_wait(signum, wait_s)
        with self._lock:
            events: list[Event] = []
            now = self._clock()
            for node in self._nodes.values():
                self._reap(node, now, events)
            self.events.extend(events)
        self._finish_logs()
        self._final_clean()
        self._sink.close()
        return self.exit_codes

    def pid(self, name: str) -> int | None:
        """Return the pid of node `name`'s running process, or None."""
        with self._lock:
            proc = self._nodes[name].proc
            return None if proc is None else proc.pid

    def kill(self, name: str, hold: bool = False) -> int | None:
        """SIGKILL node `name`'s process group (chaos); return the pid killed, None if none.

        The node's restart policy then applies as for any other crash; with `hold` its
        restart waits until `release(name)`.
        """
        with self._lock:
            node = self._nodes[name]
            if node.proc is None or not node.proc.signal_group(signal.SIGKILL):
                return None
            node.held = hold
            return node.proc.pid

    def release(self, name: str) -> None:
        """Let a held node restart (its restart policy's backoff still applies)."""
        with self._lock:
            self._nodes[name].held = False

    def restart_count(self, name: str) -> int:
        """Return how many times node `name` was restarted."""
        with self._lock:
            return self._nodes[name].restarts

    def state(self, name: str) -> NodeState:
        """Return the state of node `name`."""
        with self._lock:
            return self._nodes[name].state

    @property
    def exit_codes(self) -> dict[str, int | None]:
        """Return each node's last exit code (None: still running or never ran)."""
        with self._lock:
            return {name: node.last_exit_code for name, node in self._nodes.items()}

    @property
    def given_up(self) -> tuple[str, ...]:
        """Return the nodes that exceeded their restart budget."""
        with self._lock:
            return tuple(n for n, node in self._nodes.items() if node.state is NodeState.GIVEN_UP)

    @property
    def stopped_cleanly(self) -> bool:
        """Return whether every node ended with 0 (or by the SIGINT it was sent) in time."""
        with self._lock:
            return all(node.clean_exit or node.state is NodeState.PENDING
                       for node in self._nodes.values())

    @property
    def shm_reports(self) -> list[shm.ShmCleanReport]:
        """Return the shared-memory clean-ups done so far."""
        with self._lock:
            return list(self._shm_reports)

    def resource_stats(self) -> dict[str, NodeStats]:
        """Return each node's latest state, CPU and memory sample (no I/O)."""
        with self._lock:
            return {name: self._stats(node) for name, node in self._nodes.items()}

    # ------------------------------------------------------------ processes

    def _spawn(self, node: _Node, now: float, events: list[Event]) -> None:
        spec = node.spec
        try:
            program = list(spec.command) if spec.command else [
                str(resolve_executable(spec.executable or ''))]
            # os.environ is read at each start, so a caller's later change is honoured.
            env = node_environment(spec, dict(os.environ), self._dds, self._extra_env,
                                   self.instance_id)
            node.proc = NodeProcess(spec.name, node_argv(spec, program), env, self._sink)
        except (ResourceNotFound, OSError) as e:
            node.proc = None
            events.append(Event(now, spec.name, EventKind.START_FAILED, detail=str(e)))
            self._sink.write(spec.name, f'supervisor: cannot start: {e}')
            self._after_exit(node, START_FAILED_CODE, now, 0.0, events)
            return
        node.state = NodeState.RUNNING
        node.started_at = now
        node.due_at = None
        node.cpu_percent = node.rss_mb = None
        events.append(Event(now, spec.name, EventKind.STARTED, pid=node.proc.pid))

    def _reap(self, node: _Node, now: float, events: list[Event]) -> None:
        proc = node.proc
        if proc is None or proc.poll() is None:
            return
        code = proc.returncode
        proc.kill_leftovers()
        node.proc = None
        self._finished.append(proc)
        events.append(Event(now, node.spec.name, EventKind.EXITED, pid=proc.pid, exit_code=code))
        if code != 0:
            self._shm_dirty = True
        if self._stopping:
            node.last_exit_code = code
            node.state = NodeState.STOPPED
            # Clean: exit 0 before any signal or after SIGINT, or death by the SIGINT we sent.
            asked = node.stop_signal in (None, signal.SIGINT)
            node.clean_exit = (code == 0 and asked) or (
                code == -signal.SIGINT and node.stop_signal == signal.SIGINT)
            events.append(Event(now, node.spec.name, EventKind.STOPPED, proc.pid, code))
            return
        self._after_exit(node, code, now, now - node.started_at, events)

    def _after_exit(self, node: _Node, code: int, now: float, uptime_s: float,
                    events: list[Event]) -> None:
        name = node.spec.name
        node.last_exit_code = code
        node.clean_exit = code == 0
        decision, node.history = decide(node.spec, node.history, code, now, uptime_s)
        if decision.action is Action.RESTART:
            node.state = NodeState.RESTARTING
            node.due_at = now + decision.delay_s
            kind = EventKind.RESTART_SCHEDULED
        elif decision.action is Action.GIVE_UP:
            node.state = NodeState.GIVEN_UP
            node.clean_exit = False
            kind = EventKind.GAVE_UP
        elif decision.action is Action.END_BRINGUP:
            node.state = NodeState.EXITED
            self._ended_by = self._ended_by or name
            kind = EventKind.ENDS_BRINGUP
        else:
            node.state = NodeState.EXITED
            kind = EventKind.EXITED
        if kind is not EventKind.EXITED:
            events.append(Event(now, name, kind, exit_code=code, detail=decision.reason))
        self._sink.write(name, f'supervisor: exited with {code}: {decision.reason}')

    def _start_due(self, now: float, events: list[Event]) -> None:
        for node in self._nodes.values():
            if node.state is NodeState.RESTARTING and node.due_at is not None \
                    and now >= node.due_at and not node.held:
                node.restarts += 1
                self._spawn(node, now, events)

    def _signal_and_wait(self, signum: int, wait_s: float) -> None:
        with self._lock:
            alive = [node for node in self._nodes.values()
                     if node.proc is not None and node.proc.poll() is None]
            for node in alive:
                node.stop_signal = signum
                node.proc.signal_group(signum)
        deadline = self._clock() + wait_s
        for node in alive:
            proc = node.proc
            if proc is not None:
                proc.wait(deadline - self._clock())

    def _finish_logs(self) -> None:
        deadline = time.monotonic() + LOG_JOIN_S
        for proc in self._finished:
            proc.join_logs(deadline - time.monotonic())
        self._finished.clear()

    def _run_reason(self, stop_event: threading.Event | None,
                    deadline: float | None) -> StopReason | None:
        with self._lock:
            if self._ended_by is not None:
                return StopReason.NODE_ENDED_BRINGUP
            if stop_event is not None and stop_event.is_set():
                return StopReason.STOP_REQUESTED
            if deadline is not None and self._clock() >= deadline:
                return StopReason.TIMEOUT
            active = (NodeState.RUNNING, NodeState.RESTARTING, NodeState.PENDING)
            if not any(node.state in active for node in self._nodes.values()):
                return StopReason.ALL_EXITED
            return None

    # ------------------------------------------------------------ shared memory

    def _start_cleaner_if_needed(self) -> None:
        if not (self._clean_shm and self._shm_dirty) or self._cleaner_busy():
            return
        self._shm_dirty = False
        self._cleaner_started = self._clock()
        self._cleaner = threading.Thread(target=self._clean_once, name='shm-clean', daemon=True)
        self._cleaner.start()

    def _cleaner_busy(self) -> bool:
        return self._cleaner is not None and self._cleaner.is_alive()

    def _restarts_may_start(self, now: float) -> bool:
        # Hold restarts until the clean-up is done, so it never races a starting participant.
        return not self._cleaner_busy() or now - self._cleaner_started > CLEAN_WAIT_MAX_S

    def _clean_once(self) -> None:
        report = shm.clean()
        with self._lock:
            self._shm_reports.append(report)

    def _collect_shm_reports(self, now: float) -> list[Event]:
        events = []
        for report in self._shm_reports[self._shm_reported:]:
            detail = f'removed {len(report.removed)}, kept {len(report.kept)} in use'
            events.append(Event(now, '(shm)', EventKind.SHM_CLEANED, detail=detail))
        self._shm_reported = len(self._shm_reports)
        return events

    def _final_clean(self) -> None:
        if self._cleaner is not None:
            self._cleaner.join(timeout=CLEAN_JOIN_S)
        if self._clean_shm:
            self._clean_once()

    # ------------------------------------------------------------ resources

    def _sample(self) -> None:
        for node in self._nodes.values():
            if node.proc is not None:
                node.cpu_percent, node.rss_mb = self._sampler.sample(node.proc.pid)
        self._sampler.prune()

    def _stats(self, node: _Node) -> NodeStats:
        running = node.proc is not None
        return NodeStats(
            name=node.spec.name,
            pid=node.proc.pid if running else None,
            state=node.state,
            restarts=node.restarts,
            cpu_percent=node.cpu_percent if running else None,
            rss_mb=node.rss_mb if running else None,
            last_exit_code=node.last_exit_code,
        )


