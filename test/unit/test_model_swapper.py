"""The model swapper: one worker thread at most, the newest request wins, nothing leaks."""

import threading
from dataclasses import dataclass, field
from pathlib import Path

from robo_edge.exceptions import ModelError
from robo_edge.perception.hot_swap import ModelSwapper


@dataclass
class FakeInput:
    width: int = 32
    height: int = 24


@dataclass
class FakeSpec:
    input: FakeInput = field(default_factory=FakeInput)
    classes: tuple[str, ...] = ('floor', 'obstacle')


@dataclass
class FakeSession:
    path: Path
    spec: FakeSpec = field(default_factory=FakeSpec)
    closed: bool = False

    def close(self) -> None:
        self.closed = True


class GatedLoads:
    """A load that waits for the test to release it; records every load and session."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Semaphore(0)
        self.sessions: list[FakeSession] = []
        self.threads: set[str] = set()

    def __call__(self, path: Path) -> FakeSession:
        self.threads.add(threading.current_thread().name + str(threading.get_ident()))
        self.started.release()
        assert self.release.acquire(timeout=10)
        if path.name == 'bad.onnx':
            raise ModelError('bad.onnx: no metadata')
        session = FakeSession(path)
        self.sessions.append(session)
        return session


def test_requests_during_a_load_queue_one_and_the_newest_wins() -> None:
    loads, ready = GatedLoads(), threading.Semaphore(0)
    swapper = ModelSwapper(loads, ready.release)
    swapper.request(Path('a.onnx'), FakeSpec())
    assert loads.started.acquire(timeout=10)  # a.onnx is loading
    for name in ('b.onnx', 'c.onnx', 'd.onnx'):
        swapper.request(Path(name), FakeSpec())
    loads.release.release()  # a.onnx ends: superseded, closed; d.onnx starts
    assert loads.started.acquire(timeout=10)
    loads.release.release()
    assert ready.acquire(timeout=10)
    result = swapper.take()
    assert result.session.path == Path('d.onnx') and not result.session.closed
    assert [s.path.name for s in loads.sessions] == ['a.onnx', 'd.onnx']
    assert loads.sessions[0].closed, 'a superseded load is closed, never handed over'
    assert swapper.superseded == 3  # b and c never loaded, a was replaced
    assert len(loads.threads) == 1, 'one worker served every load'
    assert swapper.take() is None and swapper.swaps == 1


def test_a_failed_load_is_reported_and_the_worker_ends() -> None:
    loads, ready = GatedLoads(), threading.Semaphore(0)
    swapper = ModelSwapper(loads, ready.release)
    swapper.request(Path('bad.onnx'), FakeSpec())
    loads.release.release()
    assert ready.acquire(timeout=10)
    result = swapper.take()
    assert result.session is None and 'no metadata' in result.error
    assert swapper.last_error == result.error and swapper.swaps == 0


def test_an_incompatible_model_is_closed_and_refused() -> None:
    ready = threading.Semaphore(0)
    made: list[FakeSession] = []

    def load(path: Path) -> FakeSession:
        made.append(FakeSession(path, FakeSpec(FakeInput(64, 48))))
        return made[-1]

    swapper = ModelSwapper(load, ready.release)
    swapper.request(Path('wide.onnx'), FakeSpec())
    assert ready.acquire(timeout=10)
    result = swapper.take()
    assert result.session is None and 'input 64x48 differs' in result.error
    assert made[0].closed
