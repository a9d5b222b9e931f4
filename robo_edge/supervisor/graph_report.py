"""A graph report as text, JSON and diagnostic key-values; the active artifact versions (pure).

The versions come from what the nodes already publish on /diagnostics: perception's
`model_version`, cloud_sync's `active/<target>` per channel, and the mapper's `static_map`
parameter; a version nobody publishes reads `unknown`.
"""

import json
from collections.abc import Mapping
from typing import Any

from robo_edge.supervisor.reconcile import Action, GraphReport, NodeObservation

STATUS_NAME = 'robo_edge/graph'
PERCEPTION_STATUS = 'robo_edge/perception'
CLOUD_SYNC_STATUS = 'robo_edge/cloud_sync'
UNKNOWN = 'unknown'
LEVEL_NAMES = {0: 'OK', 1: 'WARN', 2: 'ERROR'}

Statuses = Mapping[str, Mapping[str, str]]


def versions(statuses: Statuses, nodes: Mapping[str, NodeObservation]) -> dict[str, str]:
    """Return the active map, model and policy versions, `unknown` where none is published."""
    sync = {key.removeprefix('active/'): value
            for key, value in statuses.get(CLOUD_SYNC_STATUS, {}).items()
            if key.startswith('active/') and value}
    found = {kind: next((f'{value} ({target}, cloud_sync)' for target, value in sync.items()
                         if target.split('/')[0] == kind), UNKNOWN)
             for kind in ('map', 'model', 'policy')}
    perception = statuses.get(PERCEPTION_STATUS, {})
    if perception.get('model_version'):
        path = perception.get('model_path', '')
        found['model'] = f'{perception["model_version"]} ({path}, perception)'
    mapper = nodes.get('mapper')
    if found['map'] == UNKNOWN and mapper is not None and mapper.parameters is not None:
        static_map = mapper.parameters.get('static_map')
        if static_map is not None:
            found['map'] = f'static_map {static_map} (mapper)' if static_map else \
                'none: built live (mapper static_map empty)'
    return found


def to_dict(report: GraphReport, versions_now: Mapping[str, str]) -> dict[str, Any]:
    """Return the report as plain JSON-able data."""
    return {
        'level': LEVEL_NAMES[report.level],
        'nodes': [{'name': row.name, 'status': row.status, 'restarts': row.restarts,
                   'in_graph': row.in_graph, 'safety_critical': row.safety_critical,
                   'parameters': [{'name': p.name, 'declared': _plain(p.declared),
                                   'applied': _plain(p.applied), 'state': p.state}
                                  for p in row.parameters]}
                  for row in report.nodes],
        'divergences': [{'node': d.node, 'kind': d.kind, 'action': d.action.value,
                         'level': LEVEL_NAMES[d.level], 'detail': d.detail,
                         'parameter': d.parameter, 'declared': _plain(d.declared),
                         'applied': _plain(d.applied)} for d in report.divergences],
        'versions': dict(versions_now),
    }


def to_json(report: GraphReport, versions_now: Mapping[str, str]) -> str:
    """Return the report as indented JSON."""
    return json.dumps(to_dict(report, versions_now), indent=2, sort_keys=False)


def summary(report: GraphReport) -> str:
    """Return one line: as declared, or how many divergences of each action."""
    if not report.divergences:
        return 'running as declared'
    counts = {a: len(report.actions(a)) for a in Action}
    parts = [f'{n} {a.value}' for a, n in counts.items() if n]
    return f'{len(report.divergences)} divergences: {", ".join(parts)}'


def table(report: GraphReport, versions_now: Mapping[str, str]) -> str:
    """Return the declared graph beside the running one, as text."""
    lines = [f'graph: {LEVEL_NAMES[report.level]}, {summary(report)}', '',
             f'{"node":<16} {"status":<11} {"restarts":>8}  parameters']
    for row in report.nodes:
        drift = sum(p.state != 'ok' for p in row.parameters)
        params = f'{len(row.parameters) - drift}/{len(row.parameters)} as declared' \
            if row.parameters else '-'
        mark = ' (safety-critical)' if row.safety_critical else ''
        restarts = '?' if row.restarts is None else str(row.restarts)
        lines.append(f'{row.name:<16} {row.status:<11} {restarts:>8}  {params}{mark}')
    lines += ['', f'{"parameter":<44} {"declared":<22} {"applied":<22} state']
    for row in report.nodes:
        for p in row.parameters:
            lines.append(f'{row.name + "." + p.name:<44} {_short(p.declared):<22} '
                         f'{_short(p.applied):<22} {p.state}')
    lines += ['', 'versions:'] + [f'  {k}: {v}' for k, v in versions_now.items()]
    if report.divergences:
        lines += ['', 'divergences:']
        lines += [f'  {LEVEL_NAMES[d.level]:<5} {d.action.value:<8} {where(d)}: {d.detail}'
                  for d in report.divergences]
    return '\n'.join(lines)


def diagnostic_values(report: GraphReport,
                      versions_now: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return the key-values of the `robo_edge/graph` status."""
    values = [(f'node/{row.name}', f'{row.status}, restarts '
               f'{"?" if row.restarts is None else row.restarts}') for row in report.nodes]
    values += [(f'version/{k}', v) for k, v in versions_now.items()]
    values += [(f'divergence/{i}', f'{LEVEL_NAMES[d.level]} {d.action.value} {where(d)}: '
                f'{d.detail}') for i, d in enumerate(report.divergences)]
    values += [(f'param/{row.name}.{p.name}',
                f'declared {_short(p.declared, 60)}, applied {_short(p.applied, 60)}, {p.state}')
               for row in report.nodes for p in row.parameters]
    return values


def where(d: Any) -> str:
    """Return where a divergence is: the node, or the parameter with both values."""
    if d.parameter is None:
        return d.node
    return f'{d.node}.{d.parameter} (declared {_short(d.declared)}, applied {_short(d.applied)})'


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return [_plain(v) for v in value]


def _short(value: Any, limit: int = 22) -> str:
    text = '-' if value is None else json.dumps(_plain(value))
    return text if len(text) <= limit else text[:limit - 1] + '…'
