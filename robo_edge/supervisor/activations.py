"""What cloud_sync activated is declared too: its model, map and policy values (pure).

cloud_sync announces each active artifact on `/cloud_sync/active` (`{kind, target, path}`)
and sets it on the nodes: a model as perception's `model_path`, a map as the mapper's
`static_map`, a policy's `<node>.<parameter>` values on each node. Reconciling lays these
over the bringup's values, so it never undoes a verified release.
"""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from robo_edge.exceptions import ArtifactRejected
from robo_edge.supervisor.reconcile import DeclaredNode
from robo_edge.sync.artifacts import load_policy, policy_overrides

Activated = dict[str, dict[str, Any]]


def activated_parameters(announcements: Iterable[Mapping[str, Any]]) -> Activated:
    """Return the parameters cloud_sync's active artifacts set, by node."""
    values: Activated = {}
    for item in announcements:
        kind, path = item.get('kind'), item.get('path')
        if not isinstance(path, str):
            continue
        if kind == 'model':
            values.setdefault('perception', {})['model_path'] = path
        elif kind == 'map':
            values.setdefault('mapper', {})['static_map'] = path
        elif kind == 'policy':
            try:
                nodes = policy_overrides(load_policy(Path(path)))
            except ArtifactRejected:
                continue  # cloud_sync refused it too: nothing of it was set
            for node, params in nodes.items():
                values.setdefault(node, {}).update(params)
    return values


def with_activations(declared: Sequence[DeclaredNode],
                     activated: Mapping[str, Mapping[str, Any]]) -> tuple[DeclaredNode, ...]:
    """Return the declared nodes with the activated values over their bringup values."""
    return tuple(dataclasses.replace(node, parameters={**node.parameters,
                                                       **activated.get(node.name, {})})
                 for node in declared)
