"""Load a replacement model off the callback thread; hand it over only once it is ready.

The perception node keeps serving frames with its current session while `ModelSwapper`
loads and validates the new file in a worker thread. When the load ends, `on_ready` is called
(from the worker: the node triggers a guard condition with it) and the node, on its own
executor thread between two frames, calls `take()` and replaces the session in one
assignment, so no frame is dropped and no frame sees a half-built session.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from robo_edge.exceptions import ModelError
from robo_edge.perception.model import ModelSession, ModelSpec


@dataclass(frozen=True)
class SwapResult:
    """A loaded session, or why there is none."""

    session: ModelSession | None
    error: str = ''


def compatible(old: ModelSpec, new: ModelSpec) -> str | None:
    """Return why `new` cannot replace `old` without reconfiguring, or None."""
    if (old.input.width, old.input.height) != (new.input.width, new.input.height):
        return (f'input {new.input.width}x{new.input.height} differs from the running '
                f'{old.input.width}x{old.input.height} (reconfigure to change it)')
    if old.classes != new.classes:
        return f'classes {list(new.classes)} differ from the running {list(old.classes)}'
    return None


class ModelSwapper:
    """One background load at a time, on at most one worker thread; the newest request wins.

    A request while a load runs is kept as the one pending request (a later one replaces it);
    the worker takes it when the running load ends, and drops that load's result unopened.
    """

    def __init__(self, load: Callable[[Path], ModelSession],
                 on_ready: Callable[[], None]) -> None:
        self._load = load
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self._result: SwapResult | None = None
        self._pending: tuple[Path, ModelSpec] | None = None
        self._worker: threading.Thread | None = None
        self.swaps = 0
        self.superseded = 0  # loads whose result a newer request replaced
        self.last_error = ''

    def request(self, path: Path, running: ModelSpec) -> None:
        """Load `path` in the worker (started if idle); a later request supersedes it."""
        with self._lock:
            if self._pending is not None:
                self.superseded += 1
            self._pending = (Path(path), running)
            if self._worker is not None:
                return
            self._worker = threading.Thread(target=self._run, name='model-swap', daemon=True)
            worker = self._worker
        worker.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._worker = None
                    return
            result = self._attempt(*job)
            with self._lock:
                if self._pending is not None:  # superseded while it loaded
                    self.superseded += 1
                    if result.session is not None:
                        result.session.close()
                    continue
                self._result = result
            self._on_ready()

    def _attempt(self, path: Path, running: ModelSpec) -> SwapResult:
        try:
            session = self._load(path)
        except ModelError as e:
            return SwapResult(None, str(e))
        except Exception as e:  # noqa: BLE001 - a bad file must never take the node down
            return SwapResult(None, f'{type(e).__name__}: {e}')
        problem = compatible(running, session.spec)
        if problem is None:
            return SwapResult(session)
        session.close()
        return SwapResult(None, problem)

    def take(self) -> SwapResult | None:
        """Return the finished load once (None while loading or when there is none)."""
        with self._lock:
            result, self._result = self._result, None
        if result is not None:
            if result.session is None:
                self.last_error = result.error
            else:
                self.swaps += 1
                self.last_error = ''
        return result
