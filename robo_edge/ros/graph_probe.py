"""Reads the running graph for reconciling: nodes, parameters, /diagnostics; sets parameters.

It works from a node that another thread spins (a BackgroundNode): every service call waits
on its future with a deadline, never forever. Parameter values come from each node's
ListParameters, GetParameters and DescribeParameters services (read-only from the
descriptors); changes go through its SetParameters service, so the node's own
set-parameters callback validates and applies them, or refuses with its reason.
"""

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import DescribeParameters, GetParameters, ListParameters, SetParameters
from rclpy.client import Client
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python
from std_msgs.msg import String

from robo_edge.ros.qos import DIAGNOSTICS, LATCHED
from robo_edge.supervisor.reconcile import NodeObservation

SERVICES = {'list': (ListParameters, 'list_parameters'),
            'get': (GetParameters, 'get_parameters'),
            'describe': (DescribeParameters, 'describe_parameters'),
            'set': (SetParameters, 'set_parameters')}
# Nodes of the tools themselves (supervisor, reconciler, status CLI, ros2 daemon): not extra.
OWN_PREFIXES = ('robo_edge_supervisor', 'robo_edge_reconciler', 'robo_edge_status', '_')


class GraphProbe:
    """Observes nodes of the graph `node` is on; `timeout_s` bounds each service call."""

    def __init__(self, node: Node, timeout_s: float = 2.0) -> None:
        self._node = node
        self._timeout_s = timeout_s
        self._clients: dict[tuple[str, str], Client] = {}
        self._lock = threading.Lock()
        self._statuses: dict[str, dict[str, str]] = {}
        self._active: dict[str, dict[str, Any]] = {}
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 DIAGNOSTICS)
        node.create_subscription(String, '/cloud_sync/active', self._on_active, LATCHED)

    def announcements(self) -> list[dict[str, Any]]:
        """Return cloud_sync's latest announcement per target (`{kind, target, path}`)."""
        with self._lock:
            return list(self._active.values())

    def statuses(self) -> dict[str, dict[str, str]]:
        """Return the latest key-values of every /diagnostics status heard, by name."""
        with self._lock:
            return {name: dict(values) for name, values in self._statuses.items()}

    def node_names(self) -> set[str]:
        """Return the names of the nodes in the root namespace the graph knows now."""
        return {name for name, namespace in self._node.get_node_names_and_namespaces()
                if namespace == '/'}

    def extra_nodes(self, declared: Iterable[str], ignore: Iterable[str] = ()) -> tuple[str, ...]:
        """Return the graph's nodes that are neither declared, ignored nor the tools' own."""
        known = set(declared) | set(ignore) | {self._node.get_name()}
        return tuple(sorted(n for n in self.node_names()
                            if n not in known and not n.startswith(OWN_PREFIXES)))

    def observe(self, name: str, process: Mapping[str, Any] | None,
                in_graph: bool) -> NodeObservation:
        """Return one node as seen: `process` is the supervisor's figures of it, if any."""
        process = process or {}
        # A killed node stays in the graph until its lease ends: ask only a live process.
        readable = in_graph and process.get('state') in (None, 'running')
        values, read_only = self.parameters(name) if readable else (None, frozenset())
        return NodeObservation(name, process.get('state'), process.get('restarts'), in_graph,
                               process.get('last_exit_code'), values, read_only)

    def parameters(self, name: str) -> tuple[dict[str, Any] | None, frozenset[str]]:
        """Return a node's parameter values and its read-only names (None: no answer)."""
        listed = self._call(name, 'list', ListParameters.Request())
        if listed is None:
            return None, frozenset()
        names = list(listed.result.names)
        got = self._call(name, 'get', GetParameters.Request(names=names))
        described = self._call(name, 'describe', DescribeParameters.Request(names=names))
        if got is None or described is None or len(got.values) != len(names):
            return None, frozenset()
        values = {n: _python(v) for n, v in zip(names, got.values, strict=True)}
        read_only = frozenset(d.name for d in described.descriptors if d.read_only)
        return values, read_only

    def set(self, name: str, values: Mapping[str, Any]) -> dict[str, str]:
        """Set parameters on a node; return the refused ones with the node's reason."""
        request = SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
        answer = self._call(name, 'set', request)
        if answer is None:
            return {k: 'its set_parameters service did not answer' for k in values}
        return {k: r.reason or 'refused' for k, r in zip(values, answer.results, strict=True)
                if not r.successful}

    def close(self) -> None:
        """Destroy the service clients."""
        for client in self._clients.values():
            self._node.destroy_client(client)
        self._clients.clear()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                self._statuses[status.name] = {kv.key: kv.value for kv in status.values}

    def _on_active(self, msg: String) -> None:
        try:
            item = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(item, dict) and isinstance(item.get('target'), str):
            with self._lock:
                self._active[item['target']] = item

    def _call(self, name: str, kind: str, request: Any) -> Any:
        """Call a node's parameter service; None when it is absent or does not answer."""
        client = self._clients.get((name, kind))
        if client is None:
            srv_type, suffix = SERVICES[kind]
            client = self._node.create_client(srv_type, f'/{name}/{suffix}')
            self._clients[(name, kind)] = client
        if not client.wait_for_service(timeout_sec=self._timeout_s):
            return None
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _: done.set())
        if not done.wait(self._timeout_s):
            future.cancel()
            return None
        return future.result()


def _python(value: Any) -> Any:
    result = parameter_value_to_python(value)
    return list(result) if not isinstance(result, (str, bytes)) and hasattr(
        result, '__len__') else result
