"""Declared against running with real nodes: a graph made to diverge is reported and reconciled.

mode_manager and drive_script (robo_edge executables) and a heartbeat fixture run under the
supervisor; the reconciler (as `robo-edge up` runs it) compares them with the bringup. A live
parameter changed behind its back is set back; a killed node is reported down while the
supervisor holds its restart, then up again with one restart; a node past its restart budget
is escalated (ERROR on /diagnostics), not restarted.
"""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from robo_edge.ros.background import BackgroundNode
from robo_edge.ros.graph_probe import GraphProbe
from robo_edge.supervisor.bringup import parse_bringup
from robo_edge.supervisor.graph_status import Reconciler
from robo_edge.supervisor.reconcile import Action, GraphReport
from robo_edge.supervisor.supervisor import Supervisor

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / 'supervisor_fixtures'
DOMAIN = int(os.environ['ROS_DOMAIN_ID'])
DECLARED_CAP = 0.3  # config/breakers.yaml mode_manager.degraded_speed_cap


def _bringup():
    return parse_bringup({'bringup': {'name': 'reconcile', 'nodes': [
        {'name': 'mode_manager', 'executable': 'mode_manager',
         'parameters': ['breakers.yaml']},
        {'name': 'drive_script', 'executable': 'drive_script',
         'overrides': {'segments': [1.0, 0.1, 0.0]}},
        {'name': 'beat', 'command': [sys.executable, str(FIXTURES / 'heartbeat_node.py')],
         'overrides': {'tag': 'beat', 'period_s': 0.5}, 'max_restarts': 0},
    ]}}, 'test', config_dirs=[REPO / 'config'])


class Graph:
    """The supervisor, its reconciler and a bystander probe that tampers with the graph."""

    def __init__(self) -> None:
        bringup = _bringup()
        self.log: list[str] = []
        self.sup = Supervisor(bringup, domain_id=DOMAIN, quiet=True)
        self.rec = Reconciler(bringup, self.sup.resource_stats, DOMAIN, log=self.log.append,
                              ignore=('tamper',))
        self._bystander = BackgroundNode('tamper', DOMAIN, 'tamper')
        self.reports: list[GraphReport] = []

    def start(self) -> None:
        self.sup.start()
        self.rec.start(loop=False)  # the test drives the cycles the loop would run
        holder: list[GraphProbe] = []
        self._bystander.start(lambda node: holder.append(GraphProbe(node)))
        self.tamper = holder[0]

    def until(self, condition: Callable[[GraphReport], bool], timeout_s: float) -> GraphReport:
        """Run supervisor polls and reconcile cycles until `condition` holds (deadline)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.sup.poll()
            report = self.rec.cycle()
            self.reports.append(report)
            if condition(report):
                return report
            time.sleep(0.05)
        raise AssertionError(f'not within {timeout_s} s; last: {self.reports[-1:]}, '
                             f'log: {self.log}')

    def close(self) -> None:
        self.rec.close()
        self.tamper.close()
        self._bystander.close()
        self.sup.stop()


def _row(report: GraphReport, name: str):
    return next(row for row in report.nodes if row.name == name)


def _as_declared(report: GraphReport) -> bool:
    return not report.divergences and all(row.status == 'up' for row in report.nodes)


def test_a_diverged_graph_is_reported_and_reconciled() -> None:
    graph = Graph()
    try:
        graph.start()
        report = graph.until(_as_declared, 25.0)
        cap = next(p for p in _row(report, 'mode_manager').parameters
                   if p.name == 'degraded_speed_cap')
        assert (cap.declared, cap.applied, cap.state) == (DECLARED_CAP, DECLARED_CAP, 'ok')

        # A live parameter changed behind the reconciler's back is set back.
        assert graph.tamper.set('mode_manager', {'degraded_speed_cap': 0.7}) == {}
        assert graph.tamper.parameters('mode_manager')[0]['degraded_speed_cap'] == 0.7
        graph.until(lambda r: any(d.action is Action.REAPPLY and d.applied == 0.7
                                  for d in r.divergences), 5.0)
        graph.until(_as_declared, 5.0)
        assert graph.tamper.parameters('mode_manager')[0]['degraded_speed_cap'] == DECLARED_CAP
        assert any('re-applied' in line and 'degraded_speed_cap' in line for line in graph.log)

        # A killed node is reported down, restarted by the supervisor, then up again.
        assert graph.sup.kill('drive_script', hold=True) is not None
        down = graph.until(lambda r: _row(r, 'drive_script').status == 'restarting', 5.0)
        assert [d.action for d in down.divergences if d.node == 'drive_script'] == \
            [Action.RESTART]
        graph.sup.release('drive_script')
        back = graph.until(_as_declared, 15.0)
        assert _row(back, 'drive_script').restarts == 1

        # Past its restart budget (max_restarts 0): escalated, never restarted.
        graph.sup.kill('beat')
        spent = graph.until(lambda r: _row(r, 'beat').status == 'given_up', 5.0)
        assert [(d.kind, d.action) for d in spent.divergences] == \
            [('restart_budget', Action.ESCALATE)]
        assert spent.level == 2
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and 'given_up' not in \
                graph.tamper.statuses().get('robo_edge/graph', {}).get('node/beat', ''):
            graph.rec.cycle()
            time.sleep(0.1)
        status = graph.tamper.statuses()['robo_edge/graph']
        assert status['node/beat'].startswith('given_up')
        assert any(v.startswith('ERROR escalate beat') for k, v in status.items()
                   if k.startswith('divergence/'))
    finally:
        graph.close()
