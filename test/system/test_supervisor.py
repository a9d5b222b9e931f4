"""The supervisor with real node processes over DDS: restart, clean stop, exits and budgets."""

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from robo_edge.supervisor import shm
from robo_edge.supervisor.bringup import Bringup, parse_bringup
from robo_edge.supervisor.process import SUPERVISOR_ENV
from robo_edge.supervisor.stats import NodeState
from robo_edge.supervisor.supervisor import EventKind, StopReason, Supervisor

FIXTURES = Path(__file__).resolve().parent / 'supervisor_fixtures'
DOMAIN = int(os.environ['ROS_DOMAIN_ID'])


def heartbeat(name: str, **extra: Any) -> dict[str, Any]:
    return {'name': name, 'command': [sys.executable, str(FIXTURES / 'heartbeat_node.py')],
            'overrides': {'tag': f'tag_{name}', 'period_s': 0.1}, **extra}


def dummy(name: str, *args: str, **extra: Any) -> dict[str, Any]:
    return {'name': name, 'command': [sys.executable, str(FIXTURES / 'dummy_node.py'), *args],
            **extra}


def bringup(*nodes: dict[str, Any]) -> Bringup:
    return parse_bringup({'bringup': {'name': 'test', 'nodes': list(nodes)}}, 'test',
                         config_dirs=[])


def wait_until(condition: Callable[[], bool], timeout_s: float,
               supervisor: Supervisor | None = None) -> bool:
    """Poll the supervisor (if any) and the condition until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if supervisor is not None:
            supervisor.poll()
        if condition():
            return True
        time.sleep(0.02)
    return False


class HeartbeatListener:
    """Subscribes to /heartbeat in its own context and records the (node, pid) pairs heard."""

    def __init__(self) -> None:
        self.heard: set[tuple[str, int, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._context = Context()
        rclpy.init(context=self._context, domain_id=DOMAIN,
                   signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
        self._node = rclpy.create_node('heartbeat_listener', context=self._context)
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self._node.create_subscription(String, '/heartbeat', self._on_beat, qos)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def has(self, name: str, pid: int | None) -> bool:
        with self._lock:
            return any(n == name and p == pid for n, p, _ in self.heard)

    def tags(self) -> set[str]:
        with self._lock:
            return {tag for _, _, tag in self.heard}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._executor.remove_node(self._node)
        self._executor.shutdown(timeout_sec=2.0)
        self._node.destroy_node()
        self._context.try_shutdown()

    def _on_beat(self, msg: String) -> None:
        name, pid, tag = msg.data.split(' ')
        with self._lock:
            self.heard.add((name, int(pid), tag))

    def _spin(self) -> None:
        while not self._stop.is_set():
            self._executor.spin_once(timeout_sec=0.05)


def ours(supervisor: Supervisor) -> list[psutil.Process]:
    """Return the live processes whose environment marks them as started by `supervisor`."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(SUPERVISOR_ENV) == supervisor.instance_id:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def shm_locked_by(pid: int | None) -> dict[str, int]:
    """Return the /dev/shm files whose flock `pid` holds (from /proc/locks), with their inodes."""
    inodes = set()
    for line in Path('/proc/locks').read_text().splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[1] == 'FLOCK' and parts[4] == str(pid):
            inodes.add(int(parts[5].split(':')[2]))
    return {name: ino for name, ino in _shm_inodes().items() if ino in inodes}


def _shm_inodes() -> dict[str, int]:
    found = {}
    for name in shm.fastdds_files():
        try:
            found[name] = os.stat(shm.SHM_DIR / name).st_ino
        except OSError:
            continue
    return found


def test_a_killed_node_is_restarted_alone_and_beats_again() -> None:
    sup = Supervisor(bringup(heartbeat('hb_a'), heartbeat('hb_b'), heartbeat('hb_c')),
                     domain_id=DOMAIN, quiet=True)
    listener = HeartbeatListener()
    try:
        sup.start()
        names = ('hb_a', 'hb_b', 'hb_c')
        assert wait_until(lambda: all(listener.has(n, sup.pid(n)) for n in names), 30.0, sup)
        assert listener.tags() == {'tag_hb_a', 'tag_hb_b', 'tag_hb_c'}  # -p overrides applied
        before = {n: sup.pid(n) for n in names}
        owned = shm_locked_by(before['hb_b'])
        assert owned, 'a Fast DDS node holds the locks of its segments and ports'

        os.kill(before['hb_b'], signal.SIGKILL)
        killed_at = time.monotonic()
        assert wait_until(lambda: sup.pid('hb_b') not in (None, before['hb_b']), 2.0, sup)
        assert time.monotonic() - killed_at < 2.0
        assert sup.restart_count('hb_b') == 1
        assert {n: sup.pid(n) for n in ('hb_a', 'hb_c')} == {
            'hb_a': before['hb_a'], 'hb_c': before['hb_c']}
        assert sup.restart_count('hb_a') == sup.restart_count('hb_c') == 0
        assert wait_until(lambda: listener.has('hb_b', sup.pid('hb_b')), 15.0, sup)

        # The crash was cleaned up: the dead node's segments and ports are gone (a port number
        # may be in use again, by the restarted node: then it is a new file).
        assert wait_until(lambda: any(e.kind is EventKind.SHM_CLEANED for e in sup.events),
                          10.0, sup)
        now = _shm_inodes()
        assert not {name for name, ino in owned.items() if now.get(name) == ino}
    finally:
        # The listener first: the ports it still maps when the supervisor cleans are kept.
        listener.close()
        codes = sup.stop()
    assert codes == {'hb_a': 0, 'hb_b': 0, 'hb_c': 0}


