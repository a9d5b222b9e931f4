"""The runtime never imports its simulator; the robot core imports neither.

Read from the source with `ast`, so a lazy import inside a function counts too.
"""

import ast
from pathlib import Path

import robo_edge

PACKAGE = Path(robo_edge.__file__).resolve().parent
# The twin's side: the simulator, its node and ROS adapters, fault injection in it, the scenario
# harness and its CLI, the release-side canary, and perception's offline tools (datasets
# rendered in the twin).
TWIN_SIDE = {
    'twin', 'scenario', 'chaos', 'cli.py', 'cli_generate.py', 'nodes/twin.py',
    'canary', 'cli_canary.py',
    'ros/twin_messages.py', 'ros/twin_publishers.py', 'ros/twin_params.py',
    'perception/dataset.py',
    'perception/evaluate.py', 'perception/randomise.py',
}
ROBOT_CORE_MAY_IMPORT = ('robo_edge.robot', 'robo_edge.exceptions', 'robo_edge.yaml_fields')


def modules() -> dict[str, set[str]]:
    """Return every module of the package (path relative to it) with the modules it imports."""
    found = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f'{node.module}.{alias.name}' for alias in node.names)
        found[path.relative_to(PACKAGE).as_posix()] = imported
    return found


def on_twin_side(module: str) -> bool:
    return module in TWIN_SIDE or module.split('/')[0] in TWIN_SIDE


def test_no_robot_side_module_imports_the_twin() -> None:
    found = modules()
    assert 'nodes/controller.py' in found and 'twin/sim.py' in found
    offenders = {module: sorted(i for i in imported if i.startswith('robo_edge.twin'))
                 for module, imported in found.items() if not on_twin_side(module)}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_only_the_canary_runner_imports_ray() -> None:
    """Ray is the canary's optional extra: one module imports it, inside its functions."""
    users = sorted(m for m, imported in modules().items()
                   if any(i == 'ray' or i.startswith('ray.') for i in imported))
    assert users == ['canary/ray_exec.py']
    source = (PACKAGE / 'canary' / 'ray_exec.py').read_text()
    top_level = [n for n in ast.parse(source).body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert not any(a.name == 'ray' for n in top_level if isinstance(n, ast.Import)
                   for a in n.names)


def test_the_robot_core_imports_only_itself() -> None:
    core = {m: i for m, i in modules().items() if m.startswith('robot/')}
    assert {'robot/kinematics.py', 'robot/grid.py'} <= set(core)
    for module, imported in core.items():
        ours = {i for i in imported if i.startswith('robo_edge')}
        assert all(i.startswith(ROBOT_CORE_MAY_IMPORT) for i in ours), (module, ours)


def test_cloud_sync_with_the_shipped_config_never_loads_the_twin(tmp_path: Path) -> None:
    """The shipped cloud_sync runs no twin canary; gating a policy imports no simulator."""
    import subprocess
    import sys

    import yaml

    shipped = Path(__file__).resolve().parents[2] / 'config' / 'cloud_sync.yaml'
    params = yaml.safe_load(shipped.read_text())['cloud_sync']['ros__parameters']
    assert [s for s in params['gate_scenarios'] if s] == []
    (tmp_path / 'payload').write_text('safety_gate.crawl_speed: 0.2\n')
    code = (
        'import sys\n'
        'from pathlib import Path\n'
        'import robo_edge.nodes.cloud_sync\n'
        'from robo_edge.sync.canary import CanaryGate, GateConfig\n'
        'from robo_edge.sync.policy import ArtifactInfo\n'
        f'gate = CanaryGate(GateConfig(None, 0.6, (), Path({str(tmp_path)!r})))\n'
        'info = ArtifactInfo("policy", "p-1", 1, ("*",))\n'
        f'assert gate("policy/p.yaml", Path({str(tmp_path)!r}), info).passed\n'
        'twin = sorted(m for m in sys.modules if m.split(".")[0] == "pybullet"\n'
        '              or m.startswith(("robo_edge.scenario", "robo_edge.twin")))\n'
        'assert not twin, twin\n')
    subprocess.run([sys.executable, '-c', code], check=True, timeout=60)
