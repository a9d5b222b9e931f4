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
    """One background load at a time; the newest request wins."""

    def __init__(self, load: Callable[[Path], ModelSession],
                 on_ready: Callable[[], None]) -> None:
        self._load = load
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self._result: SwapResult | None = None
        self._generation = 0
        self.swaps = 0
        self.last_error = ''

    def request(self, path: Path, running: ModelSpec) -> None:
        """Start loading `path` in a worker thread (a later request supersedes it)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        threading.Thread(target=self._work, args=(Path(path), running, generation),
                         name='model-swap', daemon=True).start()

    def _work(self, path: Path, running: ModelSpec, generation: int) -> None:
        try:
            session = self._load(path)
            problem = compatible(running, session.spec)
            result = SwapResult(session) if problem is None else SwapResult(None, problem)
            if problem is not None:
                session.close()
        except ModelError as e:
            result = SwapResult(None, str(e))
        except Exception as e:  # noqa: BLE001 - a bad file must never take the node down
            result = SwapResult(None, f'{type(e).__name__}: {e}')
        with self._lock:
            if generation != self._generation:
                if result.session is not None:
                    result.session.close()
                return
            self._result = result
        self._on_ready()

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
