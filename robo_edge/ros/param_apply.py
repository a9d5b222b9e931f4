"""Other nodes' parameters through their rcl_interfaces services, each call bounded.

`RosParamIO` implements `sync.apply.ParamIO` for one calling node. Its calls block until the
answer or `timeout_s`, so they run on a worker thread while the node's executor spins (the
executor completes the futures); never call them from an executor callback.
"""

import threading
from collections.abc import Mapping
from typing import Any

from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python

from robo_edge.sync.apply import CallFailed


def parameter_msg(name: str, value: object) -> Any:
    """Return an rcl_interfaces Parameter message for a Python value."""
    return Parameter(name, value=value).to_parameter_msg()


class RosParamIO:
    """GetParameters / SetParameters on other nodes, with a timeout per call."""

    def __init__(self, node: Node, timeout_s: float) -> None:
        self.node = node
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, node: str, kind: type, suffix: str) -> Any:
        with self._lock:
            client = self._clients.get((node, suffix))
            if client is None:
                client = self.node.create_client(kind, f'/{node}/{suffix}')
                self._clients[(node, suffix)] = client
            return client

    def ready(self, node: str) -> bool:
        """Return whether the node's get and set parameter services are on the graph."""
        return (self._client(node, GetParameters, 'get_parameters').service_is_ready()
                and self._client(node, SetParameters, 'set_parameters').service_is_ready())

    def get(self, node: str, names: list[str]) -> dict[str, Any]:
        """Return the current values (KeyError: a name the node has not declared)."""
        client = self._client(node, GetParameters, 'get_parameters')
        response = self._call(client, GetParameters.Request(names=names), node)
        if len(response.values) != len(names):
            raise KeyError(','.join(names))
        values = {n: parameter_value_to_python(v) for n, v in zip(names, response.values,
                                                                   strict=True)}
        missing = [n for n, v in values.items() if v is None]
        if missing:
            raise KeyError(','.join(missing))
        return values

    def set(self, node: str, values: Mapping[str, Any]) -> dict[str, str | None]:
        """Set each value; return per name None (taken) or the node's reason."""
        client = self._client(node, SetParameters, 'set_parameters')
        names = list(values)
        request = SetParameters.Request(parameters=[parameter_msg(n, values[n]) for n in names])
        response = self._call(client, request, node)
        return {name: None if result.successful else (result.reason or 'refused')
                for name, result in zip(names, response.results, strict=False)}

    def _call(self, client: Any, request: Any, node: str) -> Any:
        if not client.service_is_ready():
            raise CallFailed(f'{node} has no parameter service')
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(self.timeout_s) or future.result() is None:
            future.cancel()
            raise CallFailed(f'{node} did not answer within {self.timeout_s} s')
        return future.result()

    def close(self) -> None:
        """Destroy the clients."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            self.node.destroy_client(client)
