"""cloud_sync's swaps: one at a time, on one worker thread, each checked before it is active.

An activated artifact is handed to the stack here: a policy's parameters are set whole or
rolled back (`sync/apply.py`), a map is set as the mapper's `static_map`, a model as
perception's `model_path` and is active only once perception's diagnostics report it loaded.
A refusal rolls the channel's slot back (`SyncService.refuse`), goes upstream through the
uplink and shows on /diagnostics. Requests queue (bounded, `queue_limit`); a full queue refuses
and counts. A policy for a node that is not up waits (pending) until it appears, at most
`pending_wait_s`.
"""

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from robo_edge.exceptions import ArtifactRejected
from robo_edge.sync.apply import (
    ACTIVE,
    PENDING,
    REFUSED,
    ApplyResult,
    ParamIO,
    Refusal,
    apply_whole,
)
from robo_edge.sync.artifacts import load_policy, policy_overrides
from robo_edge.sync.service import SyncService

RETRY_S = 0.25  # how often a pending policy looks at the graph again


@dataclass(frozen=True)
class Job:
    """One activated artifact to hand to the stack."""

    target: str
    kind: str
    folder: Path


@dataclass(frozen=True)
class SwapConfig:
    """Who takes what and how long each step may take."""

    perception_node: str = 'perception'
    mapper_node: str = 'mapper'
    queue_limit: int = 8
    pending_wait_s: float = 600.0
    model_answer_s: float = 60.0


class SwapWorker:
    """Hands activations to the stack one at a time (see module doc)."""

    def __init__(self, io: ParamIO, service: SyncService, config: SwapConfig,
                 announce: Callable[[Job, str], None], log: Callable[[str], None],
                 now_ns: Callable[[], int]) -> None:
        self.io, self.service, self.config, self._now_ns = io, service, config, now_ns
        self._announce, self._log = announce, log
        self._queue: queue.Queue[Job] = queue.Queue(config.queue_limit)
        self._waiting: dict[str, tuple[Job, float]] = {}  # target: (job, deadline)
        self._perception: dict[str, str] = {}
        self._seen = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='cloud-sync-swaps', daemon=True)
        self.states: dict[str, str] = {}
        self.counts = {'applied': 0, 'apply_refused': 0, 'queue_full': 0}
        self.last_refusal = ''

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Stop the worker (a call in progress ends within its own timeout)."""
        self._stop.set()
        with self._seen:
            self._seen.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def submit(self, job: Job) -> bool:
        """Queue an activation; False (counted) when the queue is full."""
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.counts['queue_full'] += 1
            self._log(f'swap queue full: {job.kind} {job.target} refused for now')
            return False
        self.states[job.target] = 'queued'
        return True

    def observe_perception(self, values: dict[str, str]) -> None:
        """Take perception's latest diagnostics (what a model swap waits for)."""
        with self._seen:
            self._perception = values
            self._seen.notify_all()

    def values(self) -> list[tuple[str, str]]:
        """Return the diagnostics key-values."""
        return [('swap_queue', str(self._queue.qsize())),
                *((f'swaps_{k}', str(v)) for k, v in self.counts.items()),
                ('last_refusal', self.last_refusal[:300]),
                *((f'state/{t}', s) for t, s in sorted(self.states.items()))]

    @property
    def refused_last(self) -> bool:
        """Return whether the newest application of some channel was refused."""
        return any(s.startswith(REFUSED) for s in self.states.values())

    # -- worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._queue.get(timeout=RETRY_S)
            except queue.Empty:
                job = None
            try:
                if job is not None:
                    self._handle(job)
                for target, (waiting, deadline) in list(self._waiting.items()):
                    del self._waiting[target]
                    self._handle(waiting, deadline)
            except Exception as e:  # noqa: BLE001 - the worker outlives one bad activation
                self._log(f'swap failed: {type(e).__name__}: {e}')

    def _handle(self, job: Job, deadline: float | None = None) -> None:
        if job.kind == 'policy':
            result = self._policy(job)
        else:
            node, name = ((self.config.mapper_node, 'static_map') if job.kind == 'map'
                          else (self.config.perception_node, 'model_path'))
            result = apply_whole({node: {name: str(_path(job))}}, self.io)
            if result.state == ACTIVE and job.kind == 'model':
                self.states[job.target] = 'loading'
                result = self._await_model(str(_path(job)))
        if result.state == PENDING:
            self._pend(job, result, deadline)
        elif result.state == ACTIVE:
            self.states[job.target] = ACTIVE
            self.counts['applied'] += 1
            self._announce(job, str(_path(job)))
        else:
            self._refuse(job, result.describe())

    def _policy(self, job: Job) -> ApplyResult:
        try:
            nodes = policy_overrides(load_policy(job.folder / 'payload'))
        except ArtifactRejected as e:
            return ApplyResult(REFUSED, [Refusal('policy', 'payload', str(e))])
        return apply_whole(nodes, self.io)

    def _pend(self, job: Job, result: ApplyResult, deadline: float | None) -> None:
        now = time.monotonic()
        deadline = now + self.config.pending_wait_s if deadline is None else deadline
        if now > deadline:
            self._refuse(job, f'{", ".join(result.waiting_for)} not up within '
                              f'{self.config.pending_wait_s} s')
            return
        self.states[job.target] = result.describe()
        self._waiting[job.target] = (job, deadline)

    def _await_model(self, path: str) -> ApplyResult:
        """Wait until perception reports `path` loaded, or refuses it (bounded)."""
        with self._seen:
            error_before = self._perception.get('model_swap_error', '')

            def answered() -> bool:
                error = self._perception.get('model_swap_error', '')
                return (self._stop.is_set() or self._perception.get('model_path') == path
                        or (error != '' and error != error_before))

            self._seen.wait_for(answered, self.config.model_answer_s)
            values = dict(self._perception)
        if values.get('model_path') == path:
            return ApplyResult(ACTIVE)
        reason = values.get('model_swap_error') or (
            f'no load reported within {self.config.model_answer_s} s')
        return ApplyResult(REFUSED, [Refusal(self.config.perception_node, 'model_path', reason)])

    def _refuse(self, job: Job, reason: str) -> None:
        self.counts['apply_refused'] += 1
        self.last_refusal = f'{job.kind} {job.target}: {reason}'
        self.states[job.target] = f'{REFUSED}: {reason}'[:200]
        self._log(f'{self.last_refusal}; previous {job.kind} kept')
        event, folder = self.service.refuse(job.target, self._now_ns(), reason)
        self._log(f'{event.action} {event.target}: {event.detail}')
        if job.kind == 'model' and folder is not None:
            self.submit(Job(job.target, job.kind, folder))  # perception back to the previous


def _path(job: Job) -> Path:
    return job.folder / 'map' / 'map.yaml' if job.kind == 'map' else job.folder / 'payload'
