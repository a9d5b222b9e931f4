"""Declared against running: compare a bringup with what the graph runs, decide what to do.

A pure core. The declared state is the bringup (its nodes, their parameter files and
overrides); the observed state is what a probe read from the running graph (each node's
process state and restarts, whether the graph knows it, its parameter values and which are
read-only). `compare` returns a report with every divergence and its action: `reapply` a live
parameter, `restart` (the supervisor's restart policy does it), `escalate` (never fixed
silently: a read-only parameter, a refused value, a restart budget spent, a node nobody
restarts) or `none`.
"""

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robo_edge.supervisor.bringup import Bringup, NodeSpec, RestartPolicy

OK, WARN, ERROR = 0, 1, 2
REL_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-12


class Action(enum.Enum):
    """What reconciling does about one divergence."""

    NONE = 'none'
    REAPPLY = 'reapply'
    RESTART = 'restart'
    ESCALATE = 'escalate'


@dataclass(frozen=True)
class DeclaredNode:
    """One node as the bringup declares it."""

    name: str
    parameters: Mapping[str, Any]
    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    max_restarts: int = 0
    safety_critical: bool = False


@dataclass(frozen=True)
class NodeObservation:
    """One declared node as observed; None where the probe could not tell."""

    name: str
    process: str | None = None  # the supervisor's state: running, restarting, given_up, ...
    restarts: int | None = None
    in_graph: bool = False
    last_exit_code: int | None = None
    parameters: Mapping[str, Any] | None = None
    read_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Observation:
    """The running graph: declared nodes as seen, nodes nobody declared, refusals so far."""

    nodes: Mapping[str, NodeObservation]
    extra_nodes: tuple[str, ...] = ()
    refused: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Divergence:
    """One difference between declared and running, and what reconciling does about it."""

    node: str
    kind: str
    action: Action
    level: int
    detail: str
    parameter: str | None = None
    declared: Any = None
    applied: Any = None


@dataclass(frozen=True)
class ParamRow:
    """A declared parameter beside its applied value (`state`: ok, drift, missing, unread)."""

    name: str
    declared: Any
    applied: Any
    state: str


@dataclass(frozen=True)
class NodeRow:
    """A declared node: up or down, its restarts, its parameters."""

    name: str
    status: str
    restarts: int | None
    in_graph: bool
    safety_critical: bool
    parameters: tuple[ParamRow, ...]


@dataclass(frozen=True)
class GraphReport:
    """The whole comparison: a row per declared node and every divergence."""

    nodes: tuple[NodeRow, ...]
    divergences: tuple[Divergence, ...]

    @property
    def level(self) -> int:
        """Return the worst level of any divergence (OK when there is none)."""
        return max((d.level for d in self.divergences), default=OK)

    def actions(self, action: Action) -> list[Divergence]:
        """Return the divergences whose action is `action`."""
        return [d for d in self.divergences if d.action is action]


# ---------------------------------------------------------------- the declared state


def declared_graph(bringup: Bringup) -> tuple[DeclaredNode, ...]:
    """Return each node of the bringup with the parameter values it is started with."""
    return tuple(DeclaredNode(spec.name, declared_parameters(spec), spec.restart,
                              spec.max_restarts, spec.safety_critical)
                 for spec in bringup.nodes)


def declared_parameters(spec: NodeSpec) -> dict[str, Any]:
    """Return the parameters a node starts with: its files in order, then its overrides.

    A file's sections apply as ROS applies them: `/**`, then the node's own name (with or
    without a leading slash); nested mappings become dotted names.
    """
    values: dict[str, Any] = {}
    for path in spec.parameters:
        document = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
        for key in ('/**', spec.name, f'/{spec.name}'):
            section = document.get(key) if isinstance(document, dict) else None
            if isinstance(section, dict) and isinstance(section.get('ros__parameters'), dict):
                values.update(flatten(section['ros__parameters']))
    values.update(spec.overrides)
    return values


