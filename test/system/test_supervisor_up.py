"""`robo-edge up` (up_main): a bad file is refused with exit 2, a good one runs until SIGINT."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from robo_edge.supervisor.up import up_main

FIXTURES = Path(__file__).resolve().parent / 'supervisor_fixtures'
DOMAIN = int(os.environ['ROS_DOMAIN_ID'])


def dummy(name: str) -> dict[str, object]:
    return {'name': name, 'command': [sys.executable, str(FIXTURES / 'dummy_node.py')]}


@pytest.mark.parametrize(('text', 'key'), [
    ({'bringup': {'name': 'x', 'nodes': [dummy('a'), {**dummy('b'), 'restart': 'sometimes'}]}},
     'bringup.nodes[1].restart'),
    ({'bringup': {'name': 'x', 'nodes': [dummy('a'), dummy('a')]}}, 'bringup.nodes[1].name'),
    ({'bringup': {'name': 'x', 'nodes': [{**dummy('a'), 'parameters': ['nope.yaml']}]}},
     'bringup.nodes[0].parameters[0]'),
    ('bringup:\n  name: [broken\n', '(syntax) line'),
])
def test_a_malformed_file_returns_2_and_names_the_key(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      text: object, key: str) -> None:
    path = tmp_path / 'bad.yaml'
    path.write_text(text if isinstance(text, str) else yaml.safe_dump(text))
    assert up_main(str(path), DOMAIN) == 2
    err = capsys.readouterr().err
    assert key in err and str(path) in err


def _interrupt_when_logged(log_dir: Path, names: list[str], timeout_s: float) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            logs = [log_dir / f'{n}.log' for n in names]
            if all(p.exists() and 'dummy up' in p.read_text() for p in logs):
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # like Ctrl-C, even when the nodes never came up

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_up_runs_until_sigint_and_stops_cleanly(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / 'ok.yaml'
    path.write_text(yaml.safe_dump({'bringup': {'name': 'ok', 'nodes': [dummy('one'),
                                                                        dummy('two')]}}))
    watcher = _interrupt_when_logged(tmp_path / 'logs', ['one', 'two'], 20.0)
    assert up_main(str(path), DOMAIN, log_dir=tmp_path / 'logs') == 0
    watcher.join(timeout=5.0)
    out = capsys.readouterr().out
    assert '[one] dummy up' in out and '[two] dummy up' in out
    assert 'one: exit code 0' in out and 'two: exit code 0' in out
    assert 'stopped: stop_requested' in out
