"""ROS adapter of the runner: carries out `kill` faults at their simulated start time.

The twin injects sensor faults itself; killing a process is the supervisor's business. The
agent owns an rclpy Context on the run's domain, watches `/clock`, and when simulated time
reaches a kill fault's `start_s` it SIGKILLs that node's process group through the supervisor
(whose restart policy then applies, as for any crash). With `duration_s` the restart is held
until that much simulated time has passed: in lockstep, simulated time barely moves while the
stack waits (bounded) for the dead node, so an immediate restart would hide the outage.
"""

import threading
from collections.abc import Callable

from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from robo_edge.chaos.spec import FaultSpec
from robo_edge.ros import qos
from robo_edge.ros.background import BackgroundNode
from robo_edge.ros.stamps import from_msg

NS_PER_S = 1e9

Killer = Callable[[str, bool], int | None]
Releaser = Callable[[str], None]


def kill_report(fault: FaultSpec, index: int, killed_ns: int | None,
                pid: int | None) -> dict[str, object]:
    """Return the run-record entry of one kill fault.

    Reached (`killed_ns`) without a pid means there was no running process to kill: the fault
    was not injected, which the run's verdict reports (`not_injected`) instead of passing a
    run that never exercised it.
    """
    done = killed_ns is not None and pid is not None
    report: dict[str, object] = {
        'index': index, 'type': fault.type, 'target': fault.target,
        'start_s': fault.start_s, 'duration_s': fault.duration_s, 'params': {},
        'injected_by': 'scenario_runner',
        'affected': 1 if done else 0,
        'first_affected_s': killed_ns / NS_PER_S if done else None,
        'last_affected_s': killed_ns / NS_PER_S if done else None, 'pid': pid}
    if killed_ns is not None and pid is None:
        report['not_injected'] = (f'no running {fault.target} process at '
                                  f'{killed_ns / NS_PER_S:.2f} s')
    return report


class ChaosAgent:
    """Kills nodes at simulated times; a context manager spinning its own thread."""

    def __init__(self, faults: tuple[FaultSpec, ...], kill: Killer, release: Releaser,
                 domain_id: int | None, node_name: str = 'robo_edge_chaos') -> None:
        self._pending = [(i, f) for i, f in enumerate(faults) if f.type == 'kill']
        self._held: list[FaultSpec] = []
        self._kill, self._release = kill, release
        self._done: dict[int, dict[str, object]] = {}
        self._lock = threading.Lock()
        self._background = BackgroundNode(node_name, domain_id, 'chaos')
        self._node: Node | None = None

    def attach(self, node: Node) -> None:
        """Watch /clock on `node` (one the caller spins) instead of a node of its own."""
        self._node = node
        if self._pending:
            node.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)

    def __enter__(self) -> 'ChaosAgent':
        if self._pending:
            self._background.start(self.attach)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_clock(self, msg: Clock) -> None:
        now = from_msg(msg.clock)
        with self._lock:
            due = [(i, f) for i, f in self._pending if now >= f.start_ns]
            self._pending = [(i, f) for i, f in self._pending if now < f.start_ns]
            back = [f for f in self._held if f.end_ns is not None and now >= f.end_ns]
            self._held = [f for f in self._held if f not in back]
        logger = self._node.get_logger()
        for fault in back:
            self._release(fault.target)
            logger.warning(f'chaos: {fault.target} may restart at {now / NS_PER_S:.3f} s')
        for index, fault in due:
            hold = fault.end_ns is not None
            pid = self._kill(fault.target, hold)
            if pid is None:
                logger.error(f'chaos: no running {fault.target} process to kill at '
                             f'{now / NS_PER_S:.3f} s: the fault is not injected')
            else:
                if hold:
                    with self._lock:
                        self._held.append(fault)
                logger.warning(f'chaos: killed {fault.target} (pid {pid}) at '
                               f'{now / NS_PER_S:.3f} s')
            self._done[index] = kill_report(fault, index, now, pid)

    def reports(self, faults: tuple[FaultSpec, ...]) -> dict[int, dict[str, object]]:
        """Return the entry of every kill fault by index (not reached: nothing affected)."""
        return {i: self._done.get(i, kill_report(f, i, None, None))
                for i, f in enumerate(faults) if f.type == 'kill'}

    def close(self) -> None:
        """Release held nodes, stop spinning and shut the context down (bounded waits)."""
        for fault in self._held:
            self._release(fault.target)
        self._background.close()