def flatten(tree: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
    """Return nested parameter mappings as dotted names."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f'{prefix}{key}'
        if isinstance(value, Mapping):
            flat.update(flatten(value, f'{name}.'))
        else:
            flat[name] = value
    return flat


# ---------------------------------------------------------------- values


def values_equal(declared: Any, applied: Any) -> bool:
    """Return whether an applied value is the declared one (floats to 1e-9, lists by item)."""
    if isinstance(declared, bool) or isinstance(applied, bool):
        return isinstance(declared, bool) and isinstance(applied, bool) and declared == applied
    if _is_list(declared) or _is_list(applied):
        if not (_is_list(declared) and _is_list(applied)):
            return False
        items = list(declared), list(applied)
        return len(items[0]) == len(items[1]) and all(
            values_equal(a, b) for a, b in zip(*items, strict=True))
    if isinstance(declared, (int, float)) and isinstance(applied, (int, float)):
        return math.isclose(declared, applied, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return type(declared) is type(applied) and declared == applied


def coerce(declared: Any, applied: Any) -> Any:
    """Return the declared value in the type of the applied one (an int for a double)."""
    if isinstance(applied, float) and isinstance(declared, int) \
            and not isinstance(declared, bool):
        return float(declared)
    if _is_list(applied) and _is_list(declared):
        items = list(applied)
        if items and isinstance(items[0], float):
            return [float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                    for v in declared]
        return list(declared)
    return declared


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes)) \
        or type(value).__name__ == 'array'


# ---------------------------------------------------------------- the comparison


def compare(declared: Sequence[DeclaredNode], observed: Observation) -> GraphReport:
    """Return every declared node beside what runs, and each divergence with its action."""
    rows: list[NodeRow] = []
    found: list[Divergence] = []
    for node in declared:
        seen = observed.nodes.get(node.name, NodeObservation(node.name))
        status, liveness = _liveness(node, seen)
        found.extend(liveness)
        params: tuple[ParamRow, ...] = ()
        if status == 'up':
            params, drift = _parameters(node, seen, observed.refused)
            found.extend(drift)
        rows.append(NodeRow(node.name, status, seen.restarts, seen.in_graph,
                            node.safety_critical, params))
    for name in observed.extra_nodes:
        found.append(Divergence(name, 'extra_node', Action.ESCALATE, ERROR,
                                'runs but the bringup does not declare it; left alone'))
    return GraphReport(tuple(rows), tuple(found))


def _liveness(node: DeclaredNode, seen: NodeObservation) -> tuple[str, list[Divergence]]:
    """Return the node's status (up, down, restarting, given_up, exited) and divergences."""
    safety = ' (safety-critical)' if node.safety_critical else ''
    process = seen.process
    if process == 'running' or (process is None and seen.in_graph):
        if seen.in_graph:
            return 'up', []
        return 'starting', [Divergence(node.name, 'not_in_graph', Action.NONE, WARN,
                                       'its process runs but the graph has no such node yet')]
    if process in ('restarting', 'pending'):
        detail = f'down{safety}: the supervisor restarts it per its policy ' \
                 f'({node.restart.value}, restarts so far {seen.restarts})'
        return 'restarting', [Divergence(node.name, 'node_down', Action.RESTART, WARN, detail)]
    if process == 'given_up':
        detail = f'down{safety}: it kept crashing past its restart budget ' \
                 f'(max_restarts {node.max_restarts}); not restarted again'
        return 'given_up', [Divergence(node.name, 'restart_budget', Action.ESCALATE, ERROR,
                                       detail)]
    if process in ('exited', 'stopped') and seen.last_exit_code == 0:
        return 'exited', []  # it finished and its policy keeps it down (frames without tf2)
    if process is None:
        detail = f'down{safety}: not in the graph and no supervisor reports it'
    else:
        detail = f'down{safety}: exit code {seen.last_exit_code}, restart policy ' \
                 f'{node.restart.value} keeps it down'
    return 'down', [Divergence(node.name, 'node_down', Action.ESCALATE, ERROR, detail)]


def _parameters(node: DeclaredNode, seen: NodeObservation,
                refused: Mapping[tuple[str, str], str]
                ) -> tuple[tuple[ParamRow, ...], list[Divergence]]:
    """Return each declared parameter beside its applied value, and the drifts."""
    if seen.parameters is None:
        rows = tuple(ParamRow(n, v, None, 'unread') for n, v in node.parameters.items())
        return rows, [Divergence(node.name, 'parameters_unread', Action.NONE, WARN,
                                 'its parameter services did not answer in time')]
    rows, found = [], []
    for name, want in node.parameters.items():
        if name not in seen.parameters:
            rows.append(ParamRow(name, want, None, 'missing'))
            found.append(Divergence(node.name, 'unknown_parameter', Action.ESCALATE, ERROR,
                                    'declared in the bringup; the node has no such parameter',
                                    name, want, None))
            continue
        have = seen.parameters[name]
        if values_equal(want, have):
            rows.append(ParamRow(name, want, have, 'ok'))
            continue
        rows.append(ParamRow(name, want, have, 'drift'))
        found.append(_drift(node, name, want, have, seen.read_only, refused))
    return tuple(rows), found


def _drift(node: DeclaredNode, name: str, want: Any, have: Any, read_only: frozenset[str],
           refused: Mapping[tuple[str, str], str]) -> Divergence:
    if name in read_only:
        return Divergence(node.name, 'parameter_drift', Action.ESCALATE, ERROR,
                          'read-only: only a restart would apply it; not done here',
                          name, want, have)
    if (node.name, name) in refused:
        return Divergence(node.name, 'parameter_drift', Action.ESCALATE, ERROR,
                          f'the node refused the declared value: {refused[(node.name, name)]}',
                          name, want, have)
    safety = ' on a safety-critical node' if node.safety_critical else ''
    return Divergence(node.name, 'parameter_drift', Action.REAPPLY, WARN,
                      f'live: the declared value is set again{safety}', name, want, have)
