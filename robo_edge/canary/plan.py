"""The canary's cases and arms: which scenarios run, and how an artifact enters a run.

A case is one (scenario, fault category, seed); it runs twice, once per arm (release and
candidate), with everything the same but the artifact. An artifact enters a run only through
node parameter overrides: a model as perception's `model_path`, a map as the mapper's prior
(`static_map`, as the degradation bench seeds its survey), a policy as its parameter file.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from robo_edge import paths
from robo_edge.canary.suite import KINDS, Suite
from robo_edge.exceptions import ConfigError
from robo_edge.scenario.spec import TUNABLE_NODES, Scenario, parse_scenario
from robo_edge.twin.goalgen import (
    duration_for,
    generate_scenario,
    installed_footprint,
    plan_route,
)
from robo_edge.twin.world import load_world
from robo_edge.twin.worldgen import EVALUATION_SEED_START, check_evaluation_seed

ARMS = ('release', 'candidate')
SHIPPED_GOAL_SEED = 0  # goal generator draw on shipped worlds


@dataclass(frozen=True)
class Case:
    """One paired comparison: the same scenario, fault category and seed on both arms."""

    label: str  # a scenario file's stem, a shipped world's name or gen<seed>
    fault: str
    seed: int

    @property
    def case_id(self) -> str:
        """Return the case's name (its runs' scenario name)."""
        return f'{self.label}__{self.fault}__s{self.seed}'


def base_documents(suite: Suite) -> dict[str, dict]:
    """Return each scenario's document (no seed or faults yet), keyed by its label."""
    docs: dict[str, dict] = {}
    for ref in suite.scenario_files:
        path = paths.resolve(ref, 'sim/scenarios')
        docs[path.stem] = yaml.safe_load(path.read_text(encoding='utf-8'))
        docs[path.stem]['world'] = _absolute_world(docs[path.stem].get('world'), path)
    radius, margin = installed_footprint()
    for name in suite.shipped_worlds:
        world_path = paths.share_file('sim', 'worlds', f'{name}.yaml')
        world = load_world(world_path)
        start = world.spawn_hints[0]
        route = plan_route(world, start, suite.goals, SHIPPED_GOAL_SEED,
                           radius, margin)
        docs[name] = generate_like(str(world_path), start, route.goals, route.length_m)
    for i in range(suite.generated_worlds):
        seed = check_evaluation_seed(EVALUATION_SEED_START + i)
        docs[f'gen{seed}'] = generate_scenario(seed, suite.goals, radius, margin, camera=True)
    return docs


def _absolute_world(world: object, scenario_path: Path) -> object:
    """Return a scenario file's world with a relative path made absolute (names stay)."""
    if isinstance(world, str) and (scenario_path.parent / world).is_file():
        return str((scenario_path.parent / world).resolve())
    return world


def generate_like(world: str, start: tuple, goals: list, route_m: float) -> dict:
    """Return a navigation document over a shipped world, as goalgen writes generated ones."""
    return {'world': world, 'start': list(start), 'twin': {},
            'duration_s': duration_for(route_m, len(goals)),
            'goals': [list(g) for g in goals],
            'expect': {'collisions': 0, 'goals_reached': 'all'}}


def cases(suite: Suite, docs: dict[str, dict]) -> list[Case]:
    """Return every case: each scenario under each fault category on each seed."""
    return [Case(label, fault, seed) for label in docs for fault in suite.faults
            for seed in suite.seeds]


def scenario_for(case: Case, suite: Suite, docs: dict[str, dict]) -> Scenario:
    """Return the case's scenario: its document with the case's name, seed and faults."""
    faults = [dict(f) for f in suite.faults[case.fault]]
    doc = {**docs[case.label], 'name': case.case_id, 'seed': case.seed, 'faults': faults}
    return parse_scenario(doc, f'{suite.source} case {case.case_id}')


def arm_overrides(kind: str, artifact: Path | None) -> dict[str, dict]:
    """Return the node overrides that put an artifact into a run (none: the shipped one)."""
    if kind not in KINDS:
        raise ValueError(f'unknown artifact kind {kind!r}: expected one of {KINDS}')
    if artifact is None:
        return {}
    if not artifact.is_file():
        raise FileNotFoundError(f'{kind} artifact {artifact} does not exist')
    if kind == 'model':
        return {'perception': {'model_path': str(artifact.resolve())}}
    if kind == 'map':
        return {'mapper': {'static_map': str(artifact.resolve())}}
    return policy_overrides(artifact)


def policy_overrides(path: Path) -> dict[str, dict]:
    """Read a policy: `node: {param: value}` or the ROS form, for tunable nodes only."""
    source = str(path)
    data = yaml.safe_load(path.read_text(encoding='utf-8'))
    if not isinstance(data, dict) or not data:
        raise ConfigError(source, '<document>', 'a mapping of node names to parameters', data)
    out: dict[str, dict] = {}
    for node, values in data.items():
        if node not in TUNABLE_NODES:
            raise ConfigError(source, str(node), f'a node from {sorted(TUNABLE_NODES)}')
        if isinstance(values, dict) and set(values) == {'ros__parameters'}:
            values = values['ros__parameters']
        if not isinstance(values, dict):
            raise ConfigError(source, str(node), 'a mapping of parameters', values)
        out[node] = dict(values)
    return out


def default_release(kind: str) -> Path | None:
    """Return the current release of a kind when none is given: the shipped model, else none."""
    return paths.share_file('models', 'floor_seg.onnx') if kind == 'model' else None