def test_stop_leaves_no_processes_and_no_shared_memory() -> None:
    before = shm.fastdds_files()
    sup = Supervisor(bringup(heartbeat('hb_x'), heartbeat('hb_y'),
                             dummy('parent', '--spawn-child')), domain_id=DOMAIN, quiet=True)
    try:
        sup.start()
        # Three nodes plus the grandchild of `parent`, all marked as ours.
        assert wait_until(lambda: len(ours(sup)) == 4, 15.0, sup)
        assert wait_until(lambda: shm_locked_by(sup.pid('hb_x')), 15.0, sup)
        os.kill(sup.pid('hb_x'), signal.SIGKILL)  # leaves segments behind
        assert wait_until(lambda: sup.restart_count('hb_x') == 1, 5.0, sup)
        # Let the new process get as far as DDS, so SIGINT finds its handler in place.
        assert wait_until(lambda: shm_locked_by(sup.pid('hb_x')), 15.0, sup)
    finally:
        codes = sup.stop(grace_s=5.0)
    assert codes == {'hb_x': 0, 'hb_y': 0, 'parent': 0}
    assert sup.stopped_cleanly
    assert ours(sup) == []
    created = shm.fastdds_files() - before
    # Whatever appeared meanwhile belongs to other live processes on this machine.
    assert created <= shm.held_names(), created - shm.held_names()


def test_a_node_ending_the_bringup_ends_run() -> None:
    sup = Supervisor(bringup(dummy('twin', '--exit-after', '0.3', '--code', '0',
                                   restart='never', exit_ends_bringup=True),
                             dummy('other')), domain_id=DOMAIN, quiet=True)
    started = time.monotonic()
    result = sup.run(timeout_s=30.0)
    assert result.reason is StopReason.NODE_ENDED_BRINGUP and result.ended_by == 'twin'
    assert time.monotonic() - started < 15.0
    # `other` exits 0 on SIGINT, or dies of it if it comes before its handler is installed.
    assert result.exit_codes['twin'] == 0
    assert result.exit_codes['other'] in (0, -signal.SIGINT)
    assert result.clean
    assert sup.state('other') is NodeState.STOPPED


def test_a_crashing_node_is_given_up_after_its_budget(tmp_path: Path) -> None:
    sup = Supervisor(bringup(dummy('crasher', '--exit-after', '0', '--code', '3',
                                   max_restarts=2)), domain_id=DOMAIN, quiet=True,
                     log_dir=tmp_path)
    result = sup.run(timeout_s=30.0)
    assert result.reason is StopReason.ALL_EXITED
    assert result.given_up == ('crasher',) and result.restarts == {'crasher': 2}
    assert result.exit_codes == {'crasher': 3} and not result.clean
    kinds = [e.kind for e in sup.events if e.node == 'crasher']
    assert kinds.count(EventKind.STARTED) == 3 and kinds[-1] is EventKind.GAVE_UP
    log = (tmp_path / 'crasher.log').read_text()
    assert log.count('dummy up') == 3 and 'exited with 3' in log


def test_a_node_ignoring_sigint_gets_sigterm_and_is_not_clean(tmp_path: Path) -> None:
    sup = Supervisor(bringup(dummy('stubborn', '--ignore-sigint')), domain_id=DOMAIN, quiet=True,
                     log_dir=tmp_path)
    sup.start()
    log = tmp_path / 'stubborn.log'
    assert wait_until(lambda: log.exists() and 'dummy up' in log.read_text(), 10.0, sup)
    started = time.monotonic()
    assert sup.stop(grace_s=0.5) == {'stubborn': 0}
    assert time.monotonic() - started < 5.0
    assert not sup.stopped_cleanly


def test_a_missing_executable_is_reported_and_given_up() -> None:
    spec = {'name': 'ghost', 'executable': 'no_such_node_exe', 'max_restarts': 0}
    sup = Supervisor(bringup(spec), domain_id=DOMAIN, quiet=True)
    result = sup.run(timeout_s=10.0)
    assert result.given_up == ('ghost',)
    assert any(e.kind is EventKind.START_FAILED for e in sup.events)
