"""Child processes of the cross-process benches: stop flags, line protocol, clean stops."""

import queue
import signal
import subprocess
import threading
import time
from typing import TextIO


def stop_flag() -> threading.Event:
    """Return an event set by SIGINT or SIGTERM (a child's cue to finish and report)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def line_reader(stream: TextIO) -> 'queue.Queue[str]':
    """Pump a child's stdout into a queue of lines ('' once it closes)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip('\n'))
        lines.put('')

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for(lines: 'queue.Queue[str]', token: str, timeout_s: float) -> list[str]:
    """Wait for a line starting with `token`; return every line seen up to it."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if line.startswith(token):
            return seen
    raise RuntimeError(f'child did not print {token} within {timeout_s} s: {seen[-5:]}')


def interrupt(proc: subprocess.Popen | None, timeout_s: float = 10.0) -> None:
    """SIGINT a running child and wait for it; kill it if it does not end in time."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5.0)
