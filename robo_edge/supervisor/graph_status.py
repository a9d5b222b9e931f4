"""ROS adapter: declared against running, in `robo-edge up` (reconciling) and `robo-edge status`.

`Reconciler` runs inside the supervisor's process: every `period_s` it reads the graph
(GraphProbe), compares it with the bringup (supervisor/reconcile.py), sets drifted live
parameters back through each node's set_parameters service, and publishes the
`robo_edge/graph` status on /diagnostics. Restarts stay the supervisor's (its restart policy
and budget); a read-only drift, a refused value, a spent budget or an undeclared node is
escalated: an ERROR status and a log line, never changed. `status_main` is the one-shot CLI:
it reads the same report (liveness and restarts from the supervisor's /diagnostics) and acts
on nothing.
"""

import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

from robo_edge.ros.background import BackgroundNode
from robo_edge.ros.graph_probe import GraphProbe
from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.supervisor import graph_report
from robo_edge.supervisor.activations import activated_parameters, with_activations
from robo_edge.supervisor.bringup import Bringup
from robo_edge.supervisor.reconcile import (
    Action,
    DeclaredNode,
    GraphReport,
    Observation,
    coerce,
    compare,
    declared_graph,
)
from robo_edge.supervisor.stats import NodeStats, status_name

StatsSource = Callable[[], Mapping[str, NodeStats]]
SUPERVISOR_PREFIX = status_name('')
STATUS_WAIT_S = 3.0
POLL_S = 0.05


def observe(probe: GraphProbe, declared: tuple[DeclaredNode, ...],
            processes: Mapping[str, Mapping[str, Any]],
            refused: Mapping[tuple[str, str], str], ignore: Iterable[str] = ()) -> Observation:
    """Return the running graph as the probe sees it, with the supervisor's process table.

    `ignore`: nodes known not to be part of the robot (a test's own), never called extra.
    """
    in_graph = probe.node_names()
    nodes = {d.name: probe.observe(d.name, processes.get(d.name), d.name in in_graph)
             for d in declared}
    return Observation(nodes, probe.extra_nodes((n.name for n in declared), ignore),
                       dict(refused))


def processes_from_stats(stats: Mapping[str, NodeStats]) -> dict[str, dict[str, Any]]:
    """Return the supervisor's own process table as the probe takes it."""
    return {name: {'state': s.state.value, 'restarts': s.restarts,
                   'last_exit_code': s.last_exit_code} for name, s in stats.items()}


def processes_from_statuses(statuses: Mapping[str, Mapping[str, str]]
                            ) -> dict[str, dict[str, Any]]:
    """Return the process table a running supervisor publishes on /diagnostics."""
    table = {}
    for name, values in statuses.items():
        if name.startswith(SUPERVISOR_PREFIX):
            code = values.get('last_exit_code', '')
            table[name.removeprefix(SUPERVISOR_PREFIX)] = {
                'state': values.get('state'), 'restarts': int(values.get('restarts', '0')),
                'last_exit_code': int(code) if code.lstrip('-').isdigit() else None}
    return table


class Reconciler:
    """Compares, re-applies live parameters, escalates the rest and publishes the status."""

    def __init__(self, bringup: Bringup, stats: StatsSource, domain_id: int | None = None,
                 period_s: float = 2.0, log: Callable[[str], None] | None = None,
                 ignore: Iterable[str] = ()) -> None:
        self.declared = declared_graph(bringup)
        self.ignore = tuple(ignore)
        self.refused: dict[tuple[str, str], str] = {}
        self.last: GraphReport | None = None
        self._stats = stats
        self._period_s = period_s
        self._log = log or (lambda _line: None)
        self._logged: set[str] = set()
        self._background = BackgroundNode('robo_edge_reconciler', domain_id, 'reconcile')
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.probe: GraphProbe | None = None

    def start(self, loop: bool = True) -> None:
        """Start the node; with `loop`, a thread that runs a cycle every period."""
        self._background.start(self._setup)
        if loop:
            self._thread = threading.Thread(target=self._run, name='reconcile-loop',
                                            daemon=True)
            self._thread.start()

    def cycle(self) -> GraphReport:
        """Observe, compare, act on what is safe, publish and log; return the report."""
        declared = self.current_declared()
        observation = observe(self.probe, declared,
                              processes_from_stats(self._stats()), self.refused, self.ignore)
        report = compare(declared, observation)
        drifting = {(d.node, d.parameter) for d in report.divergences if d.parameter}
        self.refused = {k: v for k, v in self.refused.items() if k in drifting}
        self._reapply(report)
        self._publish(report, graph_report.versions(self.probe.statuses(),
                                                    observation.nodes))
        self._log_new(report)
        self.last = report
        return report

    def current_declared(self) -> tuple[DeclaredNode, ...]:
        """Return the bringup's values with what cloud_sync activated over them."""
        return with_activations(self.declared,
                                activated_parameters(self.probe.announcements()))

    def close(self) -> None:
        """Stop the loop and the node (bounded waits)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._period_s + 10.0)
        if self.probe is not None:
            self.probe.close()
        self._background.close()

    def _setup(self, node: Node) -> None:
        self.probe = GraphProbe(node)
        self._node = node
        self._publisher = node.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            try:
                self.cycle()
            except Exception as e:  # noqa: BLE001 - the supervisor goes on without it
                self._log(f'reconcile: cycle failed: {e!r}')

    def _reapply(self, report: GraphReport) -> None:
        by_node: dict[str, dict[str, Any]] = {}
        for d in report.actions(Action.REAPPLY):
            by_node.setdefault(d.node, {})[d.parameter] = coerce(d.declared, d.applied)
        for node, values in by_node.items():
            refused = self.probe.set(node, values)
            for name, value in values.items():
                if name in refused:
                    self.refused[(node, name)] = refused[name]
                    self._log(f'reconcile: {node}.{name}: the node refused the declared '
                              f'{value!r}: {refused[name]} (escalated)')
                else:
                    self._log(f'reconcile: {node}.{name}: re-applied the declared {value!r}')

    def _publish(self, report: GraphReport, versions: Mapping[str, str]) -> None:
        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        values = graph_report.diagnostic_values(report, versions)
        msg.status.append(DiagnosticStatus(
            level=bytes([report.level]), name=graph_report.STATUS_NAME,
            message=graph_report.summary(report), hardware_id=socket.gethostname(),
            values=[KeyValue(key=k, value=v) for k, v in values]))
        self._publisher.publish(msg)

    def _log_new(self, report: GraphReport) -> None:
        now = set()
        for d in report.divergences:
            if d.action in (Action.ESCALATE, Action.RESTART):
                line = f'reconcile: {graph_report.LEVEL_NAMES[d.level]} {d.action.value} ' \
                       f'{graph_report.where(d)}: {d.detail}'
                now.add(line)
                if line not in self._logged:
                    self._log(line)
        self._logged = now


def status_main(bringup: Bringup, domain_id: int | None, as_json: bool, out: TextIO,
                wait_s: float = STATUS_WAIT_S) -> int:
    """Print the declared graph beside the running one; 0 when it runs as declared."""
    declared = declared_graph(bringup)
    background = BackgroundNode('robo_edge_status', domain_id, 'status')
    holder: dict[str, GraphProbe] = {}
    background.start(lambda node: holder.setdefault('probe', GraphProbe(node)))
    probe = holder['probe']
    try:
        _wait_for_graph(probe, declared, wait_s)
        processes = processes_from_statuses(probe.statuses())
        declared = with_activations(declared, activated_parameters(probe.announcements()))
        observation = observe(probe, declared, processes, {})
        report = compare(declared, observation)
        versions = graph_report.versions(probe.statuses(), observation.nodes)
    finally:
        probe.close()
        background.close()
    text = graph_report.to_json(report, versions) if as_json \
        else graph_report.table(report, versions)
    print(text, file=out, flush=True)
    return 0 if not report.divergences else 1


def _wait_for_graph(probe: GraphProbe, declared: tuple[DeclaredNode, ...],
                    wait_s: float) -> None:
    """Wait (bounded) until the supervisor's table is heard and its running nodes discovered."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        table = processes_from_statuses(probe.statuses())
        names = probe.node_names()
        if all(d.name in table for d in declared) and all(
                d.name in names for d in declared if table[d.name]['state'] == 'running'):
            return
        time.sleep(POLL_S)
